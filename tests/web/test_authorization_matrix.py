"""The authorization matrix: every role × object kind × relation (own / other patient / other clinic),
for pages and API, with the expected status asserted for each cell.

Relations are seen from the actor: for staff of clinic X, "own" means a patient of clinic X (patient A),
"other_patient" another patient of clinic X (B — still theirs to see), "other_clinic" patient C of clinic Y.
A role that lacks a function gets 403 before any object is looked up (so it reveals nothing about which ids
exist); otherwise an object outside the actor's scope is 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.factories import World, add_photos, api_token, login, small_jpeg

ROLES = ("patient", "practitioner", "clinic_admin")
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
]


def expected(case: Case, role: str, relation: str) -> int:
    if case.staff_only and role == "patient":
        return 403
    if not visible(role, relation):
        return 404
    return case.ok


def _cells(cases: list[Case]) -> list[Any]:
    return [pytest.param(case, role, rel, id=f"{case.name}-{role}-{rel}")
            for case in cases for role in ROLES for rel in RELATIONS]


@pytest.mark.parametrize(("case", "role", "relation"), _cells(PAGE_CASES))
def test_page_matrix(client, world, case, role, relation):
    login(client, world[ACTOR[role]].email)
    owner = RELATIONS[relation]
    body = case.body(world, owner) if case.body else {}
    response = client.open(case.url(world, owner), method=case.method, data=body,
                           content_type="multipart/form-data" if "file" in body else None)
    assert response.status_code == expected(case, role, relation), response.get_data(as_text=True)[:300]


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


@pytest.mark.parametrize(("case", "role", "relation"), _cells(API_CASES))
def test_api_matrix(client, world, case, role, relation):
    headers = api_token(client, world[ACTOR[role]].email)
    owner = RELATIONS[relation]
    kwargs: dict[str, Any] = {"headers": headers}
    if case.body:
        kwargs["json"] = case.body(world, owner)
    response = client.open(case.url(world, owner), method=case.method, **kwargs)
    assert response.status_code == expected(case, role, relation), response.data[:300]
    if response.status_code >= 400:
        assert set(response.get_json()["error"]) >= {"code", "message"}


FUNCTION_PAGES = [
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


@pytest.mark.parametrize(("method", "url", "by_role"), FUNCTION_PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_function_level_pages(client, world, method, url, by_role, role):
    login(client, world[ACTOR[role]].email)
    assert client.open(url, method=method).status_code == by_role[role]


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


FUNCTION_API = [
    ("GET", "/api/v1/audit", {"patient": 403, "practitioner": 403, "clinic_admin": 200}),
    ("GET", "/api/v1/audit?action=photo.&since=2026-01-01", {"patient": 403, "practitioner": 403, "clinic_admin": 200}),
]


@pytest.mark.parametrize(("method", "url", "by_role"), FUNCTION_API)
@pytest.mark.parametrize("role", ROLES)
def test_function_level_api(client, world, method, url, by_role, role):
    headers = api_token(client, world[ACTOR[role]].email)
    assert client.open(url, method=method, headers=headers).status_code == by_role[role]
    assert client.open(url, method=method).status_code == 401
