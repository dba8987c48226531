"""A view's group of photos and its baseline: the pinned photo, or else the earliest ready one.

Read by alignment (which draws every photo on the baseline's canvas) and by regions (drawn on the baseline), so it
sits below both of them.
"""

from __future__ import annotations

import sqlalchemy as sa

from tracker.extensions import db
from tracker.models import Photo, PhotoStatus, ViewBaseline


def group_photos(area_id: int, view_key: str) -> sa.Select[tuple[Photo]]:
    view_filter = Photo.view.is_(None) if view_key == "" else Photo.view == view_key
    return sa.select(Photo).where(Photo.area_id == area_id, view_filter, Photo.deleted_at.is_(None),
                                  Photo.status == PhotoStatus.READY)


def baseline_for(area_id: int, view_key: str) -> Photo | None:
    pinned = db.session.scalars(
        group_photos(area_id, view_key).join(ViewBaseline, ViewBaseline.photo_id == Photo.id)
        .where(ViewBaseline.area_id == area_id, ViewBaseline.view_key == view_key)).first()
    if pinned is not None:
        return pinned
    return db.session.scalars(
        group_photos(area_id, view_key).order_by(Photo.taken_on, Photo.created_at, Photo.id)).first()
