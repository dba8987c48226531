"""Regions of interest and the image metrics measured in them.

A practitioner draws the region once per area and view, on the view's baseline (display pixels). Every photo of
the view is aligned onto the baseline's canvas, so the same region applies to each aligned photo; metrics are
measured there (``tracker.imaging.metrics``) and stored with their method version. When the baseline changes,
the region is carried over through the old baseline's own alignment to the new one; if that is impossible the
region must be drawn again (and the page says so). Photos that could not be aligned are not measured.
"""

from __future__ import annotations

import io
import logging

import numpy as np
import sqlalchemy as sa
from PIL import Image

from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.imaging import align as registration
from tracker.imaging import metrics as imaging_metrics
from tracker.models import AlignmentStatus, Photo, PhotoMetric, Roi, TreatmentArea, User, utcnow
from tracker.photos.baselines import baseline_for, group_photos
from tracker.security import authorize
from tracker.storage_setup import storage

log = logging.getLogger(__name__)


def region_of(area_id: int, view_key: str) -> Roi | None:
    return db.session.scalars(sa.select(Roi).where(Roi.area_id == area_id, Roi.view_key == view_key)).first()


def _decode(photo: Photo, variant: str) -> np.ndarray:
    with Image.open(io.BytesIO(storage().get(photo.key(variant)))) as im:
        return np.asarray(im.convert("RGB"))


def _aligned_pixels(photo: Photo, baseline: Photo) -> tuple[np.ndarray, np.ndarray | None] | None:
    """The photo on the baseline's canvas and the mask of pixels it really covers; None if not aligned."""
    if photo.id == baseline.id:
        return _decode(photo, "display"), None
    if photo.alignment is not AlignmentStatus.ALIGNED or not photo.alignment_matrix:
        return None
    size = (baseline.display_width or 0, baseline.display_height or 0)
    warped = registration.warp_to_baseline(_decode(photo, "display"), photo.alignment_matrix, size, transparent=True)
    return np.ascontiguousarray(warped[..., :3]), warped[..., 3] == 255


def _carry_over(roi: Roi, baseline: Photo) -> bool:
    """Move a region drawn on an earlier baseline onto the new one, through the old baseline's alignment."""
    old = db.session.get(Photo, roi.baseline_photo_id) if roi.baseline_photo_id else None
    if old is None or old.alignment is not AlignmentStatus.ALIGNED or old.aligned_to_id != baseline.id \
            or not old.alignment_matrix:
        return False
    try:
        moved = imaging_metrics.transform_roi(imaging_metrics.Roi(tuple(map(tuple, roi.points))),
                                              old.alignment_matrix)
        imaging_metrics.check_roi(moved, (baseline.display_width or 0, baseline.display_height or 0))
    except imaging_metrics.RoiError:
        return False
    roi.points = [list(p) for p in moved.points]
    roi.baseline_photo_id = baseline.id
    return True


def measure_group(area_id: int, view_key: str, *, only: int | None = None) -> dict[int, str]:
    """(Re)measure the photos of one area and view in its region (``only``: just that photo).

    Returns photo id → "measured", or why not."""
    roi = region_of(area_id, view_key)
    baseline = baseline_for(area_id, view_key)
    if roi is None or baseline is None:
        return {}
    if roi.baseline_photo_id != baseline.id and not _carry_over(roi, baseline):
        db.session.execute(sa.delete(PhotoMetric).where(PhotoMetric.roi_id == roi.id))
        db.session.commit()
        return {}
    shape = imaging_metrics.Roi(tuple(map(tuple, roi.points)))
    outcome: dict[int, str] = {}
    photos = group_photos(area_id, view_key)
    if only is not None:
        photos = photos.where(Photo.id == only)
    for photo in db.session.scalars(photos):
        outcome[photo.id] = _measure_one(photo, baseline, roi, shape)
    db.session.commit()
    return outcome


def _measure_one(photo: Photo, baseline: Photo, roi: Roi, shape: imaging_metrics.Roi) -> str:
    db.session.execute(sa.delete(PhotoMetric).where(PhotoMetric.photo_id == photo.id, PhotoMetric.roi_id == roi.id))
    pixels = _aligned_pixels(photo, baseline)
    if pixels is None:
        return "not aligned"
    try:
        values = imaging_metrics.measure(pixels[0], shape, pixels[1])
    except imaging_metrics.RoiError as exc:
        return exc.message
    db.session.add(PhotoMetric(patient_id=photo.patient_id, photo_id=photo.id, roi_id=roi.id,
                               method_version=values.method_version, values=values.to_dict()))
    return "measured"


def set_region(actor: User, area: TreatmentArea, view_key: str, points: list[list[float]]) -> Roi:
    """Draw (or redraw) the region of an area's view on its baseline; every photo of the view is measured."""
    authorize(actor, "outcomes.review")
    baseline = baseline_for(area.id, view_key)
    if baseline is None:
        msg = "This view has no processed photo yet: the region is drawn on the baseline photo."
        raise ValidationFailed(msg, fields={"points": msg})
    try:
        shape = imaging_metrics.Roi(tuple(map(tuple, points)))
        imaging_metrics.check_roi(shape, (baseline.display_width or 0, baseline.display_height or 0))
    except (imaging_metrics.RoiError, TypeError, ValueError) as exc:
        message = getattr(exc, "message", "The region must be a list of at least three [x, y] points.")
        raise ValidationFailed(message, fields={"points": message}) from None
    roi = region_of(area.id, view_key)
    if roi is None:
        roi = Roi(patient_id=area.patient_id, area_id=area.id, view_key=view_key, points=[])
        db.session.add(roi)
    roi.points = [list(p) for p in shape.points]
    roi.baseline_photo_id, roi.drawn_by_id, roi.drawn_at = baseline.id, actor.id, utcnow()
    db.session.commit()
    measure_group(area.id, view_key)
    return roi
