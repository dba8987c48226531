"""Treatment sessions (recorded by practitioners, read by patients)."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import TreatmentCourse, TreatmentSession, User
from tracker.security import authorize
from tracker.transactions import commit_or_conflict

MAX_NOTES = 5000


def next_session_number(course: TreatmentCourse) -> int:
    current = db.session.scalar(sa.select(sa.func.max(TreatmentSession.number))
                                .where(TreatmentSession.course_id == course.id))
    return int(current or 0) + 1


def record_session(actor: User, course: TreatmentCourse, *, performed_on: date, number: int | None = None,
                   notes: str = "") -> TreatmentSession:
    authorize(actor, "sessions.record")
    if performed_on > date.today() + timedelta(days=1):
        msg = "A session cannot be recorded in the future."
        raise ValidationFailed(msg, fields={"performed_on": msg})
    if performed_on < course.start_date:
        msg = f"The course started on {course.start_date.isoformat()}; the session cannot be before that."
        raise ValidationFailed(msg, fields={"performed_on": msg})
    if len(notes) > MAX_NOTES:
        raise ValidationFailed("The notes are too long.", fields={"notes": "Too long."})
    session = TreatmentSession(patient_id=course.patient_id, course_id=course.id,
                               number=number or next_session_number(course), performed_on=performed_on,
                               modality=course.modality, notes=notes.strip(), practitioner_id=actor.id)
    db.session.add(session)
    commit_or_conflict(f"Session {session.number} of this course is already recorded.", "number")
    return session
