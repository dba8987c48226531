"""Building a treated area's timeline: photos and the sessions of the courses that treat the area, on one axis.

Order: by date; on a day with both, photos come first — photos taken at a session visit are taken before the
treatment, so "baseline → session 1 → photos → session 2" reads true. Each photo knows the days since its view's
baseline and since the last session before it.

The whole timeline costs a fixed number of queries, whatever the number of photos and sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Union

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from tracker.errors import NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import (
    AlignmentStatus, CourseArea, Photo, PhotoStatus, TreatmentArea, TreatmentSession, User, View, ViewBaseline,
)
from tracker.security import scoped


@dataclass(frozen=True)
class PhotoEvent:
    photo: Photo
    days_since_baseline: int | None
    days_since_session: int | None
    after_session: int | None  # number of the last session before the photo
    is_baseline: bool

    kind = "photo"

    @property
    def day(self) -> date:
        return self.photo.taken_on

    @property
    def aligned(self) -> bool:
        return self.photo.alignment in (AlignmentStatus.ALIGNED, AlignmentStatus.BASELINE)


@dataclass(frozen=True)
class SessionEvent:
    session: TreatmentSession

    kind = "session"

    @property
    def day(self) -> date:
        return self.session.performed_on


Event = Union[PhotoEvent, SessionEvent]


@dataclass
class ViewGroup:
    view_key: str
    label: str
    events: list[Event] = field(default_factory=list)
    baseline: Photo | None = None
    latest: Photo | None = None


@dataclass
class Timeline:
    area: TreatmentArea
    events: list[Event]
    groups: list[ViewGroup]
    sessions: list[TreatmentSession]

    @property
    def photo_count(self) -> int:
        return sum(1 for e in self.events if isinstance(e, PhotoEvent))


def _label(view_key: str) -> str:
    return View(view_key).label if view_key else "No view given"


def sessions_for_area(area: TreatmentArea) -> list[TreatmentSession]:
    stmt = (sa.select(TreatmentSession)
            .join(CourseArea, sa.and_(CourseArea.course_id == TreatmentSession.course_id,
                                      CourseArea.area_id == area.id))
            .options(selectinload(TreatmentSession.area_links))
            .order_by(TreatmentSession.performed_on, TreatmentSession.number))
    return list(db.session.scalars(stmt))


def _baselines(area: TreatmentArea, photos: list[Photo]) -> dict[str, Photo]:
    pins = dict(db.session.execute(
        sa.select(ViewBaseline.view_key, ViewBaseline.photo_id).where(ViewBaseline.area_id == area.id)).all())
    by_id = {p.id: p for p in photos}
    chosen: dict[str, Photo] = {}
    for photo in photos:  # photos arrive in date order: the first ready one of a view is its baseline
        if photo.status is PhotoStatus.READY and photo.view_key not in chosen:
            chosen[photo.view_key] = photo
    for view_key, photo_id in pins.items():
        if photo_id in by_id:
            chosen[view_key] = by_id[photo_id]
    return chosen


def build_timeline(actor: User, area: TreatmentArea) -> Timeline:
    photos = list(db.session.scalars(
        scoped(Photo, actor).where(Photo.area_id == area.id, Photo.deleted_at.is_(None))
        .order_by(Photo.taken_on, Photo.created_at, Photo.id)))
    sessions = sessions_for_area(area)
    baselines = _baselines(area, photos)
    events: list[Event] = []
    groups: dict[str, ViewGroup] = {}
    session_index = 0
    last_session: TreatmentSession | None = None
    for photo in photos:
        while session_index < len(sessions) and sessions[session_index].performed_on < photo.taken_on:
            last_session = sessions[session_index]
            events.append(SessionEvent(last_session))
            session_index += 1
        baseline = baselines.get(photo.view_key)
        event = PhotoEvent(
            photo=photo,
            days_since_baseline=(photo.taken_on - baseline.taken_on).days if baseline else None,
            days_since_session=(photo.taken_on - last_session.performed_on).days if last_session else None,
            after_session=last_session.number if last_session else None,
            is_baseline=baseline is not None and baseline.id == photo.id,
        )
        events.append(event)
        group = groups.setdefault(photo.view_key, ViewGroup(photo.view_key, _label(photo.view_key),
                                                            baseline=baseline))
        group.events.append(event)
        if photo.status is PhotoStatus.READY:
            group.latest = photo
    events.extend(SessionEvent(s) for s in sessions[session_index:])
    for group in groups.values():
        group.events = _with_sessions(group.events, sessions)
    order = {v: i for i, v in enumerate(area.views)}
    ordered = sorted(groups.values(), key=lambda g: order.get(g.view_key, len(order)))
    return Timeline(area, events, ordered, sessions)


def _with_sessions(photo_events: list[Event], sessions: list[TreatmentSession]) -> list[Event]:
    """One view's photos with every session interleaved (same-day: photos first)."""
    merged: list[Event] = []
    index = 0
    for event in photo_events:
        while index < len(sessions) and sessions[index].performed_on < event.day:
            merged.append(SessionEvent(sessions[index]))
            index += 1
        merged.append(event)
    merged.extend(SessionEvent(s) for s in sessions[index:])
    return merged


@dataclass(frozen=True)
class ComparePair:
    before: Photo
    after: Photo
    aligned: bool           # both sides can be shown in the baseline's frame
    reason: str             # why not, in words, when not aligned


def pick_pair(actor: User, area: TreatmentArea, timeline: Timeline, before_id: int | None,
              after_id: int | None, view_key: str | None) -> ComparePair:
    """The two photos to compare: those asked for, or the view's baseline and latest photo."""
    ready = {e.photo.id: e.photo for e in timeline.events
             if isinstance(e, PhotoEvent) and e.photo.status is PhotoStatus.READY}
    if before_id is not None or after_id is not None:
        before, after = ready.get(before_id or -1), ready.get(after_id or -1)
        if before is None or after is None:
            raise NotFound("Those photos are not both available in this area.")
    else:
        group = next((g for g in timeline.groups if view_key in (None, g.view_key) and g.baseline and g.latest
                      and g.baseline.id != g.latest.id), None)
        if group is None:
            raise ValidationFailed("There are not yet two processed photos of one view to compare.")
        before, after = group.baseline, group.latest  # type: ignore[assignment]
    return ComparePair(before, after, *_alignment_of(before, after))


def _alignment_of(before: Photo, after: Photo) -> tuple[bool, str]:
    if before.view_key != after.view_key:
        return False, "These photos are of different views, so they cannot be aligned."
    states = {before.alignment, after.alignment}
    if AlignmentStatus.FAILED in states or AlignmentStatus.PENDING in states:
        failed = before if before.alignment is not AlignmentStatus.BASELINE and before.alignment is not \
            AlignmentStatus.ALIGNED else after
        reason = failed.alignment_reason or "Alignment is not available yet."
        return False, f"The photo of {failed.taken_on.isoformat()} could not be aligned to the baseline: {reason}"
    return True, ""
