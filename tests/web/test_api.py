"""The JSON API: shapes promised to clients, validation, and errors that are always JSON."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.factories import PASSWORD, api_token
from tracker.extensions import db
from tracker.models import Patient, TreatmentArea, TreatmentCourse


def count(app, model):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_me_for_staff_and_patient(client, world):
    me = client.get("/api/v1/me", headers=api_token(client, world["prac_x"].email)).get_json()
    assert me == {"id": world["prac_x"].user_id, "email": world["prac_x"].email, "name": "Prac_X",
                  "role": "practitioner", "clinic_id": world.clinic_x, "patient_id": None}
    me = client.get("/api/v1/me", headers=api_token(client, world["a"].email)).get_json()
    assert me["role"] == "patient" and me["patient_id"] == world["a"].patient_id


def test_token_with_bad_credentials_is_401_json(client, world):
    response = client.post("/api/v1/tokens", json={"email": world["a"].email, "password": "nope nope"})
    assert response.status_code == 401
    assert response.get_json() == {"error": {"code": "unauthorized", "message": "Invalid email or password."}}


@pytest.mark.parametrize(("body", "content_type", "status"), [
    (b'{"email": "a@example.com"', "application/json", 400),
    (b"email=a&password=b", "application/x-www-form-urlencoded", 415),
    (b'["a", "b"]', "application/json", 422),
    (b'{"email": 1, "password": 2}', "application/json", 422),
])
def test_token_request_bad_input(client, world, body, content_type, status):
    response = client.post("/api/v1/tokens", data=body, content_type=content_type)
    assert response.status_code == status
    assert "error" in response.get_json()


def test_token_endpoint_is_rate_limited(client, world):
    statuses = [client.post("/api/v1/tokens", json={"email": world["a"].email, "password": "wrong pass"}).status_code
                for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429


def test_create_patient_area_course_round_trip(app, client, world, staff):
    patient = client.post("/api/v1/patients", headers=staff, json={
        "full_name": "  Maria Api ", "email": "Maria@Example.com", "date_of_birth": "1990-05-17", "fitzpatrick": 4,
        "external_ref": "MRN-7"})
    assert patient.status_code == 201
    body = patient.get_json()
    assert body["full_name"] == "Maria Api" and body["email"] == "maria@example.com"
    assert body["date_of_birth"] == "1990-05-17" and body["fitzpatrick"] == 4 and body["clinic_id"] == world.clinic_x
    assert patient.headers["Location"].endswith(f"/api/v1/patients/{body['id']}")
    area = client.post(f"/api/v1/patients/{body['id']}/areas", headers=staff, json={
        "name": "Abdomen – lower left", "body_region": "abdomen", "views": ["close_up", "front"]})
    assert area.status_code == 201
    area_body = area.get_json()
    assert area_body["views"] == ["front", "close_up"] and area_body["body_region"] == "abdomen"
    course = client.post(f"/api/v1/patients/{body['id']}/courses", headers=staff, json={
        "indication": "Striae distensae", "modality": "stem_cell_injection", "planned_sessions": 3,
        "interval_weeks": 6, "start_date": "2026-01-10", "area_ids": [area_body["id"]]})
    assert course.status_code == 201, course.get_json()
    assert course.get_json()["area_ids"] == [area_body["id"]]
    listed = client.get(f"/api/v1/patients/{body['id']}/courses", headers=staff).get_json()
    assert [c["id"] for c in listed] == [course.get_json()["id"]]
    assert client.get(f"/api/v1/areas/{area_body['id']}", headers=staff).get_json() == area_body


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "full_name"),
    ({"full_name": ""}, "full_name"),
    ({"full_name": "x" * 201}, "full_name"),
    ({"full_name": "Ok", "email": "not-an-email"}, "email"),
    ({"full_name": "Ok", "date_of_birth": "2999-01-01"}, "date_of_birth"),
    ({"full_name": "Ok", "date_of_birth": "17/05/1990"}, "date_of_birth"),
    ({"full_name": "Ok", "fitzpatrick": 7}, "fitzpatrick"),
    ({"full_name": "Ok", "clinic_id": 2}, "clinic_id"),
    ({"full_name": "Ok", "role": "clinic_admin"}, "role"),
    ({"full_name": {"nested": 1}}, "full_name"),
])
def test_create_patient_validation(app, client, world, staff, payload, field):
    before = count(app, Patient)
    response = client.post("/api/v1/patients", headers=staff, json=payload)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert count(app, Patient) == before


def test_duplicate_patient_email_is_409(app, client, world, staff):
    response = client.post("/api/v1/patients", headers=staff, json={"full_name": "Dup", "email": world["a"].email})
    assert response.status_code == 409 and response.get_json()["error"]["fields"]["email"]


@pytest.mark.parametrize(("payload", "field"), [
    ({"body_region": "abdomen"}, "name"),
    ({"name": "X", "body_region": "elbow"}, "body_region"),
    ({"name": "X", "body_region": "abdomen", "views": ["top"]}, "views"),
    ({"name": "X", "body_region": "abdomen", "patient_id": 3}, "patient_id"),
])
def test_create_area_validation(app, client, world, staff, payload, field):
    before = count(app, TreatmentArea)
    response = client.post(f"/api/v1/patients/{world['a'].patient_id}/areas", headers=staff, json=payload)
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]
    assert count(app, TreatmentArea) == before


def test_duplicate_area_name_is_409(client, world, staff):
    response = client.post(f"/api/v1/patients/{world['a'].patient_id}/areas", headers=staff,
                           json={"name": "Abdomen – lower left", "body_region": "abdomen"})
    assert response.status_code == 409


def test_area_views_default_to_front(client, world, staff):
    response = client.post(f"/api/v1/patients/{world['a'].patient_id}/areas", headers=staff,
                           json={"name": "Back", "body_region": "back"})
    assert response.get_json()["views"] == ["front"]


@pytest.mark.parametrize(("change", "field"), [
    ({"planned_sessions": 0}, "planned_sessions"),
    ({"planned_sessions": 21}, "planned_sessions"),
    ({"interval_weeks": 0}, "interval_weeks"),
    ({"modality": "magic"}, "modality"),
    ({"start_date": "2026-13-01"}, "start_date"),
    ({"area_ids": []}, "area_ids"),
    ({"area_ids": [999999]}, "area_ids"),
    ({"indication": ""}, "indication"),
])
def test_create_course_validation(app, client, world, staff, change, field):
    payload = {"indication": "Striae", "modality": "topical", "planned_sessions": 2, "interval_weeks": 4,
               "start_date": "2026-03-01", "area_ids": [world["a"].area_id], **change}
    before = count(app, TreatmentCourse)
    response = client.post(f"/api/v1/patients/{world['a'].patient_id}/courses", headers=staff, json=payload)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert count(app, TreatmentCourse) == before


def test_patient_search_pagination_and_sort_allow_list(app, client, world, staff):
    for i in range(25):
        client.post("/api/v1/patients", headers=staff, json={"full_name": f"Zed {i:02d}"})
    page1 = client.get("/api/v1/patients?q=zed&per_page=10&sort=-name", headers=staff)
    assert page1.headers["X-Total-Count"] == "25"
    names = [p["full_name"] for p in page1.get_json()]
    assert names == [f"Zed {i:02d}" for i in range(24, 14, -1)]
    page3 = client.get("/api/v1/patients?q=zed&per_page=10&page=3", headers=staff).get_json()
    assert len(page3) == 5
    bad = client.get("/api/v1/patients?sort=full_name;DROP TABLE patients", headers=staff)
    assert bad.status_code == 422
    assert count(app, Patient) == 28


@pytest.mark.parametrize("q", ["%", "_", "' OR 1=1 --", "\\", "\"; DROP TABLE patients; --", "Patient%A"])
def test_search_metacharacters_are_literal(client, world, staff, q):
    response = client.get("/api/v1/patients", query_string={"q": q}, headers=staff)
    assert response.status_code == 200
    assert response.get_json() == []


def test_unknown_api_path_and_method_are_json(client, world, staff):
    response = client.get("/api/v1/nothing-here", headers=staff)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    response = client.put("/api/v1/me", headers=staff)
    assert response.status_code == 405 and response.is_json


def test_server_error_is_json_without_a_trace(app, client, world, staff, monkeypatch):
    from tracker.patients import services

    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "search_patients", boom)
    response = client.get("/api/v1/patients", headers=staff)
    assert response.status_code == 500
    assert "secret internals" not in response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "internal_error"


def test_password_is_never_echoed(client, world):
    response = client.post("/api/v1/tokens", json={"email": world["a"].email, "password": PASSWORD + "x"})
    assert PASSWORD not in response.get_data(as_text=True)
