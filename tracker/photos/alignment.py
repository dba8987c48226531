"""Aligning each photo of an area and view to that view's baseline, and keeping it so when the baseline changes.

The baseline of a view is the photo a practitioner pinned, or else the earliest. Every other ready photo of the
view is registered to it (``tracker.imaging.align``); a good fit produces an ``aligned`` derivative drawn on the
baseline's canvas and an ``adjusted`` one whose exposure and white balance are matched to the baseline. A bad fit
leaves the photo unaligned with the reason — it is never warped silently.

Everything works on the display derivatives, so a stored matrix maps display pixels of the photo to display
pixels of its baseline. The baseline's features are cached next to its derivatives.
"""

from __future__ import annotations

import io
import logging

import numpy as np
import sqlalchemy as sa
from PIL import Image

from tracker.extensions import db
from tracker.imaging import align as registration
from tracker.imaging.colour_match import match_to_reference
from tracker.imaging.normalize import encode_jpeg
from tracker.models import AlignmentStatus, Photo, PhotoStatus
from tracker.outcomes.regions import measure_group
from tracker.photos.baselines import baseline_for, group_photos
from tracker.storage import ObjectMissing
from tracker.storage_setup import storage

log = logging.getLogger(__name__)

JPEG_QUALITY = 88


def _rgb(photo: Photo) -> np.ndarray:
    with Image.open(io.BytesIO(storage().get(photo.key("display")))) as im:
        return np.asarray(im.convert("RGB"))


def _features(baseline: Photo) -> registration.Features:
    """The baseline's features, from the cache when it holds a current version."""
    store = storage()
    try:
        return registration.Features.from_bytes(store.get(baseline.key("features")))
    except (ObjectMissing, ValueError):
        features = registration.prepare(_rgb(baseline))
        store.put(baseline.key("features"), features.to_bytes())
        return features


def _clear_derivatives(photo: Photo) -> None:
    for variant in ("aligned", "adjusted"):
        storage().delete(photo.key(variant))
    photo.aligned_sha256 = photo.adjusted_sha256 = None


def _mark(photo: Photo, status: AlignmentStatus, *, baseline: Photo | None, reason: str = "") -> None:
    photo.alignment = status
    photo.aligned_to_id = baseline.id if baseline is not None and baseline.id != photo.id else None
    photo.alignment_reason = reason[:300]
    if status is not AlignmentStatus.ALIGNED:
        photo.alignment_matrix = None
        photo.alignment_inliers = None


def _begin(photo: Photo) -> None:
    """Before a photo's aligned files change, say so durably: the row stops pointing at them first.

    A crash from here until the final commit leaves the photo "pending" (never an aligned image that disagrees with
    its row); ``settle`` finishes such photos.
    """
    if photo.alignment is AlignmentStatus.PENDING and photo.aligned_sha256 is None:
        return
    _mark(photo, AlignmentStatus.PENDING, baseline=None)
    photo.aligned_sha256 = photo.adjusted_sha256 = None
    db.session.commit()


def align_photo(photo: Photo, baseline: Photo | None) -> AlignmentStatus:
    """Register one ready photo to ``baseline`` (the group's) and store its aligned derivatives.

    The caller commits; until then the row says "pending" (see ``_begin``).
    """
    _begin(photo)
    if baseline is None:
        _mark(photo, AlignmentStatus.PENDING, baseline=None)
        _clear_derivatives(photo)
        return photo.alignment
    if baseline.id == photo.id:
        _clear_derivatives(photo)  # the baseline's aligned view is its display image
        _mark(photo, AlignmentStatus.BASELINE, baseline=None)
        return photo.alignment
    base_rgb = _rgb(baseline)
    moving = _rgb(photo)
    result = registration.align(_features(baseline), moving)
    photo.alignment_method = result.method_version
    if not result.ok or result.matrix is None:
        _clear_derivatives(photo)
        _mark(photo, AlignmentStatus.FAILED, baseline=baseline,
              reason=result.reason or "The photos could not be aligned.")
        photo.alignment_inliers = result.inliers
        return photo.alignment
    warped = registration.warp_to_baseline(moving, result.matrix, (base_rgb.shape[1], base_rgb.shape[0]),
                                           transparent=True)
    valid = warped[..., 3] == 255
    rgb = np.ascontiguousarray(warped[..., :3])
    rgb[~valid] = registration.NEUTRAL_GREY
    adjusted = match_to_reference(rgb, base_rgb, mask=valid)
    adjusted[~valid] = registration.NEUTRAL_GREY
    store = storage()
    photo.aligned_sha256 = store.put(photo.key("aligned"), encode_jpeg(rgb, JPEG_QUALITY)).sha256
    photo.adjusted_sha256 = store.put(photo.key("adjusted"),
                                      encode_jpeg(adjusted, JPEG_QUALITY)).sha256
    _mark(photo, AlignmentStatus.ALIGNED, baseline=baseline)
    photo.alignment_matrix = [list(row) for row in result.matrix]
    photo.alignment_inliers = result.inliers
    return photo.alignment


def align_or_fail(photo: Photo, baseline: Photo | None) -> AlignmentStatus:
    """``align_photo``, except that a photo or baseline that cannot be read or registered is marked failed with a
    reason instead of raising: a broken derivative must not stop its group, a request or a job."""
    try:
        return align_photo(photo, baseline)
    except (OSError, ValueError) as exc:
        log.warning("alignment of photo %s failed: %s", photo.id, exc)
        _mark(photo, AlignmentStatus.FAILED, baseline=baseline, reason="The photo could not be read for alignment.")
        return AlignmentStatus.FAILED


def realign_group(area_id: int, view_key: str) -> dict[int, AlignmentStatus]:
    """Align every ready photo of one area and view to the group's (possibly new) baseline."""
    baseline = baseline_for(area_id, view_key)
    outcome: dict[int, AlignmentStatus] = {}
    for photo in db.session.scalars(group_photos(area_id, view_key).order_by(Photo.taken_on, Photo.id)).all():
        outcome[photo.id] = align_or_fail(photo, baseline)
        db.session.commit()  # photo by photo: each row always describes the files it points at
    db.session.commit()
    remeasure(area_id, view_key)
    return outcome


def remeasure(area_id: int, view_key: str, only: int | None = None) -> None:
    """Image metrics follow alignment: a photo's region depends on where it sits on the baseline's canvas."""
    measure_group(area_id, view_key, only=only)


def after_processing(photo: Photo) -> None:
    """A photo just became ready: align it, or realign its whole group if it is the new baseline."""
    baseline = baseline_for(photo.area_id, photo.view_key)
    if baseline is not None and baseline.id == photo.id:
        realign_group(photo.area_id, photo.view_key)
        return
    align_or_fail(photo, baseline)
    db.session.commit()
    remeasure(photo.area_id, photo.view_key, only=photo.id)


def unsettled_groups() -> list[tuple[int, str]]:
    """Groups whose alignment does not describe their current baseline (a process died mid-way, say)."""
    rows = db.session.execute(sa.select(Photo.area_id, Photo.view, Photo.id, Photo.alignment, Photo.aligned_to_id)
                              .where(Photo.deleted_at.is_(None), Photo.status == PhotoStatus.READY)).all()
    groups: dict[tuple[int, str], list[tuple[int, AlignmentStatus, int | None]]] = {}
    for area_id, view, photo_id, state, aligned_to in rows:
        groups.setdefault((area_id, view.value if view else ""), []).append((photo_id, state, aligned_to))
    unsettled = []
    for (area_id, view_key), members in groups.items():
        baseline = baseline_for(area_id, view_key)
        for photo_id, state, aligned_to in members:
            if photo_id == getattr(baseline, "id", None):
                wrong = state is not AlignmentStatus.BASELINE
            else:
                wrong = state is AlignmentStatus.PENDING or state is AlignmentStatus.BASELINE or (
                    state in (AlignmentStatus.ALIGNED, AlignmentStatus.FAILED) and aligned_to != baseline.id)  # type: ignore[union-attr]
            if wrong:
                unsettled.append((area_id, view_key))
                break
    return unsettled


def settle() -> int:
    """Realign every unsettled group; returns how many groups were realigned."""
    groups = unsettled_groups()
    for area_id, view_key in groups:
        realign_group(area_id, view_key)
    return len(groups)
