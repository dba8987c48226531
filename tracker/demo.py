"""The demo clinics ``make run`` loads into an empty database (never in production).

Two clinics so isolation can be seen: the ``demo`` clinic (admin, practitioner, three patients) and a second
clinic whose practitioner and patient must never see the first clinic's records.

A load that stops part way (killed, or failed) is finished by the next one, ``load-demo --if-empty`` included: the
accounts and records come in one transaction, and every later step (consent, outcomes, photos, region, gallery)
is skipped when it is already done. The audit entry ``demo.loaded`` marks a finished load.
Photos are processed in this process even when ``REDIS_URL`` is set: the region and the gallery need them ready,
and no worker need be running.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app

from tracker import audit, background
from tracker.auth.passwords import hash_password
from tracker.extensions import db
from tracker.models import (
    AuditEvent, BodyRegion, Clinic, CourseArea, Modality, Patient, Role, TreatmentArea, TreatmentCourse,
    TreatmentSession, User,
)

LOADED = "demo.loaded"  # the audit action that marks a finished load


class DemoRefused(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoPatient:
    name: str
    email: str
    password: str
    birth: date
    fitzpatrick: int
    areas: tuple[tuple[str, BodyRegion, tuple[str, ...]], ...]
    weeks_ago: int


DEMO_PATIENTS = (
    DemoPatient("Alex Morgan", "patient@example.com", "demo-patient-pass", date(1991, 4, 12), 3,
                (("Abdomen – lower left", BodyRegion.ABDOMEN, ("front", "left_oblique", "close_up")),
                 ("Abdomen – lower right", BodyRegion.ABDOMEN, ("front", "right_oblique"))), 30),
    DemoPatient("Sam Rivera", "patient2@example.com", "demo-patient-pass", date(1988, 9, 3), 4,
                (("Thighs – outer", BodyRegion.THIGHS, ("front", "close_up")),), 16),
    DemoPatient("Jordan Lee", "patient3@example.com", "demo-patient-pass", date(1996, 1, 27), 2,
                (("Breasts – lateral", BodyRegion.BREASTS, ("front",)),
                 ("Hips", BodyRegion.HIPS, ("left_oblique", "right_oblique"))), 6),
)
OTHER_PATIENT = DemoPatient("Robin Clarke", "patient@other.example.com", "demo-patient-pass", date(1985, 6, 30), 5,
                            (("Flanks", BodyRegion.FLANKS, ("front",)),), 10)


def _user(clinic: Clinic, email: str, name: str, role: Role, password: str,
          patient: Patient | None = None) -> User:
    user = User(clinic_id=clinic.id, email=email, name=name, role=role, password_hash=hash_password(password),
                patient_id=patient.id if patient else None)
    db.session.add(user)
    return user


def _patient(clinic: Clinic, spec: DemoPatient, practitioner: User) -> Patient:
    patient = Patient(clinic_id=clinic.id, full_name=spec.name, email=spec.email, date_of_birth=spec.birth,
                      fitzpatrick=spec.fitzpatrick, created_by_id=practitioner.id)
    db.session.add(patient)
    db.session.flush()
    areas = [TreatmentArea(patient_id=patient.id, name=name, body_region=region, views=list(views))
             for name, region, views in spec.areas]
    db.session.add_all(areas)
    db.session.flush()
    course = TreatmentCourse(
        patient_id=patient.id, indication="Striae distensae", modality=Modality.STEM_CELL_INJECTION,
        planned_sessions=3, interval_weeks=6, start_date=date.today() - timedelta(weeks=spec.weeks_ago),
        created_by_id=practitioner.id,
        area_links=[CourseArea(area_id=a.id, patient_id=patient.id) for a in areas],
    )
    db.session.add(course)
    db.session.flush()
    for number in range(1, course.planned_sessions + 1):
        # Sessions fall a few days after the photos of the same visit series, every interval_weeks.
        performed = course.start_date + timedelta(weeks=(number - 1) * course.interval_weeks, days=1)
        if performed <= date.today():
            db.session.add(TreatmentSession(patient_id=patient.id, course_id=course.id, number=number,
                                            performed_on=performed, modality=course.modality,
                                            notes="Demo session.", practitioner_id=practitioner.id))
    _user(clinic, spec.email, spec.name, Role.PATIENT, spec.password, patient)
    return patient


# Per demo area: (view, severities of successive photos). The series fades, as treated striae do.
DEMO_SERIES = {
    "Abdomen – lower left": (("front", (0.95, 0.8, 0.62, 0.5, 0.45)), ("close_up", (0.95, 0.55))),
    "Abdomen – lower right": (("front", (0.9, 0.7, 0.6)),),
    "Thighs – outer": (("front", (0.85, 0.7, 0.66)),),
    "Hips": (("left_oblique", (0.8, 0.7)),),
    "Flanks": (("front", (0.9, 0.75)),),
}
DEMO_PHOTO_SIZE = (1200, 900)


def _demo_photos(patient: Patient, uploader: User, weeks_ago: int) -> None:
    """Procedurally generated photos (never downloaded): the same skin, re-photographed, healing."""
    from tracker.errors import Conflict
    from tracker.imaging.synthetic import striae_photo
    from tracker.models import Photo, PhotoStatus
    from tracker.photos.services import idempotency_hash, process_photo, upload_photo

    start = date.today() - timedelta(weeks=weeks_ago)
    areas = db.session.scalars(sa.select(TreatmentArea).where(TreatmentArea.patient_id == patient.id)).all()
    for area in areas:
        for view, severities in DEMO_SERIES.get(area.name, ()):
            for index, severity in enumerate(severities):
                key = f"demo-{area.id}-{view}-{index}"
                if db.session.scalar(sa.select(Photo.id).where(Photo.area_id == area.id,
                                                               Photo.idempotency_key == idempotency_hash(key))):
                    continue  # saved by an earlier load that stopped later
                taken = start + timedelta(weeks=index * max(1, weeks_ago // len(severities)))
                pose = ((index % 3 - 1) * 2.5, 1 + (index % 2) * 0.04, index * 9.0, -index * 6.0)
                data = striae_photo(area.id * 10 + len(view), severity, *DEMO_PHOTO_SIZE, pose=pose,
                                    brightness=1 + (index % 3 - 1) * 0.06)
                try:
                    upload_photo(uploader, area, data, taken_on=min(taken, date.today()), view=view,
                                 idempotency_key=key)
                except Conflict:
                    pass  # the same photo, saved by a load from before the keys
    # Photos a stopped load left unprocessed (or a load from before this was done inline) are processed now.
    for photo_id in db.session.scalars(sa.select(Photo.id).where(Photo.patient_id == patient.id,
                                                                 Photo.status == PhotoStatus.PROCESSING)).all():
        process_photo(photo_id)


# Davey scores of Alex's lower-left abdomen at baseline and in the window after each session: they improve,
# then stop improving — the follow-up review shows the plateau.
DEMO_DAVEY = (7, 5, 4, 4)


def _demo_outcomes(patient: Patient, practitioner: User) -> None:
    """Assessments, side effects and a region of interest, so charts and verdicts have something to show."""
    from tracker.models import AdverseEvent, Assessment, EventKind, Rater, Severity

    area = db.session.scalars(sa.select(TreatmentArea).where(TreatmentArea.patient_id == patient.id)
                              .order_by(TreatmentArea.name)).first()
    if db.session.scalar(sa.select(Assessment.id).where(Assessment.patient_id == patient.id).limit(1)):
        return  # done by an earlier load
    sessions = db.session.scalars(sa.select(TreatmentSession).where(TreatmentSession.patient_id == patient.id)
                                  .order_by(TreatmentSession.number)).all()
    if area is None or not sessions:
        return
    days = [sessions[0].performed_on - timedelta(days=1)] + [s.performed_on + timedelta(weeks=5) for s in sessions]
    for day, score in zip(days, DEMO_DAVEY):
        if day <= date.today():
            db.session.add(Assessment(patient_id=patient.id, area_id=area.id, scale="davey", score=score,
                                      assessed_on=day, rater=Rater.PRACTITIONER, rater_id=practitioner.id))
    for day, score in zip(days[1:], (3, 2, 2)):
        if day <= date.today():
            db.session.add(Assessment(patient_id=patient.id, area_id=area.id, scale="gais", score=score,
                                      assessed_on=day, rater=Rater.PRACTITIONER, rater_id=practitioner.id))
    db.session.add(AdverseEvent(patient_id=patient.id, area_id=area.id, kind=EventKind.BRUISING,
                                severity=Severity.MILD, onset=sessions[0].performed_on,
                                resolved_on=sessions[0].performed_on + timedelta(days=6), reporter=Rater.PATIENT,
                                description="Bruising around the injection points."))
    db.session.commit()


def _demo_region(patient: Patient, practitioner: User) -> None:
    from tracker.outcomes.regions import region_of, set_region

    area = db.session.scalars(sa.select(TreatmentArea).where(TreatmentArea.patient_id == patient.id)
                              .order_by(TreatmentArea.name)).first()
    if area is not None and "front" in area.views and region_of(area.id, "front") is None:
        width, height = DEMO_PHOTO_SIZE
        set_region(practitioner, area, "front", [[width * 0.2, height * 0.2], [width * 0.8, height * 0.2],
                                                 [width * 0.8, height * 0.8], [width * 0.2, height * 0.8]])


DEMO_CONSENT_TEXTS = {
    "care": "## Photography for your treatment record\n\nWe photograph the treated areas before, during and after "
            "your treatment so that you and your practitioner can judge how it is going. The photos are part of "
            "your health record: only you and this clinic's care team can see them.\n\nYou can withdraw this "
            "consent at any time; we will then stop adding photos.",
    "gallery": "## Our public before/after gallery\n\nWith your permission, and only after you have seen and approved "
               "the exact images, we may show a before/after pair of one treated area on our public web page. The "
               "images are cropped to the treated skin, anything identifying is blurred, and no name or date is shown."
               "\n\nWithdrawing takes your photos off the gallery immediately.",
    "education": "## Teaching and conferences\n\nDe-identified photos may be used to teach clinicians and at "
                 "professional conferences. No name, date or identifying feature is shown.",
    "marketing": "## Marketing\n\nDe-identified photos may be used in the clinic's advertising. You can withdraw "
                 "at any time; material already printed cannot be recalled.",
}


def _demo_consent(clinic: Clinic, patients: list[Patient]) -> None:
    """Consent texts for every scope; every demo patient has signed the care consent (so uploads work)."""
    from tracker.consent.services import GrantRequest, grant, text_sha256
    from tracker.models import ConsentScope, ConsentText

    if not db.session.scalar(sa.select(ConsentText.id).where(ConsentText.clinic_id == clinic.id).limit(1)):
        for scope, body in DEMO_CONSENT_TEXTS.items():
            db.session.add(ConsentText(clinic_id=clinic.id, scope=ConsentScope(scope), version=1, body=body,
                                       sha256=text_sha256(body)))
        db.session.commit()
    for patient in patients:  # grant() returns the consent already given to the same text
        user = db.session.scalars(sa.select(User).where(User.patient_id == patient.id)).one()
        grant(user, GrantRequest("care", 1, patient.full_name))


def _demo_gallery(patient: Patient, practitioner: User) -> None:
    """Alex Morgan agreed to the gallery for one area and approved the pair the practitioner proposed."""
    from tracker.consent.services import GrantRequest, grant
    from tracker.gallery.services import Proposal, decide, propose
    from tracker.models import AlignmentStatus, GalleryItem, Photo

    user = db.session.scalars(sa.select(User).where(User.patient_id == patient.id)).one()
    area = db.session.scalars(sa.select(TreatmentArea).where(TreatmentArea.patient_id == patient.id)
                              .order_by(TreatmentArea.name)).first()
    if area is None or db.session.scalar(sa.select(GalleryItem.id).where(GalleryItem.area_id == area.id).limit(1)):
        return
    photos = db.session.scalars(sa.select(Photo).where(Photo.area_id == area.id, Photo.view == "front")
                                .order_by(Photo.taken_on)).all()
    aligned = [p for p in photos if p.alignment is AlignmentStatus.ALIGNED]
    if not photos or not aligned:
        return
    grant(user, GrantRequest("gallery", 1, patient.full_name, area_id=area.id))
    width, height = DEMO_PHOTO_SIZE
    item = propose(practitioner, Proposal(photos[0].id, aligned[-1].id,
                                          crop=(width * 0.1, height * 0.1, width * 0.8, height * 0.8)))
    decide(user, item, True)


def _finished() -> bool:
    return db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == LOADED).limit(1)) is not None


def _create_accounts() -> tuple[Clinic, Clinic, User, User]:
    """The clinics, staff, patients, areas, courses and sessions: one transaction."""
    demo = Clinic(name="Demo Skin Clinic", slug="demo",
                  description="Regenerative treatments for stretch marks and scars.")
    other = Clinic(name="Other Street Clinic", slug="other", description="A second clinic, to show isolation.")
    db.session.add_all([demo, other])
    db.session.flush()
    _user(demo, "admin@example.com", "Dana Admin", Role.CLINIC_ADMIN, "demo-admin-pass")
    practitioner = _user(demo, "practitioner@example.com", "Dr. Kim Practitioner", Role.PRACTITIONER,
                         "demo-practitioner-pass")
    other_practitioner = _user(other, "practitioner@other.example.com", "Dr. Lou Other", Role.PRACTITIONER,
                               "demo-practitioner-pass")
    db.session.flush()
    for spec in DEMO_PATIENTS:
        _patient(demo, spec, practitioner)
    _patient(other, OTHER_PATIENT, other_practitioner)
    db.session.commit()
    return demo, other, practitioner, other_practitioner


def _demo_accounts() -> tuple[Clinic, Clinic, User, User] | None:
    """The demo's clinics and practitioners when an earlier load created them (its admin marks them as ours)."""
    clinics = {c.slug: c for c in db.session.scalars(sa.select(Clinic).where(Clinic.slug.in_(("demo", "other"))))}
    users = {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.in_(
        ("admin@example.com", "practitioner@example.com", "practitioner@other.example.com"))))}
    demo, other = clinics.get("demo"), clinics.get("other")
    admin = users.get("admin@example.com")
    if demo is None or other is None or admin is None or admin.clinic_id != demo.id:
        return None
    return demo, other, users["practitioner@example.com"], users["practitioner@other.example.com"]


def _patient_of(clinic: Clinic, spec: DemoPatient) -> Patient:
    return db.session.scalars(sa.select(Patient).where(Patient.clinic_id == clinic.id,
                                                       Patient.email == spec.email)).one()


def load_demo_data(*, only_if_empty: bool, photos: bool = True) -> str:
    """Create the demo clinics, or finish a load that stopped part way.

    Returns ``"loaded"``, ``"finished"`` (an earlier load had stopped part way) or ``"skipped"`` (``only_if_empty``
    and the database holds other data, or a finished demo).
    """
    if not current_app.config["TRACKER_DEMO_ALLOWED"]:
        raise DemoRefused("Demo accounts are never created by the production configuration.")
    accounts = _demo_accounts()
    if only_if_empty and (_finished() if accounts else db.session.scalar(sa.select(sa.func.count())
                                                                           .select_from(Clinic))):
        return "skipped"
    resumed = accounts is not None
    demo, other, practitioner, other_practitioner = accounts or _create_accounts()
    patients = [(_patient_of(demo, spec), practitioner, spec) for spec in DEMO_PATIENTS]
    patients.append((_patient_of(other, OTHER_PATIENT), other_practitioner, OTHER_PATIENT))
    with background.inline():  # the region and the gallery need the photos processed; no worker need run
        _demo_consent(demo, [p for p, _u, _s in patients[:-1]])
        _demo_consent(other, [patients[-1][0]])
        _demo_outcomes(patients[0][0], practitioner)
        for patient, uploader, spec in patients if photos else ():
            _demo_photos(patient, uploader, spec.weeks_ago)
        if photos:
            from tracker.photos.alignment import settle

            settle()  # groups a stopped load left half realigned
            _demo_region(patients[0][0], practitioner)
            _demo_gallery(patients[0][0], practitioner)
    audit.record(LOADED, clinic_id=demo.id, object_type="clinic", object_id=demo.id, detail={"photos": photos})
    return "finished" if resumed else "loaded"
