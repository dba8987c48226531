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
    photo_id: int | None = None


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


CONSENT_BODY = "I agree that the clinic may use my photos as this consent describes. I can withdraw at any time."


def make_consent_texts(clinic: Clinic) -> dict[str, Any]:
    from tracker.consent.services import text_sha256
    from tracker.models import ConsentScope, ConsentText

    texts = {}
    for scope in ConsentScope:
        body = f"{scope.label}. {CONSENT_BODY}"
        texts[scope.value] = ConsentText(clinic_id=clinic.id, scope=scope, version=1, body=body,
                                         sha256=text_sha256(body))
        db.session.add(texts[scope.value])
    db.session.flush()
    return texts


def give_consent(patient: Patient, user: User, scope: str = "care", area_id: int | None = None) -> Any:
    from tracker.models import Consent, ConsentScope, ConsentText

    text = db.session.scalars(sa_select(ConsentText).where(ConsentText.clinic_id == patient.clinic_id,
                                                           ConsentText.scope == scope)).first()
    consent = Consent(patient_id=patient.id, scope=ConsentScope(scope), area_id=area_id, text_id=text.id,
                      text_version=text.version, text_sha256=text.sha256, signature_name=patient.full_name,
                      granted_by_id=user.id)
    db.session.add(consent)
    db.session.flush()
    return consent


def sa_select(*args: Any) -> Any:
    import sqlalchemy as sa

    return sa.select(*args)


def _patient_person(clinic: Clinic, key: str) -> Person:
    email = f"{key}@example.com"
    patient = make_patient(clinic, f"Patient {key.upper()}", email)
    user = make_user(clinic, email, Role.PATIENT, patient=patient, name=patient.full_name)
    give_consent(patient, user, "care")
    area = make_area(patient)
    course = make_course(patient, [area])
    return Person(email, user.id, patient.id, area.id, course.id)


def build_world() -> World:
    x = make_clinic("Clinic X", "clinic-x")
    y = make_clinic("Clinic Y", "clinic-y")
    make_consent_texts(x)
    make_consent_texts(y)
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


FIXTURES = __import__("pathlib").Path(__file__).resolve().parent / "fixtures"


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def upload(client: FlaskClient, area_id: int, data: bytes, *, headers: dict[str, str] | None = None,
           filename: str = "photo.jpg", content_type: str = "image/jpeg", **fields: Any) -> Any:
    """POST a photo to the API (with bearer headers) or, without headers, to the page route as upload.js does."""
    import io

    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    # Encoded in memory: the test client's own encoder spills big bodies to a temp file it never closes.
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(data), filename=filename, content_type=content_type), **fields})
    content = f"multipart/form-data; boundary={boundary}"
    if headers is not None:
        return client.post(f"/api/v1/areas/{area_id}/photos", data=body, headers=headers, content_type=content)
    return client.post(f"/photos/area/{area_id}", data=body, headers={"Accept": "application/json"},
                       content_type=content)


def small_jpeg(seed: int = 0, size: tuple[int, int] = (64, 48)) -> bytes:
    """A tiny, unique JPEG (no EXIF date: pass taken_on)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, 120)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def add_photos(world: World) -> None:
    """One ready photo in each patient's area, uploaded the way the app does it (stored and processed)."""
    from datetime import date

    from tracker.photos.services import upload_photo

    for index, key in enumerate(("a", "b", "c")):
        person = world[key]
        area = db.session.get(TreatmentArea, person.area_id)
        uploader = db.session.get(User, person.user_id)
        result = upload_photo(uploader, area, small_jpeg(index), taken_on=date(2026, 1, 10 + index))
        person.photo_id = result.photo.id


def make_session(course_id: int, number: int, performed_on: Any) -> Any:
    from tracker.models import TreatmentSession

    course = db.session.get(TreatmentCourse, course_id)
    session = TreatmentSession(patient_id=course.patient_id, course_id=course.id, number=number,
                               performed_on=performed_on, modality=course.modality)
    db.session.add(session)
    db.session.flush()
    return session


def make_photo_row(area_id: int, taken_on: Any, view: str | None = "front", **extra: Any) -> Any:
    """A photo row without bytes, for tests of queries and ordering (not for serving)."""
    import uuid

    from tracker.models import Photo, PhotoStatus, View

    area = db.session.get(TreatmentArea, area_id)
    photo = Photo(patient_id=area.patient_id, area_id=area.id, storage_id=uuid.uuid4().hex, taken_on=taken_on,
                  view=View(view) if view else None, original_format="jpeg", original_size=1,
                  sha256=uuid.uuid4().hex + uuid.uuid4().hex, width=400, height=300, status=PhotoStatus.READY,
                  display_width=400, display_height=300, **extra)
    db.session.add(photo)
    db.session.flush()
    return photo


def striae(seed: int, severity: float, pose: tuple[float, float, float, float] = (0, 1, 0, 0),
           size: tuple[int, int] = (800, 600)) -> bytes:
    from tracker.imaging.synthetic import striae_photo

    return striae_photo(seed, severity, size[0], size[1], pose=pose)


def direct_token(app: Any, email: str, password: str = PASSWORD) -> dict[str, str]:
    """A bearer token minted in-process (no HTTP, so no sign-in rate limit): for loops and property tests."""
    from tracker.auth.services import issue_api_token

    with app.app_context():
        token, _expires = issue_api_token(email, password)
    return {"Authorization": f"Bearer {token}"}
