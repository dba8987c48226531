"""The authorization matrix: every role × object kind × relation (own / other patient / other clinic),
for pages and API, with the expected status asserted for each cell.

Relations are seen from the actor: for staff of clinic X, "own" means a patient of clinic X (patient A),
"other_patient" another patient of clinic X (B — still theirs to see), "other_clinic" patient C of clinic Y.
A role that lacks a function gets 403 before any object is looked up (so it reveals nothing about which ids
exist); otherwise an object outside the actor's scope is 404. Anonymous callers are sent to sign in (pages) or
get 401 (API) whatever they ask for.

``test_every_route_is_in_the_matrix`` fails when a route's view function is neither a cell here nor listed, with
its reason, as covered by a named test or outside the matrix (sign-in pages, the public clinic page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.factories import World, add_photos, api_token, login, small_jpeg

ROLES = ("patient", "practitioner", "clinic_admin")
STAFF_ROLES = frozenset({"practitioner", "clinic_admin"})
ACTOR = {"patient": "a", "practitioner": "prac_x", "clinic_admin": "admin_x"}
RELATIONS = {"own": "a", "other_patient": "b", "other_clinic": "c"}


def visible(role: str, relation: str) -> bool:
    if role == "patient":
        return relation == "own"
    return relation != "other_clinic"


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    url: Callable[[World, str], str]          # (world, owner key) -> url
    staff_only: bool                            # function needs a staff role
    ok: int
    body: Callable[[World, str], dict[str, Any]] | None = None
    only: frozenset[str] | None = None          # the roles that have the function, when not "staff" or "all"

    def roles(self) -> frozenset[str]:
        return self.only or (STAFF_ROLES if self.staff_only else frozenset(ROLES))


PATIENT_ONLY = frozenset({"patient"})
ADMIN_ONLY = frozenset({"clinic_admin"})


def _p(w: World, k: str) -> int:
    return w[k].patient_id  # type: ignore[return-value]


PAGE_CASES = [
    Case("chart", "GET", lambda w, k: f"/patients/{_p(w, k)}", False, 200),
    Case("area page", "GET", lambda w, k: f"/patients/{_p(w, k)}/areas/{w[k].area_id}", False, 200),
    Case("new area form", "GET", lambda w, k: f"/patients/{_p(w, k)}/areas/new", True, 200),
    Case("create area", "POST", lambda w, k: f"/patients/{_p(w, k)}/areas/new", True, 302,
         lambda w, k: {"name": "New area", "body_region": "thighs", "views": ["front"]}),
    Case("new course form", "GET", lambda w, k: f"/patients/{_p(w, k)}/courses/new", True, 200),
    Case("create course", "POST", lambda w, k: f"/patients/{_p(w, k)}/courses/new", True, 302,
         lambda w, k: {"indication": "Striae", "modality": "microneedling", "planned_sessions": "3",
                       "interval_weeks": "4", "start_date": "2026-02-01", "area_ids": [str(w[k].area_id)]}),
    Case("invite patient", "POST", lambda w, k: f"/patients/{_p(w, k)}/invite", True, 302),
    Case("diary", "GET", lambda w, k: f"/outcomes/patients/{_p(w, k)}/diary", False, 200),
    Case("report side effect", "POST", lambda w, k: f"/outcomes/patients/{_p(w, k)}/diary", False, 302,
         lambda w, k: {"kind": "pain", "severity": "mild", "onset": "2026-02-01"}),
    Case("outcomes page", "GET", lambda w, k: f"/outcomes/areas/{w[k].area_id}", False, 200),
    Case("follow-up review", "GET", lambda w, k: f"/outcomes/areas/{w[k].area_id}/review", True, 200),
    Case("decision", "POST", lambda w, k: f"/outcomes/areas/{w[k].area_id}/review", True, 302,
         lambda w, k: {"decision": "complete"}),
    Case("region page", "GET", lambda w, k: f"/outcomes/areas/{w[k].area_id}/region", True, 200),
    Case("gallery proposal form", "GET", lambda w, k: f"/gallery/propose/{w[k].area_id}", True, 200),
    Case("export sessions", "GET", lambda w, k: f"/outcomes/patients/{_p(w, k)}/export/sessions.csv", False, 200),
    Case("export assessments", "GET", lambda w, k: f"/outcomes/patients/{_p(w, k)}/export/assessments.csv", False,
         200),
    Case("staff consent view", "GET", lambda w, k: f"/consent/patients/{_p(w, k)}", True, 200),
    Case("add assessment", "POST", lambda w, k: f"/outcomes/areas/{w[k].area_id}/assessments", False, 400,
         lambda w, k: {"scale": ""}),  # the function is reached: the form says what is missing
    Case("disable account", "POST", lambda w, k: f"/admin/users/{w[k].user_id}/active", True, 302,
         lambda w, k: {"active": "0"}, only=ADMIN_ONLY),
    Case("change role", "POST", lambda w, k: f"/admin/users/{w[k].user_id}/role", True, 302,
         lambda w, k: {"role": "clinic_admin"}, only=ADMIN_ONLY),  # a patient's: found, refused in words
    Case("reset two-step", "POST", lambda w, k: f"/admin/users/{w[k].user_id}/two-factor/reset", True, 302,
         only=ADMIN_ONLY),
]

API_CASES = [
    Case("api patient", "GET", lambda w, k: f"/api/v1/patients/{_p(w, k)}", False, 200),
    Case("api areas", "GET", lambda w, k: f"/api/v1/patients/{_p(w, k)}/areas", False, 200),
    Case("api area", "GET", lambda w, k: f"/api/v1/areas/{w[k].area_id}", False, 200),
    Case("api courses", "GET", lambda w, k: f"/api/v1/patients/{_p(w, k)}/courses", False, 200),
    Case("api course", "GET", lambda w, k: f"/api/v1/courses/{w[k].course_id}", False, 200),
    Case("api create area", "POST", lambda w, k: f"/api/v1/patients/{_p(w, k)}/areas", True, 201,
         lambda w, k: {"name": "API area", "body_region": "back", "views": ["front", "close_up"]}),
    Case("api sessions", "GET", lambda w, k: f"/api/v1/patients/{_p(w, k)}/sessions", False, 200),
    Case("api record session", "POST", lambda w, k: f"/api/v1/patients/{_p(w, k)}/sessions", True, 201,
         lambda w, k: {"course_id": w[k].course_id, "performed_on": "2026-02-01"}),
    Case("api side effects", "GET", lambda w, k: f"/api/v1/patients/{_p(w, k)}/adverse-events", False, 200),
    Case("api report side effect", "POST", lambda w, k: f"/api/v1/patients/{_p(w, k)}/adverse-events", False, 201,
         lambda w, k: {"kind": "redness", "severity": "moderate", "onset": "2026-02-01"}),
    Case("api assessments", "GET", lambda w, k: f"/api/v1/areas/{w[k].area_id}/assessments", False, 200),
    Case("api response", "GET", lambda w, k: f"/api/v1/areas/{w[k].area_id}/response?scale=davey", False, 200),
    Case("api metrics", "GET", lambda w, k: f"/api/v1/areas/{w[k].area_id}/metrics", False, 200),
    Case("api create course", "POST", lambda w, k: f"/api/v1/patients/{_p(w, k)}/courses", True, 201,
         lambda w, k: {"indication": "Striae", "modality": "topical", "planned_sessions": 2, "interval_weeks": 4,
                       "start_date": "2026-03-01", "area_ids": [w[k].area_id]}),
    Case("api record assessment", "POST", lambda w, k: f"/api/v1/areas/{w[k].area_id}/assessments", False, 422,
         lambda w, k: {"scale": "no-such-scale", "assessed_on": "2026-02-01"}),  # reached: the scale is unknown
    Case("api upload photo", "POST", lambda w, k: f"/api/v1/areas/{w[k].area_id}/photos", False, 201,
         lambda w, k: {"file": (__import__("io").BytesIO(small_jpeg(98)), "x.jpg"), "taken_on": "2026-02-02"}),
]


PHOTO_PAGE_CASES = [
    Case("photo page", "GET", lambda w, k: f"/photos/{w[k].photo_id}", False, 200),
    Case("photo thumb", "GET", lambda w, k: f"/photos/{w[k].photo_id}/image/thumb", False, 200),
    Case("photo original", "GET", lambda w, k: f"/photos/{w[k].photo_id}/image/original", False, 200),
    Case("photo status", "GET", lambda w, k: f"/photos/{w[k].photo_id}/status", False, 200),
    Case("photo edit", "POST", lambda w, k: f"/photos/{w[k].photo_id}/edit", False, 302,
         lambda w, k: {"taken_on": "2026-02-02", "note": "edited"}),
    Case("photo upload", "POST", lambda w, k: f"/photos/area/{w[k].area_id}", False, 302,
         lambda w, k: {"file": (__import__("io").BytesIO(small_jpeg(99)), "x.jpg"), "taken_on": "2026-02-02"}),
    Case("photo delete", "POST", lambda w, k: f"/photos/{w[k].photo_id}/delete", False, 302),
    Case("timeline", "GET", lambda w, k: f"/timeline/area/{w[k].area_id}", False, 200),
    Case("compare", "GET", lambda w, k: f"/timeline/area/{w[k].area_id}/compare?before={w[k].photo_id}"
                                        f"&after={w[k].photo_id}", False, 200),
    Case("capture", "GET", lambda w, k: f"/timeline/area/{w[k].area_id}/capture", False, 200),
    Case("pin baseline", "POST", lambda w, k: f"/timeline/photos/{w[k].photo_id}/baseline", True, 302),
    Case("align again", "POST", lambda w, k: f"/timeline/photos/{w[k].photo_id}/align", True, 302),
    Case("record session", "GET", lambda w, k: f"/outcomes/courses/{w[k].course_id}/sessions/new", True, 200),
    Case("photo retry", "POST", lambda w, k: f"/photos/{w[k].photo_id}/retry", False, 302),
]

PHOTO_API_CASES = [
    Case("api photos", "GET", lambda w, k: f"/api/v1/areas/{w[k].area_id}/photos", False, 200),
    Case("api photo", "GET", lambda w, k: f"/api/v1/photos/{w[k].photo_id}", False, 200),
    Case("api display", "GET", lambda w, k: f"/api/v1/photos/{w[k].photo_id}/image/display", False, 200),
    Case("api original", "GET", lambda w, k: f"/api/v1/photos/{w[k].photo_id}/image/original", False, 200),
    Case("api patch photo", "PATCH", lambda w, k: f"/api/v1/photos/{w[k].photo_id}", False, 200,
         lambda w, k: {"note": "changed"}),
    Case("api retry photo", "POST", lambda w, k: f"/api/v1/photos/{w[k].photo_id}/retry", False, 200),
    Case("api delete photo", "DELETE", lambda w, k: f"/api/v1/photos/{w[k].photo_id}", False, 204),
    Case("api timeline", "GET", lambda w, k: f"/api/v1/areas/{w[k].area_id}/timeline", False, 200),
    Case("api aligned", "GET", lambda w, k: f"/api/v1/photos/{w[k].photo_id}/image/aligned", False, 200),
    Case("api pin baseline", "POST", lambda w, k: f"/api/v1/photos/{w[k].photo_id}/baseline", True, 200),
    Case("api align again", "POST", lambda w, k: f"/api/v1/photos/{w[k].photo_id}/align", True, 200),
    # reached: one photo cannot be both before and after (the proposal is refused, nothing is written)
    Case("api gallery proposal", "POST", lambda w, k: f"/api/v1/areas/{w[k].area_id}/gallery-proposals", True, 422,
         lambda w, k: {"before_id": w[k].photo_id, "after_id": w[k].photo_id}),
]

# Records each patient has (set up by ``add_records``): a consent, a gallery proposal awaiting them, a session,
# a side effect; and per clinic a consultation request and a staff invitation (for a, b: clinic X; c: Y).
RECORD_PAGE_CASES = [
    Case("withdraw confirmation", "GET", lambda w, k: f"/consent/{w[k].consent_id}/withdraw", False, 200,
         only=PATIENT_ONLY),
    Case("withdraw consent", "POST", lambda w, k: f"/consent/{w[k].consent_id}/withdraw", False, 302,
         only=PATIENT_ONLY),
    Case("gallery preview", "GET", lambda w, k: f"/gallery/items/{w[k].item_id}/before.jpg", False, 200),
    Case("gallery decision", "POST", lambda w, k: f"/gallery/items/{w[k].item_id}/decide", False, 302,
         lambda w, k: {"approve": "0"}, only=PATIENT_ONLY),
    Case("gallery take down", "POST", lambda w, k: f"/gallery/items/{w[k].item_id}/unpublish", True, 302),
    Case("edit session", "GET", lambda w, k: f"/outcomes/sessions/{w[k].session_id}/edit", True, 200),
    Case("resolve side effect", "POST", lambda w, k: f"/outcomes/events/{w[k].event_id}/resolve", False, 302,
         lambda w, k: {"resolved_on": "2026-02-03"}),
    Case("consultation status", "POST", lambda w, k: f"/gallery/inbox/{w[k].request_id}/status", True, 302,
         lambda w, k: {"status": "contacted"}),
    Case("invite from consultation", "POST", lambda w, k: f"/gallery/inbox/{w[k].request_id}/invite", True, 302),
    Case("revoke invitation", "POST", lambda w, k: f"/admin/invitations/{w[k].invitation_id}/revoke", True, 302,
         only=ADMIN_ONLY),
]

RECORD_API_CASES = [
    Case("api withdraw consent", "POST", lambda w, k: f"/api/v1/me/consents/{w[k].consent_id}/withdraw", False, 200,
         only=PATIENT_ONLY),
    Case("api resolve side effect", "POST", lambda w, k: f"/api/v1/adverse-events/{w[k].event_id}/resolve", False,
         200, lambda w, k: {"resolved_on": "2026-02-03"}),
    Case("api correct session", "PATCH", lambda w, k: f"/api/v1/sessions/{w[k].session_id}", True, 200,
         lambda w, k: {"performed_on": "2026-01-12"}),
    Case("api region", "PUT", lambda w, k: f"/api/v1/areas/{w[k].area_id}/regions/front", True, 200,
         lambda w, k: {"points": [[10, 10], [40, 10], [40, 30], [10, 30]]}),
]


def add_records(world: World) -> None:
    """The records RECORD_*_CASES address (after ``add_photos``)."""
    import secrets
    from datetime import date, timedelta

    from tests.factories import make_session
    from tracker.extensions import db
    from tracker.models import (
        AdverseEvent, Consent, ConsultationRequest, EventKind, GalleryItem, GalleryStatus, Invitation, Patient, Photo,
        Rater, Role, Severity, View, utcnow,
    )
    from tracker.storage_setup import storage

    by_clinic: dict[int, tuple[int, int]] = {}
    for clinic_id, admin in ((world.clinic_x, "admin_x"), (world.clinic_y, "admin_y")):
        request = ConsultationRequest(clinic_id=clinic_id, name=f"Lead {clinic_id}", email=f"lead{clinic_id}@example.com",
                                      consent_to_contact=True)
        invitation = Invitation(clinic_id=clinic_id, email=f"new{clinic_id}@example.com", name="New Person",
                                role=Role.PRACTITIONER, token_hash=secrets.token_hex(32),
                                created_by_id=world[admin].user_id, expires_at=utcnow() + timedelta(days=1))
        db.session.add_all([request, invitation])
        db.session.flush()
        by_clinic[clinic_id] = (request.id, invitation.id)
    for key in ("a", "b", "c"):
        person = world[key]
        patient = db.session.get(Patient, person.patient_id)
        person.consent_id = db.session.scalars(sa_select(Consent.id).where(Consent.patient_id == patient.id)).one()
        item = GalleryItem(clinic_id=patient.clinic_id, patient_id=patient.id, area_id=person.area_id,
                           public_id=secrets.token_hex(16), before_photo_id=person.photo_id,
                           after_photo_id=person.photo_id, caption="Topical: 1 month after", modality="topical",
                           body_region="abdomen", status=GalleryStatus.AWAITING_PATIENT)
        event = AdverseEvent(patient_id=patient.id, area_id=person.area_id, kind=EventKind("pain"),
                             severity=Severity("mild"), onset=date(2026, 2, 1), reporter=Rater.PATIENT)
        db.session.add_all([item, event])
        db.session.flush()
        for side in ("before", "after"):  # as rendered for the patient to decide on
            storage().put(f"gallery/{item.public_id}/{side}.jpg", small_jpeg(7))
        person.item_id, person.event_id = item.id, event.id
        db.session.get(Photo, person.photo_id).view = View.FRONT  # so the front view has a baseline to draw on
        person.session_id = make_session(person.course_id, 1, date(2026, 1, 12)).id
        person.request_id, person.invitation_id = by_clinic[patient.clinic_id]
    db.session.commit()


def sa_select(*args: Any) -> Any:
    import sqlalchemy as sa

    return sa.select(*args)


def expected(case: Case, role: str, relation: str, *, api: bool = False) -> int:
    if role == "anonymous":
        return 401 if api else 302
    if role not in case.roles():
        return 403
    if not visible(role, relation):
        return 404
    return case.ok


def _cells(cases: list[Case]) -> list[Any]:
    return [pytest.param(case, role, rel, id=f"{case.name}-{role}-{rel}")
            for case in cases for role in ROLES for rel in RELATIONS] + \
           [pytest.param(case, "anonymous", "own", id=f"{case.name}-anonymous") for case in cases]


@pytest.mark.parametrize(("case", "role", "relation"), _cells(PAGE_CASES))
def test_page_matrix(client, world, case, role, relation):
    if role != "anonymous":
        login(client, world[ACTOR[role]].email)
    owner = RELATIONS[relation]
    body = case.body(world, owner) if case.body else {}
    response = client.open(case.url(world, owner), method=case.method, data=body,
                           content_type="multipart/form-data" if "file" in body else None)
    assert response.status_code == expected(case, role, relation), response.get_data(as_text=True)[:300]
    if role == "anonymous":
        assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize(("case", "role", "relation"), _cells(PHOTO_PAGE_CASES))
def test_photo_page_matrix(app, client, world, case, role, relation):
    with app.app_context():
        add_photos(world)
    test_page_matrix(client, world, case, role, relation)


@pytest.mark.parametrize(("case", "role", "relation"), _cells(PHOTO_API_CASES))
def test_photo_api_matrix(app, client, world, case, role, relation):
    with app.app_context():
        add_photos(world)
    test_api_matrix(client, world, case, role, relation)


@pytest.mark.parametrize(("case", "role", "relation"), _cells(RECORD_PAGE_CASES))
def test_record_page_matrix(app, client, world, case, role, relation):
    with app.app_context():
        add_photos(world)
        add_records(world)
    test_page_matrix(client, world, case, role, relation)


@pytest.mark.parametrize(("case", "role", "relation"), _cells(RECORD_API_CASES))
def test_record_api_matrix(app, client, world, case, role, relation):
    with app.app_context():
        add_photos(world)
        add_records(world)
    test_api_matrix(client, world, case, role, relation)


@pytest.mark.parametrize(("case", "role", "relation"), _cells(API_CASES))
def test_api_matrix(client, world, case, role, relation):
    headers = api_token(client, world[ACTOR[role]].email) if role != "anonymous" else {}
    owner = RELATIONS[relation]
    kwargs: dict[str, Any] = {"headers": headers}
    if case.body:
        body = case.body(world, owner)
        if "file" in body:
            kwargs.update(data=body, content_type="multipart/form-data")
        else:
            kwargs["json"] = body
    response = client.open(case.url(world, owner), method=case.method, **kwargs)
    assert response.status_code == expected(case, role, relation, api=True), response.data[:300]
    if response.status_code >= 400:
        assert set(response.get_json()["error"]) >= {"code", "message"}


GRANT_FORM = {"gallery-scope": "gallery", "gallery-text_version": "1", "gallery-agree": "y",
              "gallery-signature_name": "Patient A"}

FUNCTION_PAGES = [
    ("GET", "/", {"patient": 200, "practitioner": 302, "clinic_admin": 302}),  # staff's home is the patient list
    ("GET", "/consent/", {"patient": 200, "practitioner": 302, "clinic_admin": 302}),  # staff: to the patients
    ("POST", "/consent/grant/gallery", {"patient": 302, "practitioner": 403, "clinic_admin": 403}, GRANT_FORM),
    ("POST", "/consent/grant/gallery", {"patient": 400, "practitioner": 403, "clinic_admin": 403}, {}),
    ("POST", "/admin/settings/scales", {"patient": 403, "practitioner": 403, "clinic_admin": 400}),
    ("POST", "/admin/two-factor-policy", {"patient": 403, "practitioner": 403, "clinic_admin": 302}),
    ("GET", "/gallery/", {"patient": 200, "practitioner": 200, "clinic_admin": 200}),  # each sees their own items
    ("GET", "/gallery/inbox", {"patient": 403, "practitioner": 200, "clinic_admin": 200}),
    ("GET", "/audit/", {"patient": 403, "practitioner": 403, "clinic_admin": 200}),
    ("GET", "/audit/me", {"patient": 200, "practitioner": 403, "clinic_admin": 403}),
    ("GET", "/consent/texts", {"patient": 403, "practitioner": 403, "clinic_admin": 200}),
    ("GET", "/outcomes/cohort", {"patient": 403, "practitioner": 200, "clinic_admin": 200}),
    ("GET", "/outcomes/blinded", {"patient": 403, "practitioner": 200, "clinic_admin": 200}),
    ("GET", "/admin/settings", {"patient": 403, "practitioner": 403, "clinic_admin": 200}),
    ("GET", "/outcomes/export/sessions.csv", {"patient": 403, "practitioner": 403, "clinic_admin": 200}),
    ("GET", "/patients/", {"patient": 403, "practitioner": 200, "clinic_admin": 200}),
    ("GET", "/patients/new", {"patient": 403, "practitioner": 200, "clinic_admin": 200}),
    ("GET", "/admin/staff", {"patient": 403, "practitioner": 403, "clinic_admin": 200}),
    ("POST", "/admin/invitations", {"patient": 403, "practitioner": 403, "clinic_admin": 400}),
]


FUNCTION_PAGES = [entry if len(entry) == 4 else (*entry, None) for entry in FUNCTION_PAGES]

# Functions without an object in the URL, through the API (anonymous: 401).
API_FUNCTIONS = [
    ("GET", "/api/v1/me", {"patient": 200, "practitioner": 200, "clinic_admin": 200}, None),
    ("GET", "/api/v1/scales", {"patient": 200, "practitioner": 200, "clinic_admin": 200}, None),
    ("GET", "/api/v1/me/consents", {"patient": 200, "practitioner": 200, "clinic_admin": 200}, None),  # staff: []
    ("POST", "/api/v1/me/consents", {"patient": 201, "practitioner": 403, "clinic_admin": 403},
     {"scope": "gallery", "text_version": 1, "signature_name": "Patient A"}),
    ("POST", "/api/v1/me/consents", {"patient": 422, "practitioner": 403, "clinic_admin": 403}, {"scope": 7}),
    ("DELETE", "/api/v1/tokens/current", {"patient": 204, "practitioner": 204, "clinic_admin": 204}, None),
    ("GET", "/api/v1/audit", {"patient": 403, "practitioner": 403, "clinic_admin": 200}, None),
    ("GET", "/api/v1/audit?action=photo.&since=2026-01-01", {"patient": 403, "practitioner": 403, "clinic_admin": 200},
     None),
]


@pytest.mark.parametrize(("method", "url", "by_role", "body"), FUNCTION_PAGES)
@pytest.mark.parametrize("role", (*ROLES, "anonymous"))
def test_function_level_pages(client, world, method, url, by_role, body, role):
    if role != "anonymous":
        login(client, world[ACTOR[role]].email)
    response = client.open(url, method=method, data=body or {})
    if role == "anonymous":
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    else:
        assert response.status_code == by_role[role], response.get_data(as_text=True)[:300]


@pytest.mark.parametrize(("method", "url", "by_role", "body"), API_FUNCTIONS)
@pytest.mark.parametrize("role", (*ROLES, "anonymous"))
def test_function_level_api(client, world, method, url, by_role, body, role):
    headers = api_token(client, world[ACTOR[role]].email) if role != "anonymous" else {}
    response = client.open(url, method=method, headers=headers, json=body)
    assert response.status_code == (401 if role == "anonymous" else by_role[role]), response.data[:300]
    if url == "/api/v1/me/consents" and method == "GET" and role in STAFF_ROLES:
        assert response.get_json() == []


@pytest.mark.parametrize("role", ROLES)
def test_api_create_patient_by_role(client, world, role):
    headers = api_token(client, world[ACTOR[role]].email)
    response = client.post("/api/v1/patients", json={"full_name": "Via API"}, headers=headers)
    assert response.status_code == (403 if role == "patient" else 201)


@pytest.mark.parametrize("role", ROLES)
def test_api_patient_list_is_scoped(client, world, role):
    headers = api_token(client, world[ACTOR[role]].email)
    response = client.get("/api/v1/patients", headers=headers)
    ids = {p["id"] for p in response.get_json()}
    if role == "patient":
        assert ids == {world["a"].patient_id}
    else:
        assert ids == {world["a"].patient_id, world["b"].patient_id}
    assert response.headers["X-Total-Count"] == str(len(ids))


def test_staff_list_never_shows_other_clinic(client, world):
    login(client, world["prac_x"].email)
    page = client.get("/patients/?q=Patient").get_data(as_text=True)
    assert "Patient A" in page and "Patient B" in page and "Patient C" not in page


@pytest.mark.parametrize("target", ["user", "invitation"])
def test_admin_cannot_touch_another_clinics_staff(app, client, world, outbox, target):
    other = app.test_client()
    login(other, world["admin_y"].email)
    other.post("/admin/invitations", data={"name": "Y Person", "email": "yp@example.com", "role": "practitioner"})
    login(client, world["admin_x"].email)
    if target == "user":
        url = f"/admin/users/{world['prac_y'].user_id}/active"
        response = client.post(url, data={"active": "0"})
        assert response.status_code == 404
        assert client.post(f"/admin/users/{world['prac_y'].user_id}/role", data={"role": "clinic_admin"}
                           ).status_code == 404
        assert client.post(f"/admin/users/{world['a'].user_id}/role", data={"role": "clinic_admin"}
                           ).status_code == 302  # own clinic's patient: found, but refused in words
    else:
        assert client.post("/admin/invitations/1/revoke").status_code == 404
    login(other, world["prac_y"].email)
    assert other.get("/patients/").status_code == 200, "clinic Y's practitioner still active"


def test_admin_cannot_make_a_patient_staff(app, client, world):
    login(client, world["admin_x"].email)
    client.post(f"/admin/users/{world['a'].user_id}/role", data={"role": "clinic_admin"})
    patient = app.test_client()
    login(patient, world["a"].email)
    assert patient.get("/admin/staff").status_code == 403


def test_nested_ids_must_belong_together(client, world):
    login(client, world["prac_x"].email)
    mine, other = world["a"], world["b"]
    assert client.get(f"/patients/{mine.patient_id}/areas/{other.area_id}").status_code == 404
    assert client.get(f"/patients/{mine.patient_id}/areas/{mine.area_id}").status_code == 200


def test_course_cannot_link_another_patients_area(client, world):
    headers = api_token(client, world["prac_x"].email)
    response = client.post(f"/api/v1/patients/{world['a'].patient_id}/courses", headers=headers, json={
        "indication": "Striae", "modality": "topical", "planned_sessions": 2, "interval_weeks": 4,
        "start_date": "2026-03-01", "area_ids": [world["b"].area_id]})
    assert response.status_code == 422
    assert "area_ids" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("url", ["/patients/", "/patients/1", "/patients/1/areas/1", "/admin/staff", "/"])
def test_anonymous_pages_go_to_sign_in(client, world, url):
    response = client.get(url)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("url", ["/api/v1/me", "/api/v1/patients", "/api/v1/patients/1", "/api/v1/areas/1",
                                 "/api/v1/courses/1", "/api/v1/patients/1/areas"])
@pytest.mark.parametrize("auth", [None, "Bearer nonsense", "Basic abc", "Bearer "])
def test_api_without_valid_token_is_401_json(client, world, url, auth):
    headers = {"Authorization": auth} if auth else {}
    response = client.get(url, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_api_ignores_the_browser_session(client, world):
    login(client, world["prac_x"].email)
    assert client.get("/api/v1/me").status_code == 401


# --- every route is in the matrix ----------------------------------------------------------------------------

# Routes whose access is asserted by a named test of this module rather than a matrix cell.
COVERED_BY_TESTS = {
    "api.list_patients": "test_api_patient_list_is_scoped",
    "api.create_patient": "test_api_create_patient_by_role",
}

# Routes outside the matrix, each with the reason: nobody is signed in yet, or it is public by design.
OUTSIDE_THE_MATRIX = {
    "static": "our own CSS and JavaScript",
    "main.healthz": "the load balancer's health check: public, says nothing about data",
    "api.openapi": "the public API description",
    "api.create_token": "signing in (test_auth.py, test_api.py)",
    "api.consent_texts": "a clinic's published consent texts are public (test_consent_gallery.py)",
    "api.public_gallery": "the public gallery feed: published, consented items only (test_consent_gallery.py)",
    "public.clinic_page": "the public clinic page (test_consent_gallery.py, test_gallery_withdrawal.py)",
    "public.consultation": "the public consultation form (test_consent_gallery.py)",
    "public.gallery_image": "public images of published items (test_consent_gallery.py, test_gallery_withdrawal.py)",
    **{f"auth.{name}": "signing in or the signed-in user's own account (test_auth.py, test_two_factor.py, "
                       "test_reauthentication.py)"
       for name in ("login", "logout", "join", "accept_invitation", "request_reset", "reset_password",
                    "choose_password", "change_password", "reauthenticate", "two_step", "two_factor_page",
                    "two_factor_confirm", "two_factor_off", "two_factor_qr", "two_factor_new_codes",
                    "two_factor_start")},
}


def _any_ids_world() -> World:
    """A world whose every id is 1: enough to build each case's URL and match it to its route."""
    from tests.factories import Person

    world = World(1, 1)
    for key in ("a", "b", "c", *ACTOR.values(), "admin_y", "prac_y"):
        person = Person(f"{key}@example.com", 1, 1, 1, 1, 1)
        for extra in ("consent_id", "item_id", "session_id", "event_id", "request_id", "invitation_id"):
            setattr(person, extra, 1)
        world.people[key] = person
    return world


def _matrix_endpoints(app: Any) -> set[str]:
    world = _any_ids_world()
    adapter = app.url_map.bind("tracker.test")
    requests = [(c.method, c.url(world, "a")) for c in (
        PAGE_CASES + API_CASES + PHOTO_PAGE_CASES + PHOTO_API_CASES + RECORD_PAGE_CASES + RECORD_API_CASES)]
    requests += [(method, url) for method, url, _by_role, _body in FUNCTION_PAGES + API_FUNCTIONS]
    return {adapter.match(url.partition("?")[0], method=method)[0] for method, url in requests}


def test_every_route_is_in_the_matrix(app):
    """A new route fails here until it has a cell in the matrix (or a named test, or a reason to be outside)."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    covered = _matrix_endpoints(app)
    missing = endpoints - covered - set(COVERED_BY_TESTS) - set(OUTSIDE_THE_MATRIX)
    assert not missing, f"routes with no authorization cell: {sorted(missing)}"
    assert not (set(COVERED_BY_TESTS) | set(OUTSIDE_THE_MATRIX)) - endpoints, "listed routes that no longer exist"
    assert not covered & set(OUTSIDE_THE_MATRIX), "a route in the matrix is also listed as outside it"
    assert all(callable(globals().get(name)) for name in COVERED_BY_TESTS.values())



@pytest.mark.parametrize("owner", ["b", "c", "none"])
def test_a_session_on_a_course_that_is_not_this_patients_is_422_naming_the_field(app, client, world, owner):
    """The course id in the body is a nested id: another patient's (same clinic), another clinic's, or no course
    at all get the API's one documented answer, and nothing is recorded."""
    import sqlalchemy as sa

    from tracker.extensions import db
    from tracker.models import TreatmentSession

    headers = api_token(client, world["prac_x"].email)
    course_id = 999_999 if owner == "none" else world[owner].course_id
    response = client.post(f"/api/v1/patients/{world['a'].patient_id}/sessions", headers=headers,
                           json={"course_id": course_id, "performed_on": "2026-02-01"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["message"] == "Choose one of this patient's courses." and "course_id" in error["fields"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TreatmentSession)) == 0
    mine = client.post(f"/api/v1/patients/{world['a'].patient_id}/sessions", headers=headers,
                       json={"course_id": world["a"].course_id, "performed_on": "2026-02-01"})
    assert mine.status_code == 201


def test_a_gallery_proposal_for_another_area_is_404_and_writes_nothing(app, client, world):
    """Photos of one area proposed under another area's URL: refused before anything is rendered or stored."""
    import sqlalchemy as sa

    from tracker.extensions import db
    from tracker.models import GalleryItem

    with app.app_context():
        add_photos(world)
    headers = api_token(client, world["prac_x"].email)
    response = client.post(f"/api/v1/areas/{world['b'].area_id}/gallery-proposals", headers=headers,
                           json={"before_id": world["a"].photo_id, "after_id": world["a"].photo_id})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(GalleryItem)) == 0
        assert not list(app.extensions["tracker_storage"].entries("gallery/"))
