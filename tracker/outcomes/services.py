"""Treatment sessions (recorded by practitioners, read by patients) and the side-effect diary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from datetime import date, timedelta

import sqlalchemy as sa

from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import (
    AdverseEvent, Anaesthesia, EventKind, InjectionDepth, Modality, Patient, Photo, Rater, SessionArea, Severity,
    TreatmentArea, TreatmentCourse, TreatmentSession, User,
)
from tracker.security import authorize, scoped
from tracker.transactions import commit_or_conflict

MAX_NOTES = 5000
DUE_SOON_DAYS = 14
TIMEZONE_SLACK = timedelta(days=1)


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={field: message})


def _not_future(value: date, field: str, what: str) -> None:
    if value > date.today() + TIMEZONE_SLACK:
        raise _fail(field, f"{what} cannot be in the future.")


# --- sessions -------------------------------------------------------------------------------------

def next_session_number(course: TreatmentCourse) -> int:
    current = db.session.scalar(sa.select(sa.func.max(TreatmentSession.number))
                                .where(TreatmentSession.course_id == course.id))
    return int(current or 0) + 1


@dataclass(frozen=True)
class SessionDetails:
    """What a session records beyond its date; which fields apply depends on the course's modality."""

    area_ids: tuple[int, ...] = ()
    injected_ml: dict[int, float] | None = None
    harvest_site: str = ""
    harvested_ml: float | None = None
    processed_ml: float | None = None
    cell_count: str = ""
    injection_depth: str | None = None
    injection_pattern: str = ""
    anaesthesia: str | None = None
    device_product: str = ""
    settings: str = ""
    lot_number: str = ""


def _check_volumes(details: SessionDetails) -> None:
    for name in ("harvested_ml", "processed_ml"):
        value = getattr(details, name)
        if value is not None and not 0 <= value <= 5000:
            raise _fail(name, "Volumes are between 0 and 5000 ml.")
    if details.harvested_ml is not None and details.processed_ml is not None \
            and details.processed_ml > details.harvested_ml:
        raise _fail("processed_ml", "The processed volume cannot exceed the volume harvested.")
    for area_id, ml in (details.injected_ml or {}).items():
        if not 0 <= ml <= 500:
            raise _fail("injected_ml", "Injected volumes per area are between 0 and 500 ml.")
        if area_id not in details.area_ids:
            raise _fail("injected_ml", "Give injected volumes only for the areas treated.")


def _check_choices(details: SessionDetails) -> None:
    if details.injection_depth and details.injection_depth not in {d.value for d in InjectionDepth}:
        raise _fail("injection_depth", "Unknown injection depth.")
    if details.anaesthesia and details.anaesthesia not in {a.value for a in Anaesthesia}:
        raise _fail("anaesthesia", "Unknown anaesthesia.")


def _session_areas(course: TreatmentCourse, area_ids: tuple[int, ...]) -> tuple[int, ...]:
    course_areas = {link.area_id for link in course.area_links}
    chosen = tuple(sorted(set(area_ids))) or tuple(sorted(course_areas))
    if not set(chosen) <= course_areas:
        raise _fail("area_ids", "Choose areas this course treats.")
    return chosen


def _session_fields(course: TreatmentCourse, performed_on: date, number: int | None, notes: str,
                    details: SessionDetails) -> dict[str, Any]:
    """Validate what a session records and return the column values (shared by recording and editing)."""
    _not_future(performed_on, "performed_on", "A session")
    if performed_on < course.start_date:
        raise _fail("performed_on",
                    f"The course started on {course.start_date.isoformat()}; the session cannot be before that.")
    if len(notes) > MAX_NOTES:
        raise _fail("notes", "The notes are too long.")
    if number is not None and not 1 <= number <= 99:
        raise _fail("number", "Session numbers run from 1 to 99.")
    area_ids = _session_areas(course, details.area_ids)
    details = SessionDetails(**{**details.__dict__, "area_ids": area_ids})
    _check_volumes(details)
    _check_choices(details)
    stem_cells = course.modality is Modality.STEM_CELL_INJECTION
    return {
        "performed_on": performed_on, "notes": notes.strip(),
        "harvest_site": details.harvest_site.strip() if stem_cells else "",
        "harvested_ml": details.harvested_ml if stem_cells else None,
        "processed_ml": details.processed_ml if stem_cells else None,
        "cell_count": details.cell_count.strip() if stem_cells else "",
        "injection_depth": InjectionDepth(details.injection_depth) if stem_cells and details.injection_depth else None,
        "injection_pattern": details.injection_pattern.strip() if stem_cells else "",
        "anaesthesia": Anaesthesia(details.anaesthesia) if details.anaesthesia else None,
        "device_product": details.device_product.strip(), "settings": details.settings.strip(),
        "lot_number": details.lot_number.strip(),
        "area_links": [SessionArea(area_id=a, patient_id=course.patient_id,
                                   injected_ml=(details.injected_ml or {}).get(a) if stem_cells else None)
                       for a in area_ids],
    }


def record_session(actor: User, course: TreatmentCourse, *, performed_on: date, number: int | None = None,
                   notes: str = "", details: SessionDetails | None = None) -> TreatmentSession:
    authorize(actor, "sessions.record")
    fields = _session_fields(course, performed_on, number, notes, details or SessionDetails())
    session = TreatmentSession(patient_id=course.patient_id, course_id=course.id, modality=course.modality,
                               number=number or next_session_number(course), practitioner_id=actor.id, **fields)
    db.session.add(session)
    commit_or_conflict(f"Session {session.number} of this course is already recorded.", "number")
    return session


def update_session(actor: User, session: TreatmentSession, *, performed_on: date, number: int | None = None,
                   notes: str = "", details: SessionDetails | None = None) -> TreatmentSession:
    """Correct a recorded session (its number too); the same rules as recording it."""
    authorize(actor, "sessions.record")
    course = db.session.get(TreatmentCourse, session.course_id)
    fields = _session_fields(course, performed_on, number, notes, details or SessionDetails())  # type: ignore
    session.area_links.clear()
    db.session.flush()  # the old area rows go first: the new ones may name the same areas
    for name, value in fields.items():
        setattr(session, name, value)
    if number is not None:
        session.number = number
    commit_or_conflict(f"Session {number} of this course is already recorded.", "number")
    return session


def list_sessions(actor: User, patient: Patient) -> list[TreatmentSession]:
    stmt = scoped(TreatmentSession, actor).where(TreatmentSession.patient_id == patient.id) \
        .order_by(TreatmentSession.performed_on, TreatmentSession.number)
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class DueSession:
    course: TreatmentCourse
    patient: Patient
    number: int
    due_on: date

    @property
    def overdue(self) -> bool:
        return self.due_on < date.today()

    @property
    def days(self) -> int:
        return (self.due_on - date.today()).days


def proposed_next(course: TreatmentCourse, done: list[TreatmentSession]) -> tuple[int, date] | None:
    """The plan (N sessions every K weeks) proposes the next session: K weeks after the last, or the start."""
    if len(done) >= course.planned_sessions:
        return None
    if not done:
        return 1, course.start_date
    last = max(done, key=lambda s: (s.performed_on, s.number))
    return max(s.number for s in done) + 1, last.performed_on + timedelta(weeks=course.interval_weeks)


def due_sessions(actor: User, *, horizon_days: int = DUE_SOON_DAYS) -> list[DueSession]:
    """Overdue and upcoming sessions across the actor's clinic, soonest first (two queries)."""
    rows = db.session.execute(
        scoped(TreatmentCourse, actor).add_columns(Patient).order_by(TreatmentCourse.id)).all()
    sessions: dict[int, list[TreatmentSession]] = {}
    for s in db.session.scalars(scoped(TreatmentSession, actor)):
        sessions.setdefault(s.course_id, []).append(s)
    horizon = date.today() + timedelta(days=horizon_days)
    due = []
    for course, patient in rows:
        proposal = proposed_next(course, sessions.get(course.id, []))
        if proposal is not None and proposal[1] <= horizon:
            due.append(DueSession(course, patient, *proposal))
    return sorted(due, key=lambda d: d.due_on)


# --- side effects ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class EventReport:
    kind: str
    severity: str
    onset: date
    description: str = ""
    area_id: int | None = None
    photo_id: int | None = None


def report_event(actor: User, patient: Patient, report: EventReport) -> AdverseEvent:
    """A patient's diary entry or a practitioner's record of a side effect."""
    authorize(actor, "events.report")
    if report.kind not in {k.value for k in EventKind}:
        raise _fail("kind", "Choose what happened.")
    if report.severity not in {s.value for s in Severity}:
        raise _fail("severity", "Choose mild, moderate or severe.")
    _not_future(report.onset, "onset", "The onset")
    if patient.date_of_birth and report.onset < patient.date_of_birth:
        raise _fail("onset", "The onset cannot be before the patient was born.")
    if len(report.description) > MAX_NOTES:
        raise _fail("description", "The description is too long.")
    if report.area_id is not None and db.session.scalar(sa.select(TreatmentArea.id).where(
            TreatmentArea.id == report.area_id, TreatmentArea.patient_id == patient.id)) is None:
        raise _fail("area_id", "Choose one of this patient's areas.")
    if report.photo_id is not None and db.session.scalar(sa.select(Photo.id).where(
            Photo.id == report.photo_id, Photo.patient_id == patient.id, Photo.deleted_at.is_(None))) is None:
        raise _fail("photo_id", "Choose one of this patient's photos.")
    event = AdverseEvent(patient_id=patient.id, area_id=report.area_id, kind=EventKind(report.kind),
                         severity=Severity(report.severity), onset=report.onset,
                         description=report.description.strip(), photo_id=report.photo_id,
                         reported_by_id=actor.id, reporter=Rater.PATIENT if not actor.is_staff else Rater.PRACTITIONER)
    db.session.add(event)
    db.session.commit()
    return event


def resolve_event(actor: User, event: AdverseEvent, resolved_on: date) -> AdverseEvent:
    authorize(actor, "events.report")
    _not_future(resolved_on, "resolved_on", "The date it resolved")
    if resolved_on < event.onset:
        raise _fail("resolved_on", "It cannot resolve before it started.")
    event.resolved_on = resolved_on
    db.session.commit()
    return event


def photo_choices(patient: Patient) -> list[tuple[int, str]]:
    """The patient's processed photos, newest first, as (id, "date · area") for the diary's photo picker."""
    rows = db.session.execute(
        sa.select(Photo.id, Photo.taken_on, TreatmentArea.name).join(TreatmentArea, TreatmentArea.id == Photo.area_id)
        .where(Photo.patient_id == patient.id, Photo.deleted_at.is_(None))
        .order_by(Photo.taken_on.desc(), Photo.id.desc()).limit(100)).all()
    return [(photo_id, f"{taken_on.isoformat()} · {area}") for photo_id, taken_on, area in rows]


def list_events(actor: User, patient: Patient) -> list[AdverseEvent]:
    stmt = scoped(AdverseEvent, actor).where(AdverseEvent.patient_id == patient.id) \
        .order_by(AdverseEvent.resolved_on.is_not(None), AdverseEvent.onset.desc(), AdverseEvent.id.desc())
    return list(db.session.scalars(stmt))


def events_needing_attention(actor: User) -> list[tuple[AdverseEvent, Patient]]:
    """Unresolved moderate/severe events and any sign of infection, across the clinic."""
    stmt = scoped(AdverseEvent, actor).add_columns(Patient).where(
        AdverseEvent.resolved_on.is_(None),
        sa.or_(AdverseEvent.kind == EventKind.INFECTION_SIGNS, AdverseEvent.severity != Severity.MILD),
    ).order_by(AdverseEvent.onset)
    return [(event, patient) for event, patient in db.session.execute(stmt).all()]
