"""Patient records: finding patients, creating them, their treated areas and treatment courses."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from tracker.auth.services import SentInvitation, create_invitation, normalize_email
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import (
    BodyRegion, CourseArea, Modality, Patient, Role, TreatmentArea, TreatmentCourse, TreatmentSession, User, View,
)
from tracker.security import authorize, scoped
from tracker.transactions import commit_or_conflict

T = TypeVar("T")

# Sort keys are an allow-list: user input never reaches ORDER BY directly.
PATIENT_SORTS = {
    "name": (Patient.full_name.asc(), Patient.id.asc()),
    "-name": (Patient.full_name.desc(), Patient.id.desc()),
    "newest": (Patient.created_at.desc(), Patient.id.desc()),
    "oldest": (Patient.created_at.asc(), Patient.id.asc()),
}
EARLIEST_BIRTH = date(1900, 1, 1)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_patients(actor: User, *, q: str = "", page: int = 1, per_page: int = 20,
                    sort: str = "name") -> Page[Patient]:
    authorize(actor, "patients.list")
    if sort not in PATIENT_SORTS:
        raise ValidationFailed(f"Unknown sort '{sort[:40]}'. Use one of: {', '.join(PATIENT_SORTS)}.",
                               fields={"sort": "Unknown sort order."})
    stmt = scoped(Patient, actor)
    q = q.strip()[:100]
    if q:
        like = f"%{_escape_like(q.lower())}%"
        stmt = stmt.where(sa.or_(
            sa.func.lower(Patient.full_name).like(like, escape="\\"),
            sa.func.lower(sa.func.coalesce(Patient.email, "")).like(like, escape="\\"),
            sa.func.lower(Patient.external_ref).like(like, escape="\\"),
        ))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    page = max(1, page)
    items = db.session.scalars(
        stmt.order_by(*PATIENT_SORTS[sort]).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(list(items), page, per_page, int(total))


def _check_birth_date(dob: date | None) -> None:
    if dob is not None and not EARLIEST_BIRTH <= dob <= date.today():
        msg = "Date of birth must be in the past (and after 1900)."
        raise ValidationFailed(msg, fields={"date_of_birth": msg})


def create_patient(actor: User, *, full_name: str, email: str | None = None, date_of_birth: date | None = None,
                   fitzpatrick: int | None = None, external_ref: str = "") -> Patient:
    authorize(actor, "patients.create")
    full_name = full_name.strip()
    if not full_name:
        raise ValidationFailed("Enter the patient's name.", fields={"full_name": "Enter the patient's name."})
    _check_birth_date(date_of_birth)
    if fitzpatrick is not None and not 1 <= fitzpatrick <= 6:
        raise ValidationFailed("Skin type is I to VI.", fields={"fitzpatrick": "Skin type is I to VI."})
    email = normalize_email(email) if email else None
    patient = Patient(clinic_id=actor.clinic_id, full_name=full_name, email=email, date_of_birth=date_of_birth,
                      fitzpatrick=fitzpatrick, external_ref=(external_ref or "").strip(), created_by_id=actor.id)
    db.session.add(patient)
    commit_or_conflict("Another patient of this clinic has this e-mail address.", "email")
    return patient


def invite_patient(actor: User, patient: Patient) -> SentInvitation:
    authorize(actor, "patients.invite")
    if not patient.email:
        msg = "Add the patient's e-mail address before inviting them."
        raise ValidationFailed(msg, fields={"email": msg})
    return create_invitation(actor, email=patient.email, name=patient.full_name, role=Role.PATIENT,
                             patient=patient)


def sessions_by_course(patient: Patient) -> dict[int, list[TreatmentSession]]:
    sessions = db.session.scalars(sa.select(TreatmentSession).where(TreatmentSession.patient_id == patient.id)
                                  .order_by(TreatmentSession.performed_on, TreatmentSession.number))
    grouped: dict[int, list[TreatmentSession]] = {}
    for session in sessions:
        grouped.setdefault(session.course_id, []).append(session)
    return grouped


def load_chart(patient: Patient) -> tuple[list[TreatmentArea], list[TreatmentCourse]]:
    """The patient's areas and courses, with each course's areas, in three queries."""
    areas = db.session.scalars(
        sa.select(TreatmentArea).where(TreatmentArea.patient_id == patient.id).order_by(TreatmentArea.name)
    ).all()
    courses = db.session.scalars(
        sa.select(TreatmentCourse).where(TreatmentCourse.patient_id == patient.id)
        .options(selectinload(TreatmentCourse.areas))
        .order_by(TreatmentCourse.start_date.desc(), TreatmentCourse.id.desc())
    ).all()
    return list(areas), list(courses)


def _validate_views(views: list[str]) -> list[str]:
    unknown = [v for v in views if v not in View.codes()]
    if unknown:
        msg = f"Unknown view(s): {', '.join(unknown)[:80]}. Use: {', '.join(View.codes())}."
        raise ValidationFailed(msg, fields={"views": msg})
    ordered = [v for v in View.codes() if v in views]
    return ordered or [View.FRONT.value]


def create_area(actor: User, patient: Patient, *, name: str, body_region: str,
                views: list[str]) -> TreatmentArea:
    authorize(actor, "areas.create")
    name = name.strip()
    if not name:
        raise ValidationFailed("Give the area a name.", fields={"name": "Give the area a name."})
    if body_region not in BodyRegion.codes():
        msg = f"Unknown body region. Use one of: {', '.join(BodyRegion.codes())}."
        raise ValidationFailed(msg, fields={"body_region": msg})
    area = TreatmentArea(patient_id=patient.id, name=name, body_region=BodyRegion(body_region),
                         views=_validate_views(views))
    db.session.add(area)
    commit_or_conflict("This patient already has an area with this name.", "name")
    return area


def create_course(actor: User, patient: Patient, *, indication: str, modality: str, planned_sessions: int,
                  interval_weeks: int, start_date: date, area_ids: list[int], notes: str = "") -> TreatmentCourse:
    authorize(actor, "courses.create")
    fields: dict[str, str] = {}
    if not indication.strip():
        fields["indication"] = "Enter the indication (for example: Striae distensae)."
    if modality not in Modality.codes():
        fields["modality"] = f"Unknown modality. Use one of: {', '.join(Modality.codes())}."
    if not 1 <= planned_sessions <= 20:
        fields["planned_sessions"] = "Plan between 1 and 20 sessions."
    if not 1 <= interval_weeks <= 104:
        fields["interval_weeks"] = "The interval is between 1 and 104 weeks."
    own_area_ids = set(db.session.scalars(
        sa.select(TreatmentArea.id).where(TreatmentArea.patient_id == patient.id)))
    if not area_ids:
        fields["area_ids"] = "Choose at least one treated area."
    elif not set(area_ids) <= own_area_ids:
        fields["area_ids"] = "Choose areas of this patient."
    if fields:
        raise ValidationFailed(next(iter(fields.values())), fields=fields)
    course = TreatmentCourse(
        patient_id=patient.id, indication=indication.strip(), modality=Modality(modality),
        planned_sessions=planned_sessions, interval_weeks=interval_weeks, start_date=start_date,
        notes=notes.strip(), created_by_id=actor.id,
        area_links=[CourseArea(area_id=a, patient_id=patient.id) for a in sorted(set(area_ids))],
    )
    db.session.add(course)
    db.session.commit()
    return course
