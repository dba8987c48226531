"""The clinic's public before/after gallery.

A practitioner proposes a pair of aligned photos of one area and view; the patient sees exactly the images that
would be published and approves or declines; only then is the pair public. The published images are made here,
from our own aligned derivatives: cropped to the treated region, with any rectangles the practitioner marked
pixelated, the clinic's name as a watermark, re-encoded with no metadata at all. Their public id is random and
unrelated to any internal id. Every public request re-checks that the patient's gallery consent still stands.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass

import cv2
import numpy as np
import sqlalchemy as sa
from PIL import Image, ImageDraw, ImageFont

from tracker.consent.services import has_consent
from tracker.errors import Conflict, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.imaging.normalize import encode_jpeg
from tracker.models import (
    AlignmentStatus, Clinic, Consent, ConsentScope, CourseArea, GalleryItem, GalleryStatus, Photo, TreatmentArea,
    TreatmentCourse, TreatmentSession, User, utcnow,
)
from tracker.models.consent import GALLERY_SIDES
from tracker.request_guard import valid_id
from tracker.security import authorize, scoped
from tracker.storage import ObjectMissing, delete_quietly
from tracker.storage_setup import storage

SIDES = GALLERY_SIDES
PIXEL_BLOCK = 24
MAX_BLUR_RECTS = 12
ORDINALS = {1: "1st", 2: "2nd", 3: "3rd"}


def _key(item: GalleryItem, side: str) -> str:
    return item.image_key(side)


@dataclass(frozen=True)
class Proposal:
    before_id: int
    after_id: int
    crop: tuple[float, float, float, float] | None = None
    blur: tuple[tuple[float, float, float, float], ...] = ()
    area_id: int | None = None  # the area in the URL: both photos must be of it


def _ordinal(n: int) -> str:
    return ORDINALS.get(n, f"{n}th")


def caption_for(area: TreatmentArea, after: Photo) -> tuple[str, str]:
    """'Autologous … injection: 4 months after the 1st of 3 sessions' — no names, no dates."""
    course = db.session.scalars(sa.select(TreatmentCourse).join(CourseArea, CourseArea.course_id == TreatmentCourse.id)
                                .where(CourseArea.area_id == area.id).order_by(TreatmentCourse.start_date.desc())
                                ).first()
    if course is None:
        raise ValidationFailed("This area has no treatment course to describe.", fields={"area": "No course."})
    sessions = db.session.scalars(sa.select(TreatmentSession).where(TreatmentSession.course_id == course.id)
                                  .order_by(TreatmentSession.performed_on)).all()
    if not sessions:
        raise ValidationFailed("No session has been recorded for this course yet.", fields={"area": "No sessions."})
    months = max(0, round((after.taken_on - sessions[0].performed_on).days / 30.44))
    when = "at the 1st session" if months == 0 else f"{months} month{'s' if months != 1 else ''} after the 1st"
    return f"{course.modality.label}: {when} of {len(sessions)} session{'s' if len(sessions) != 1 else ''}", \
        course.modality.value


def _check_pair(before: Photo, after: Photo) -> None:
    if before.area_id != after.area_id or before.view_key != after.view_key:
        raise ValidationFailed("Both photos must show the same area and view.", fields={"after": "Different view."})
    if before.taken_on >= after.taken_on:
        raise ValidationFailed("The 'after' photo must be taken later than the 'before' photo.",
                               fields={"after": "Not later."})
    aligned = (AlignmentStatus.ALIGNED, AlignmentStatus.BASELINE)
    if before.alignment not in aligned or after.alignment not in aligned:
        raise ValidationFailed("Both photos must be aligned to the view's baseline.", fields={"after": "Not aligned."})


def _rect(values: tuple[float, ...], width: int, height: int) -> tuple[int, int, int, int]:
    x, y, w, h = (float(v) for v in values)
    left, top = max(0, int(x)), max(0, int(y))
    right, bottom = min(width, int(x + w)), min(height, int(y + h))
    if right - left < 8 or bottom - top < 8:
        raise ValidationFailed("A rectangle lies outside the photo or is too small.", fields={"crop": "Outside."})
    return left, top, right, bottom


def _pixelate(rgb: np.ndarray, box: tuple[int, int, int, int]) -> None:
    left, top, right, bottom = box
    patch = rgb[top:bottom, left:right]
    small = cv2.resize(patch, (max(1, patch.shape[1] // PIXEL_BLOCK), max(1, patch.shape[0] // PIXEL_BLOCK)),
                       interpolation=cv2.INTER_AREA)
    rgb[top:bottom, left:right] = cv2.resize(small, (patch.shape[1], patch.shape[0]), interpolation=cv2.INTER_NEAREST)


def _watermark(rgb: np.ndarray, text: str) -> np.ndarray:
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    size = max(14, image.width // 28)
    font = ImageFont.load_default(size=size)
    box = draw.textbbox((0, 0), text, font=font)
    x, y = image.width - (box[2] - box[0]) - size, image.height - (box[3] - box[1]) - size
    draw.text((x + 1, y + 1), text, font=font, fill=(0, 0, 0))
    draw.text((x, y), text, font=font, fill=(255, 255, 255))
    return np.asarray(image)


def render(photo: Photo, proposal: Proposal, clinic_name: str) -> bytes:
    """One published image: aligned, cropped, pixelated where asked, watermarked, metadata-free."""
    variant = "display" if photo.alignment is AlignmentStatus.BASELINE else "aligned"
    with Image.open(io.BytesIO(storage().get(photo.key(variant)))) as im:
        rgb = np.array(im.convert("RGB"))
    height, width = rgb.shape[:2]
    for rect in proposal.blur:
        _pixelate(rgb, _rect(rect, width, height))
    if proposal.crop is not None:
        left, top, right, bottom = _rect(proposal.crop, width, height)
        rgb = np.ascontiguousarray(rgb[top:bottom, left:right])
    return encode_jpeg(_watermark(rgb, clinic_name), 88)


def propose(actor: User, proposal: Proposal) -> GalleryItem:
    authorize(actor, "gallery.propose")
    if not (valid_id(proposal.before_id) and valid_id(proposal.after_id)):
        raise NotFound("Those photos are not available.")
    photos = {p.id: p for p in db.session.scalars(scoped(Photo, actor).where(
        Photo.id.in_([proposal.before_id, proposal.after_id]), Photo.deleted_at.is_(None)))}
    before, after = photos.get(proposal.before_id), photos.get(proposal.after_id)
    if before is None or after is None or (proposal.area_id is not None and before.area_id != proposal.area_id):
        raise NotFound("Those photos are not available.")
    _check_pair(before, after)
    if len(proposal.blur) > MAX_BLUR_RECTS:
        raise ValidationFailed(f"Mark at most {MAX_BLUR_RECTS} areas to blur.", fields={"blur": "Too many."})
    area = db.session.get(TreatmentArea, before.area_id)
    if not has_consent(before.patient_id, ConsentScope.GALLERY, before.area_id):
        raise ValidationFailed("The patient has not consented to the public gallery for this area.",
                               fields={"consent": "No gallery consent for this area."}, code="consent_missing")
    caption, modality = caption_for(area, after)  # type: ignore[arg-type]
    clinic = db.session.get(Clinic, actor.clinic_id)
    item = GalleryItem(clinic_id=actor.clinic_id, patient_id=before.patient_id, area_id=before.area_id,
                       public_id=secrets.token_hex(16), before_photo_id=before.id, after_photo_id=after.id,
                       crop=list(proposal.crop) if proposal.crop else None, blur=[list(r) for r in proposal.blur],
                       caption=caption, modality=modality, body_region=area.body_region.value,  # type: ignore
                       status=GalleryStatus.AWAITING_PATIENT, proposed_by_id=actor.id)
    written = []
    try:
        for side, photo in zip(SIDES, (before, after)):
            key = _key(item, side)
            storage().put(key, render(photo, proposal, clinic.name))  # type: ignore[union-attr]
            written.append(key)
        db.session.add(item)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        for key in written:
            storage().delete(key)
        raise
    return item


def decide(actor: User, item: GalleryItem, approve: bool) -> GalleryItem:
    """The patient's decision on a proposal. Approval publishes (if consent still stands, checked here)."""
    authorize(actor, "gallery.approve", item)
    if item.status is not GalleryStatus.AWAITING_PATIENT:
        raise Conflict("This proposal has already been decided.")
    item.decided_at = utcnow()
    if approve and has_consent(item.patient_id, ConsentScope.GALLERY, item.area_id):
        item.status, item.published_at = GalleryStatus.PUBLISHED, utcnow()
    elif approve:
        raise ValidationFailed("Give gallery consent for this area first (on your Consent page).",
                               fields={"consent": "Missing."})
    else:
        item.status, item.ended_at = GalleryStatus.DECLINED, utcnow()
    db.session.commit()
    if not approve:
        delete_quietly(storage(), item.image_keys())  # declined is final: the rendered images go (after the commit)
    return item


def unpublish(actor: User, item: GalleryItem) -> GalleryItem:
    authorize(actor, "gallery.propose")
    if item.status in (GalleryStatus.PUBLISHED, GalleryStatus.AWAITING_PATIENT):
        item.status, item.ended_at = GalleryStatus.UNPUBLISHED, utcnow()
        db.session.commit()
        delete_quietly(storage(), item.image_keys())  # taking down is final: the rendered images go
    return item


def clinic_items(actor: User) -> list[GalleryItem]:
    return list(db.session.scalars(scoped(GalleryItem, actor).order_by(GalleryItem.proposed_at.desc())))


def patient_items(actor: User) -> list[GalleryItem]:
    return list(db.session.scalars(scoped(GalleryItem, actor).where(GalleryItem.patient_id == actor.patient_id)
                                   .order_by(GalleryItem.proposed_at.desc())))


def preview_etag(item: GalleryItem, side: str) -> str:
    """The ETag of a preview, from the row (rendered images never change: a new proposal is a new item).
    An item that is no longer live (withdrawn, declined, taken down) has no images: 404 for everyone."""
    if side not in SIDES or not item.status.is_live:
        raise NotFound()
    return f"{item.public_id}-{side}"


def private_image(item: GalleryItem, side: str) -> bytes:
    """A preview for the patient and their clinic's staff (the caller loaded the item through security)."""
    preview_etag(item, side)
    return _read(_key(item, side))


def _read(key: str) -> bytes:
    try:
        return storage().get(key)
    except ObjectMissing:
        raise NotFound() from None


# --- public ---------------------------------------------------------------------------------------

def clinic_by_slug(slug: str) -> Clinic:
    clinic = db.session.scalars(sa.select(Clinic).where(Clinic.slug == slug)).first()
    if clinic is None:
        raise NotFound()
    return clinic


def _published(clinic: Clinic) -> sa.Select[tuple[GalleryItem]]:
    """Published items whose patient's gallery consent still stands (checked in the query, every time)."""
    consent = sa.exists().where(Consent.patient_id == GalleryItem.patient_id, Consent.scope == ConsentScope.GALLERY,
                                Consent.withdrawn_at.is_(None),
                                sa.or_(Consent.area_id.is_(None), Consent.area_id == GalleryItem.area_id))
    return sa.select(GalleryItem).where(GalleryItem.clinic_id == clinic.id,
                                        GalleryItem.status == GalleryStatus.PUBLISHED, consent)


def public_items(clinic: Clinic, *, modality: str | None = None, region: str | None = None) -> list[GalleryItem]:
    stmt = _published(clinic)
    if modality:
        stmt = stmt.where(GalleryItem.modality == modality)
    if region:
        stmt = stmt.where(GalleryItem.body_region == region)
    return list(db.session.scalars(stmt.order_by(GalleryItem.published_at.desc())))


def public_image(clinic: Clinic, public_id: str, side: str) -> bytes:
    if side not in SIDES:
        raise NotFound()
    item = db.session.scalars(_published(clinic).where(GalleryItem.public_id == public_id[:32])).first()
    if item is None:
        raise NotFound()
    return _read(_key(item, side))

