"""Photo use cases: upload, process, read, edit, delete, retry — and the orphan sweep.

A photo once accepted is never lost. The order of every upload is fixed:

1. validate the bytes (by content, with limits) — nothing is written for a file we refuse;
2. write the original durably under a server-made key;
3. commit the row in one transaction — the commit is the moment the photo exists;
4. on any failure before the commit, delete what was written and roll back.

Derivatives are then made inline or by a worker (``tracker.background`` hands the work over); a worker job is idempotent: the same
deterministic keys are overwritten atomically, and a deleted photo's job only cleans up.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError, OperationalError

from tracker import imaging
from tracker.background import enqueue_processing, enqueue_realign, queue_configured
from tracker.errors import (
    Conflict, DomainError, NotFound, PayloadTooLarge, Unavailable, UnsupportedMediaType, ValidationFailed,
)
from tracker.extensions import db
from tracker.models import AlignmentStatus, Photo, PhotoStatus, TreatmentArea, User, View, ViewBaseline, utcnow
from tracker.models.photo import new_storage_id
from tracker.photos import alignment
from tracker.security import authorize, load, scoped
from tracker.storage import ObjectMissing, StorageError
from tracker.storage_setup import storage

log = logging.getLogger(__name__)

MAX_NOTE = 2000
TIMEZONE_SLACK = timedelta(days=1)  # a patient east of UTC may already be "tomorrow"
BIDI_AND_CONTROL = {"Cc", "Cf", "Zl", "Zp"}


@dataclass(frozen=True)
class UploadResult:
    photo: Photo
    warnings: tuple[str, ...] = field(default_factory=tuple)
    replayed: bool = False  # a retry with the same Idempotency-Key: the photo the first attempt saved

    @classmethod
    def of(cls, photo: Photo, *, replayed: bool = False) -> UploadResult:
        return cls(photo, tuple(photo.quality_warnings or ()), replayed)


@dataclass(frozen=True)
class PhotoBytes:
    data: bytes
    mimetype: str
    etag: str
    filename: str


# Smaller than this is not a photo anyone can judge, and too small to align (a 15-pixel upload once became a
# view's baseline and every re-alignment of the view failed on it).
MIN_PHOTO_SIDE = 32


def limits() -> imaging.Limits:
    cfg = current_app.config
    return imaging.Limits(max_bytes=cfg["TRACKER_MAX_UPLOAD_MB"] * 1024 * 1024, max_pixels=cfg["TRACKER_MAX_PIXELS"],
                          min_side=MIN_PHOTO_SIDE)


def display_filename(raw: str | None) -> str:
    """What the user called the file, for display only: no path, no control or bidi characters, ≤ 255 chars."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name)
                   if unicodedata.category(ch) not in BIDI_AND_CONTROL)
    return name.strip()[:255]


def _as_domain_error(exc: imaging.ImageRejected) -> DomainError:
    kind: type[DomainError] = {413: PayloadTooLarge, 415: UnsupportedMediaType}.get(exc.http_status, DomainError)
    error = kind(exc.message, fields={"file": exc.message})
    error.code = exc.code
    return error


def _check_taken_on(value: date, area: TreatmentArea, field_name: str = "taken_on") -> None:
    if value > date.today() + TIMEZONE_SLACK:
        msg = "The date a photo was taken cannot be in the future."
        raise ValidationFailed(msg, fields={field_name: msg})
    birth = area.patient.date_of_birth
    if birth is not None and value < birth:
        msg = "The date a photo was taken cannot be before the patient was born."
        raise ValidationFailed(msg, fields={field_name: msg})
    if value < date(1990, 1, 1):
        msg = "Please check the date: it is before 1990."
        raise ValidationFailed(msg, fields={field_name: msg})


def _resolve_taken_on(given: date | None, exif: datetime | None, area: TreatmentArea,
                      fallback: date | None) -> tuple[date, str]:
    """An explicit date wins; then the photo's own (plausible) date; then the fallback; else ask."""
    if given is not None:
        _check_taken_on(given, area)
        return given, "user"
    if exif is not None:
        try:
            _check_taken_on(exif.date(), area)
            return exif.date(), "exif"
        except ValidationFailed:
            if fallback is None:
                msg = f"The photo says it was taken on {exif.date().isoformat()}, which cannot be right. " \
                      "Enter the day it was taken."
                raise ValidationFailed(msg, fields={"taken_on": msg}) from None
    if fallback is not None:
        _check_taken_on(fallback, area)
        return fallback, "user"
    msg = "This photo carries no date. Enter the day it was taken."
    raise ValidationFailed(msg, fields={"taken_on": msg})


def _check_view(view: str | None, area: TreatmentArea) -> View | None:
    if not view:
        return None
    if view not in area.views:
        labels = ", ".join(View(v).label for v in area.views)
        msg = f"This area is photographed in these views: {labels}."
        raise ValidationFailed(msg, fields={"view": msg})
    return View(view)


def find_duplicate(area: TreatmentArea, sha256: str) -> Photo | None:
    return db.session.scalars(sa.select(Photo).where(
        Photo.area_id == area.id, Photo.sha256 == sha256, Photo.deleted_at.is_(None))).first()


def _duplicate_error(existing: Photo) -> Conflict:
    return Conflict("This photo is already in this area.", fields={"file": "This photo is already in this area."},
                    photo_id=existing.id)


def _check_quota(area: TreatmentArea, incoming: int) -> None:
    """Refuse a photo that would take the patient's record past its storage quota; nothing stored is touched.
    A soft limit: two uploads racing at the edge may both pass, by at most one photo each."""
    quota = int(current_app.config["TRACKER_PATIENT_QUOTA_BYTES"])
    if quota <= 0:
        return
    used = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Photo.original_size), 0)).where(
        Photo.patient_id == area.patient_id, Photo.deleted_at.is_(None))) or 0
    if used + incoming > quota:
        mb = 1024 * 1024
        msg = (f"Storage quota reached: this record holds {used / mb:,.0f} MB of photos and the limit is "
               f"{quota / mb:,.0f} MB. Delete photos that are no longer needed, or ask the clinic to raise it.")
        raise PayloadTooLarge(msg, fields={"file": msg}, code="quota_exceeded")


def idempotency_hash(raw: str | None) -> str | None:
    """The stored form of a client's Idempotency-Key (its SHA-256), or None when none was sent."""
    if raw is None:
        return None
    if not (1 <= len(raw) <= 255) or not raw.isascii() or not raw.isprintable():
        msg = "The Idempotency-Key header must be 1 to 255 printable ASCII characters."
        raise ValidationFailed(msg, fields={"idempotency_key": msg}, code="bad_idempotency_key")
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def _replay(area: TreatmentArea, key_hash: str, sha256: str) -> Photo | None:
    """The photo an earlier attempt with this key saved, if it is this same upload; a key reused for something
    else is refused rather than guessed at."""
    earlier = db.session.scalars(sa.select(Photo).where(
        Photo.patient_id == area.patient_id, Photo.idempotency_key == key_hash)).first()
    if earlier is None:
        return None
    if earlier.area_id != area.id or earlier.sha256 != sha256:
        msg = "This Idempotency-Key was already used for a different upload. Send a new key with a new photo."
        raise ValidationFailed(msg, fields={"idempotency_key": msg}, code="idempotency_key_reused")
    if earlier.deleted_at is not None:
        raise Conflict("This upload was received earlier, and the photo has since been deleted.",
                       code="deleted", photo_id=earlier.id)
    return earlier


def _earlier_upload(area: TreatmentArea, key_hash: str | None, sha256: str) -> Photo | None:
    """The photo a retry with the same Idempotency-Key should get back; otherwise None when these bytes are new
    to the area, or Conflict (naming the photo) when they are already there."""
    earlier = _replay(area, key_hash, sha256) if key_hash is not None else None
    if earlier is not None:
        return earlier
    existing = find_duplicate(area, sha256)
    if existing is not None:
        raise _duplicate_error(existing)
    return None


def upload_photo(actor: User, area: TreatmentArea, data: bytes, *, filename: str | None = None,
                 taken_on: date | None = None, view: str | None = None, note: str = "",
                 fallback_taken_on: date | None = None, idempotency_key: str | None = None) -> UploadResult:
    """Accept one photo for an area the actor may see. One transaction; nothing left behind on failure.

    ``taken_on`` overrides the photo's own date; ``fallback_taken_on`` is used only when it has none.
    ``idempotency_key`` (the client's Idempotency-Key): a retry of an upload that was saved — its answer lost on
    the way — gets that photo back (``replayed``) instead of a second one or an error.
    """
    authorize(actor, "photos.upload")
    from tracker.consent.services import require_care_consent

    require_care_consent(area.patient_id)
    key_hash = idempotency_hash(idempotency_key)
    if key_hash is not None:
        earlier = _replay(area, key_hash, hashlib.sha256(data).hexdigest())
        if earlier is not None:
            return UploadResult.of(earlier, replayed=True)
    if len(note) > MAX_NOTE:
        raise ValidationFailed(f"Keep the note under {MAX_NOTE} characters.", fields={"note": "Too long."})
    photo_view = _check_view(view, area)
    inline = not queue_configured()
    try:
        # Inline: the full normalize is the validation, and its derivatives are kept for step 5.
        # Queued: a cheaper probe validates here; the worker makes the derivatives.
        result = imaging.normalize(data, limits()) if inline else None
        probe = result if result is not None else imaging.probe(data, limits())
    except imaging.ImageRejected as exc:
        raise _as_domain_error(exc) from None
    day, source = _resolve_taken_on(taken_on, probe.taken_at, area, fallback_taken_on)
    earlier = _earlier_upload(area, key_hash, probe.sha256)
    if earlier is not None:  # a simultaneous retry with the same key saved it while this one was checked
        return UploadResult.of(earlier, replayed=True)
    _check_quota(area, len(data))
    photo = Photo(patient_id=area.patient_id, area_id=area.id, storage_id=new_storage_id(), taken_on=day, taken_on_source=source,
                  view=photo_view, note=note.strip(), original_format=probe.format, original_size=len(data),
                  sha256=probe.sha256, client_filename=display_filename(filename), width=probe.width,
                  height=probe.height, uploaded_by_id=actor.id, status=PhotoStatus.PROCESSING,
                  idempotency_key=key_hash)
    raced = _store_and_commit(photo, data, area, key_hash)
    if raced is not None:  # a simultaneous retry with the same key saved it first
        return UploadResult.of(raced, replayed=True)
    if result is not None:
        save_derivatives(photo.id, result)
    else:
        enqueue_processing(photo.id)
    db.session.refresh(photo)
    return UploadResult.of(photo)


def _store_and_commit(photo: Photo, data: bytes, area: TreatmentArea, key_hash: str | None = None) -> Photo | None:
    """Write the original, then commit the row. Returns None, or — when a simultaneous request with the same
    Idempotency-Key committed first — that request's photo (this attempt's bytes are removed)."""
    key = photo.key("original")
    sha256 = photo.sha256
    try:
        storage().put(key, data)  # durable before the row exists: a committed row always has its bytes
        db.session.add(photo)
        db.session.commit()
        return None
    except IntegrityError:
        _undo(key)
        earlier = _earlier_upload(area, key_hash, sha256)
        if earlier is not None:
            return earlier
        raise
    except (StorageError, OperationalError) as exc:
        log.warning("upload not saved: %s", type(exc).__name__)
        _undo(key)
        raise Unavailable() from None
    except BaseException:
        _undo(key)
        raise


def _undo(key: str) -> None:
    db.session.rollback()
    try:
        storage().delete(key)
    except StorageError:
        log.error("could not remove %s after a failed upload; purge-orphans will", key)


def save_derivatives(photo_id: int, result: imaging.NormalizedPhoto) -> None:
    """Store display and thumb (deterministic keys, atomic) and mark the photo ready."""
    photo = db.session.get(Photo, photo_id)
    if photo is None:
        return
    store = storage()
    display = store.put(photo.key("display"), result.display)
    thumb = store.put(photo.key("thumb"), result.thumb)
    photo.display_width, photo.display_height = result.display_size
    photo.display_sha256, photo.thumb_sha256 = display.sha256, thumb.sha256
    photo.width, photo.height = result.width, result.height
    photo.source_profile = (result.source_profile or "")[:120]
    photo.blur = result.quality.blur
    photo.clipped_highlights = result.quality.clipped_highlights
    photo.clipped_shadows = result.quality.clipped_shadows
    photo.quality_warnings = list(result.quality.warnings)
    photo.status = PhotoStatus.READY
    photo.failure_reason = ""
    photo.processed_at = utcnow()
    db.session.commit()
    alignment.after_processing(photo)


def process_photo(photo_id: int) -> str:
    """The processing job: idempotent, safe to run twice or after a crash. Returns the final status."""
    photo = db.session.get(Photo, photo_id)
    if photo is None:
        return "missing"
    if photo.deleted_at is not None:
        _delete_derivatives(photo)
        return "deleted"
    if photo.status is PhotoStatus.READY and all(storage().exists(photo.key(v)) for v in ("display", "thumb")):
        return "ready"
    photo.attempts += 1
    db.session.commit()
    try:
        data = storage().get(photo.key("original"))
        if hashlib.sha256(data).hexdigest() != photo.sha256:
            return _fail(photo, "The stored original does not match its checksum; restore it from a backup.")
        result = imaging.normalize(data, limits())
    except imaging.ImageRejected as exc:
        return _fail(photo, exc.message)
    except ObjectMissing:
        return _fail(photo, "The original file is missing from storage; restore it from a backup.")
    save_derivatives(photo.id, result)
    return "ready"


def _fail(photo: Photo, reason: str) -> str:
    photo.status = PhotoStatus.FAILED
    photo.failure_reason = reason[:500]
    db.session.commit()
    return "failed"


def mark_failed(photo_id: int, reason: str) -> None:
    """Called when a job dies unexpectedly: the photo says so and can be retried."""
    db.session.rollback()
    photo = db.session.get(Photo, photo_id)
    if photo is not None and photo.status is PhotoStatus.PROCESSING:
        _fail(photo, reason)


def retry_processing(actor: User, photo: Photo) -> Photo:
    authorize(actor, "photos.upload")
    if photo.status is PhotoStatus.READY:
        return photo
    photo.status = PhotoStatus.PROCESSING
    photo.failure_reason = ""
    db.session.commit()
    if queue_configured():
        enqueue_processing(photo.id)
    else:
        process_photo(photo.id)
    db.session.refresh(photo)
    return photo


def load_photo(actor: User, photo_id: int) -> Photo:
    """A photo the actor may see that is not deleted; anything else is NotFound (tracker.security.load)."""
    photo = load(Photo, photo_id, actor)
    if photo.deleted_at is not None:
        raise NotFound()
    return photo


def list_photos(actor: User, area: TreatmentArea) -> list[Photo]:
    stmt = scoped(Photo, actor).where(Photo.area_id == area.id, Photo.deleted_at.is_(None)) \
        .order_by(Photo.taken_on, Photo.created_at, Photo.id)
    return list(db.session.scalars(stmt))


def update_photo(actor: User, photo: Photo, changes: dict[str, Any]) -> Photo:
    """Change the taken-on date, view or note (only those: nothing else is writable)."""
    authorize(actor, "photos.upload")
    area = photo.area
    groups_before = {photo.view_key}
    order_before = photo.taken_on
    if "taken_on" in changes:
        if changes["taken_on"] is None:
            raise ValidationFailed("Enter the day the photo was taken.", fields={"taken_on": "Required."})
        _check_taken_on(changes["taken_on"], area)
        photo.taken_on = changes["taken_on"]
        photo.taken_on_source = "user"
    if "view" in changes:
        photo.view = _check_view(changes["view"], area)
    if "note" in changes:
        note = changes["note"] or ""
        if len(note) > MAX_NOTE:
            raise ValidationFailed(f"Keep the note under {MAX_NOTE} characters.", fields={"note": "Too long."})
        photo.note = note.strip()
    db.session.commit()
    if photo.is_ready and (photo.view_key not in groups_before or photo.taken_on != order_before):
        # A new date can make a new baseline; a new view moves the photo to another group.
        for view_key in groups_before | {photo.view_key}:
            realign(photo.area_id, view_key)
    return photo


def realign(area_id: int, view_key: str) -> None:
    """Realign a group now, or in the worker when a queue is configured."""
    if queue_configured():
        enqueue_realign(area_id, view_key)
    else:
        alignment.realign_group(area_id, view_key)


def delete_photo(actor: User, photo: Photo) -> None:
    """Hide the photo now (tombstone); its bytes stay until ``purge-deleted`` so a mistake can be undone."""
    authorize(actor, "photos.upload")
    if photo.deleted_at is None:
        photo.deleted_at = utcnow()
        for pin in db.session.scalars(sa.select(ViewBaseline).where(ViewBaseline.photo_id == photo.id)):
            db.session.delete(pin)  # through the ORM, so the audit trail records the unpinning
        db.session.commit()
        if photo.is_ready:
            realign(photo.area_id, photo.view_key)  # it may have been the baseline


def _delete_derivatives(photo: Photo) -> None:
    for variant in ("display", "thumb", "aligned", "adjusted", "features"):
        storage().delete(photo.key(variant))


VARIANT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "heif": "image/heic"}
VARIANT_EXT = {"jpeg": "jpg", "png": "png", "webp": "webp", "heif": "heic"}


@dataclass(frozen=True)
class VariantRef:
    """Where one variant's bytes live and how to describe them, from the row alone (no storage read)."""

    variant: str
    key: str
    mimetype: str
    etag: str | None  # None: the row records no checksum of these bytes (older rows); derived from the bytes
    filename: str


def variant_ref(photo: Photo, variant: str) -> VariantRef:
    """A variant of a photo the caller has already loaded through tracker.security, described by its row.

    The ETag comes from the checksum recorded when the bytes were written, so a conditional request can be
    answered without reading them, and every process answers with the same ETag."""
    if variant == "original":
        return VariantRef(variant, photo.key("original"), VARIANT_TYPES[photo.original_format], photo.sha256,
                          f"photo-{photo.id}-original.{VARIANT_EXT[photo.original_format]}")
    if not photo.is_ready:
        raise Conflict("This photo is still being processed." if photo.status is PhotoStatus.PROCESSING
                       else "This photo could not be processed.", photo_status=photo.status.value)
    if variant in ("aligned", "adjusted"):
        if photo.alignment is AlignmentStatus.BASELINE:
            variant_key, sha = "display", photo.display_sha256  # the baseline is its own aligned view
        elif photo.alignment is AlignmentStatus.ALIGNED:
            variant_key, sha = variant, (photo.aligned_sha256 if variant == "aligned" else photo.adjusted_sha256)
        else:
            raise Conflict(photo.alignment_reason or "This photo is not aligned to its baseline yet.",
                           alignment=photo.alignment.value)
    else:
        variant_key, sha = variant, (photo.display_sha256 if variant == "display" else photo.thumb_sha256)
    return VariantRef(variant, photo.key(variant_key), "image/jpeg", f"{sha}-{variant}" if sha else None,
                      f"photo-{photo.id}-{variant}.jpg")


def read_ref(ref: VariantRef) -> PhotoBytes:
    """The bytes a VariantRef points at; without a recorded checksum the ETag is the bytes' own SHA-256."""
    data = storage().get(ref.key)
    etag = ref.etag or f"{hashlib.sha256(data).hexdigest()}-{ref.variant}"
    return PhotoBytes(data, ref.mimetype, etag, ref.filename)


def read_variant(photo: Photo, variant: str) -> PhotoBytes:
    """The bytes of one variant of a photo the caller has already loaded through tracker.security."""
    return read_ref(variant_ref(photo, variant))


def pin_baseline(actor: User, photo: Photo) -> Photo:
    """Make this photo its view's baseline; every other photo of the view is realigned onto it."""
    authorize(actor, "photos.align")
    if not photo.is_ready:
        raise Conflict("Only a processed photo can be the baseline.")
    pin = db.session.scalars(sa.select(ViewBaseline).where(
        ViewBaseline.area_id == photo.area_id, ViewBaseline.view_key == photo.view_key)).first()
    if pin is None:
        pin = ViewBaseline(patient_id=photo.patient_id, area_id=photo.area_id, view_key=photo.view_key,
                           photo_id=photo.id)
        db.session.add(pin)
    pin.photo_id, pin.chosen_by_id, pin.chosen_at = photo.id, actor.id, utcnow()
    db.session.commit()
    realign(photo.area_id, photo.view_key)
    db.session.refresh(photo)
    return photo


def rerun_alignment(actor: User, photo: Photo) -> Photo:
    authorize(actor, "photos.align")
    if not photo.is_ready:
        raise Conflict("This photo is still being processed.")
    alignment.align_or_fail(photo, alignment.baseline_for(photo.area_id, photo.view_key))
    db.session.commit()
    alignment.remeasure(photo.area_id, photo.view_key, only=photo.id)
    return photo
