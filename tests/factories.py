"""Test data builders. ``build_world`` makes two clinics with every role, so isolation can be asserted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask.testing import FlaskClient

from tracker.auth.passwords import hash_password
from tracker.extensions import db
from tracker.models import (
    BodyRegion, Clinic, CourseArea, Modality, Patient, Role, TreatmentArea, TreatmentCourse, User,
)

PASSWORD = "correct horse battery"


@dataclass
class Person:
    email: str
    user_id: int
    patient_id: int | None = None
    area_id: int | None = None
    course_id: int | None = None


@dataclass
class World:
    """Clinic X: admin, practitioner, patients A and B. Clinic Y: admin, practitioner, patient C."""

    clinic_x: int
    clinic_y: int
    people: dict[str, Person] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Person:
        return self.people[key]


def make_clinic(name: str, slug: str) -> Clinic:
    clinic = Clinic(name=name, slug=slug)
    db.session.add(clinic)
    db.session.flush()
    return clinic


def make_user(clinic: Clinic, email: str, role: Role, *, patient: Patient | None = None,
              password: str = PASSWORD, name: str | None = None) -> User:
    user = User(clinic_id=clinic.id, email=email, name=name or email.split("@")[0].title(), role=role,
                patient_id=patient.id if patient else None, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def make_patient(clinic: Clinic, name: str, email: str | None = None) -> Patient:
    patient = Patient(clinic_id=clinic.id, full_name=name, email=email, date_of_birth=date(1990, 1, 2),
                      fitzpatrick=3)
    db.session.add(patient)
    db.session.flush()
    return patient


def make_area(patient: Patient, name: str = "Abdomen – lower left") -> TreatmentArea:
    area = TreatmentArea(patient_id=patient.id, name=name, body_region=BodyRegion.ABDOMEN,
                         views=["front", "close_up"])
    db.session.add(area)
    db.session.flush()
    return area


def make_course(patient: Patient, areas: list[TreatmentArea]) -> TreatmentCourse:
    course = TreatmentCourse(patient_id=patient.id, indication="Striae distensae",
                             modality=Modality.STEM_CELL_INJECTION, planned_sessions=3, interval_weeks=6,
                             start_date=date(2026, 1, 5),
                             area_links=[CourseArea(area_id=a.id, patient_id=patient.id) for a in areas])
    db.session.add(course)
    db.session.flush()
    return course


def _patient_person(clinic: Clinic, key: str) -> Person:
    email = f"{key}@example.com"
    patient = make_patient(clinic, f"Patient {key.upper()}", email)
    user = make_user(clinic, email, Role.PATIENT, patient=patient, name=patient.full_name)
    area = make_area(patient)
    course = make_course(patient, [area])
    return Person(email, user.id, patient.id, area.id, course.id)


def build_world() -> World:
    x = make_clinic("Clinic X", "clinic-x")
    y = make_clinic("Clinic Y", "clinic-y")
    world = World(x.id, y.id)
    for key, clinic, role in (("admin_x", x, Role.CLINIC_ADMIN), ("prac_x", x, Role.PRACTITIONER),
                              ("admin_y", y, Role.CLINIC_ADMIN), ("prac_y", y, Role.PRACTITIONER)):
        user = make_user(clinic, f"{key}@example.com", role)
        world.people[key] = Person(user.email, user.id)
    for key, clinic in (("a", x), ("b", x), ("c", y)):
        world.people[key] = _patient_person(clinic, key)
    db.session.commit()
    return world


def login(client: FlaskClient, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post("/auth/login", data={"email": email, "password": password, **extra})


def api_token(client: FlaskClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/tokens", json={"email": email, "password": password})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}
