"""Input no server can store or parse is refused at the edge (issue 11, defect 4), for every route at once:
ids beyond our columns (404), deeply nested or oversized JSON (400/413), text with a NUL or an unpaired surrogate
(422 naming the field) — never a 500, nothing stored. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import api_token, login
from tracker.api.openapi import build_spec
from tracker.extensions import db
from tracker.request_guard import MAX_ID, MAX_JSON_DEPTH

TOO_BIG_IDS = ["1166194733871490289106944", str(2**63), str(2**31), "9" * 5000, "\u0663"]  # the last: Arabic 3
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
BAD_TEXT = {"surrogate": "ok\ud800", "nul": "ok\x00go"}
SPEC = build_spec()


def _rows(app) -> int:
    with app.app_context():
        return sum(db.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
                   for table in db.metadata.sorted_tables)


def _fill(rule: str, world: Any, ident: str | None = None) -> str:
    """A concrete path for a rule: ``ident`` for every int variable (or the world's ids), a word for the rest."""
    a = world["a"]
    known = {"patient_id": a.patient_id, "area_id": a.area_id, "course_id": a.course_id}

    def one(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        if converter == "int":
            return ident if ident is not None else str(known.get(name, 1))
        return {"view": "front", "variant": "thumb", "side": "before", "kind": "sessions", "scope": "care",
                "slug": "clinic-x"}.get(name, "x")

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", one, rule)


def _clients(app, world):
    web = app.test_client()
    login(web, world["admin_x"].email)
    return web, api_token(app.test_client(), world["admin_x"].email)


def _call(app, web, bearer, path: str, method: str, **kwargs: Any):
    if path.startswith("/api/"):
        return app.test_client().open(path, method=method, headers=bearer, **kwargs)
    return web.open(path, method=method, **kwargs)


# --- ids --------------------------------------------------------------------------------------------

def _id_rules(app):
    return [(rule.rule, method) for rule in app.url_map.iter_rules() if "<int:" in rule.rule
            for method in sorted((rule.methods or set()) & METHODS)]


@pytest.mark.parametrize("ident", TOO_BIG_IDS)
def test_every_route_with_an_id_answers_404_for_an_id_we_cannot_have(app, world, ident):
    web, bearer = _clients(app, world)
    rules = _id_rules(app)
    assert len(rules) > 50
    answers = {(rule, method): _call(app, web, bearer, _fill(rule, world, ident), method).status_code
               for rule, method in rules}
    assert {key: status for key, status in answers.items() if status != 404} == {}


def test_the_largest_id_we_can_have_is_an_ordinary_not_found(app, world):
    web, bearer = _clients(app, world)
    answers = {(rule, method): _call(app, web, bearer, _fill(rule, world, str(MAX_ID)), method).status_code
               for rule, method in _id_rules(app)}
    # 404 (no such row), 403 (the role lacks the function: decided before any lookup), or the password prompt.
    assert {key: status for key, status in answers.items() if status not in (302, 403, 404)} == {}


def test_load_refuses_ids_beyond_our_columns_without_a_query(app, world):
    from tracker.errors import NotFound
    from tracker.models import Patient, User
    from tracker.security import load

    with app.app_context():
        user = db.session.get(User, world["prac_x"].user_id)
        for ident in (MAX_ID + 1, 2**64, -1, 0, "12" * 3000, None, "x", 1.5e300):
            with pytest.raises(NotFound):
                load(Patient, ident, user)


def _query_names() -> set[str]:
    """Every query parameter the code reads, found in its source."""
    root = Path(__file__).resolve().parents[2] / "tracker"
    names: set[str] = set()
    for path in root.rglob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r"request\.args\.get\(\s*\"(\w+)\"", text))
        names |= set(re.findall(r"(?:int_arg|id_arg|_date)\(\s*\"(\w+)\"", text))
    return names


@pytest.mark.parametrize("value", ["1166194733871490289106944", str(2**31), "-5", "9" * 5000, "\u0663", "1e9"])
def test_no_query_parameter_makes_a_page_fail(app, world, value):
    names = _query_names()
    assert {"page", "per_page", "patient", "q"} <= names
    web, bearer = _clients(app, world)
    query = "&".join(f"{name}={value}" for name in sorted(names))
    failures = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.rule.startswith("/static"):
            continue
        status = _call(app, web, bearer, f"{_fill(rule.rule, world)}?{query}", "GET").status_code
        if status >= 500:
            failures[rule.rule] = status
    assert failures == {}


# --- JSON -------------------------------------------------------------------------------------------

def _json_operations():
    for path, operations in SPEC["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {}) if isinstance(operation, dict) else {}
            if "application/json" in content:
                yield method.upper(), path, content["application/json"]["schema"]


def _spec_path(path: str, world: Any) -> str:
    return _fill(re.sub(r"\{(\w+)\}", r"<int:\1>", path).replace("<int:view>", "<view>"), world)


JSON_OPERATIONS = list(_json_operations())
DEEP = {
    "unclosed brackets": "[" * 5000,
    "a valid array nested 1,000 deep": "[" * 1000 + "]" * 1000,
    "objects nested 1,000 deep": '{"a":' * 1000 + "1" + "}" * 1000,
    "one level too deep": '{"full_name": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}",
    "deep inside a string is fine, but not after it": '{"x": "[[[[\\"]]"' + ", \"y\": " + "[" * 100 + "]" * 100
                                                      + "}",
}


def test_every_json_operation_is_walked():
    assert len(JSON_OPERATIONS) >= 12


@pytest.mark.parametrize("body", DEEP)
def test_deep_json_is_refused_before_parsing_on_every_json_endpoint(app, world, body):
    web, bearer = _clients(app, world)
    before = _rows(app)
    failures = {}
    for method, path, _ in JSON_OPERATIONS:
        response = _call(app, web, bearer, _spec_path(path, world), method, data=DEEP[body],
                         content_type="application/json")
        error = (response.get_json(silent=True) or {}).get("error", {})
        if response.status_code != 400 or error.get("code") != "too_deep" or not error.get("message"):
            failures[(method, path)] = (response.status_code, error)
    assert failures == {}
    assert _rows(app) == before


def test_json_nesting_within_the_limit_and_brackets_in_strings_are_fine(app, world):
    _, bearer = _clients(app, world)
    patient = app.test_client().post("/api/v1/patients", headers=bearer, data='{"full_name": "[[[[{{{{ \\" [[["}',
                                     content_type="application/json")
    assert patient.status_code == 201 and patient.get_json()["full_name"] == '[[[[{{{{ " [[['
    shallow = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    answer = app.test_client().post("/api/v1/patients", headers=bearer, data=shallow, content_type="application/json")
    assert answer.status_code == 422, "parsed, then refused as not an object"


def test_oversized_json_is_refused(app, world):
    _, bearer = _clients(app, world)
    body = '{"full_name": "' + "x" * (1024 * 1024) + '"}'
    answer = app.test_client().post("/api/v1/patients", headers=bearer, data=body, content_type="application/json")
    assert answer.status_code == 413 and answer.get_json()["error"]["code"] == "too_large"


# --- text that cannot be stored ---------------------------------------------------------------------------

def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _resolve(SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
    return schema


def _string_fields(schema: dict[str, Any]):
    for name, prop in _resolve(schema).get("properties", {}).items():
        prop = _resolve(prop)
        kinds = [prop.get("type")] + [_resolve(option).get("type") for option in prop.get("anyOf", [])]
        if "string" in kinds or (prop.get("type") == "array" and _resolve(prop.get("items", {})).get("type")
                                 == "string"):
            yield name, prop.get("type") == "array"


STRING_FIELDS = [(method, path, name, is_list) for method, path, schema in JSON_OPERATIONS
                 for name, is_list in _string_fields(schema)]


def test_the_json_string_fields_are_walked():
    assert len(STRING_FIELDS) >= 22


@pytest.mark.parametrize("bad", BAD_TEXT)
def test_unstorable_text_in_any_json_string_field_is_refused_naming_it(app, world, bad):
    web, bearer = _clients(app, world)
    before = _rows(app)
    failures = {}
    for method, path, name, is_list in STRING_FIELDS:
        text = BAD_TEXT[bad]
        response = _call(app, web, bearer, _spec_path(path, world), method, json={name: [text] if is_list else text})
        fields = (response.get_json(silent=True) or {}).get("error", {}).get("fields", {})
        expected = f"{name}[0]" if is_list else name
        if response.status_code != 422 or expected not in fields:
            failures[(method, path, name)] = (response.status_code, fields)
    assert failures == {}
    assert _rows(app) == before


def test_unstorable_text_in_a_key_or_nested_value_is_refused(app, world):
    _, bearer = _clients(app, world)
    answer = app.test_client().post("/api/v1/patients", headers=bearer,
                                    json={"full_name": "Ok", "bad\x00key": 1, "crop": [{"x": "\ud83d"}]})
    assert answer.status_code == 422
    assert set(answer.get_json()["error"]["fields"]) == {"bad?key", "crop[0].x"}


def _post_rules(app):
    return [rule.rule for rule in app.url_map.iter_rules()
            if "POST" in (rule.methods or ()) and not rule.rule.startswith("/api/")]


def test_a_nul_in_any_html_form_is_refused_and_nothing_is_stored(app, world):
    web, _ = _clients(app, world)
    before = _rows(app)
    rules = _post_rules(app)
    assert len(rules) > 30
    failures = {}
    for rule in rules:
        response = web.post(_fill(rule, world), data={"name": "Ok\x00", "full_name": "Ok"})
        if response.status_code != 422 or "cannot be stored" not in response.get_data(as_text=True):
            failures[rule] = response.status_code
    assert failures == {}
    assert _rows(app) == before


def test_a_nul_in_the_patient_form_names_the_field_and_keeps_the_user_where_they_are(app, world):
    web, _ = _clients(app, world)
    before = _rows(app)
    page = web.post("/patients/new", data={"full_name": "Maria\x00", "email": "maria@example.com"})
    assert page.status_code == 422 and "cannot be stored" in page.get_data(as_text=True)
    assert _rows(app) == before
    answer = web.post("/patients/new", data={"full_name": "Maria"}, headers={"Accept": "application/json"})
    assert answer.status_code == 302


def test_a_nul_in_a_query_path_or_header_is_refused(app, world):
    web, bearer = _clients(app, world)
    search = web.get("/patients/?q=a%00b")
    assert search.status_code == 422
    api = app.test_client().get("/api/v1/patients?q=a%00b", headers=bearer)
    assert api.status_code == 422 and api.get_json()["error"]["fields"] == {"q": api.get_json()["error"]["fields"]["q"]}
    assert app.test_client().get("/c/clinic%00x").status_code == 404
    before = _rows(app)
    signed = app.test_client().post("/auth/login", data={"email": world["a"].email, "password": "x"},
                                    headers={"User-Agent": "Mozilla\x00"})
    assert signed.status_code == 400 and "User-Agent" in signed.get_data(as_text=True)
    assert _rows(app) == before


# --- integers in bodies that name our rows -----------------------------------------------------------------

def _integer_fields(schema: dict[str, Any]):
    for name, prop in _resolve(schema).get("properties", {}).items():
        prop = _resolve(prop)
        if prop.get("type") == "integer":
            yield name, False
        elif prop.get("type") == "array" and _resolve(prop.get("items", {})).get("type") == "integer":
            yield name, True


def _valid_bodies(world: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """A body each JSON operation with integer fields would accept (or refuse for a reason other than the id)."""
    a = world["a"]
    return {
        ("POST", "/api/v1/patients"): {"full_name": "New Patient", "fitzpatrick": 3},
        ("POST", "/api/v1/patients/{patient_id}/courses"): {
            "indication": "acne_scars", "modality": "laser", "planned_sessions": 3, "interval_weeks": 4,
            "start_date": "2024-01-01", "area_ids": [a.area_id]},
        ("POST", "/api/v1/patients/{patient_id}/sessions"): {"course_id": a.course_id, "performed_on": "2026-03-03",
                                                              "number": 2, "area_ids": [a.area_id]},
        ("PATCH", "/api/v1/sessions/{session_id}"): {"performed_on": "2026-01-21", "number": 1,
                                                      "area_ids": [a.area_id]},
        ("POST", "/api/v1/patients/{patient_id}/adverse-events"): {
            "kind": "erythema", "severity": "mild", "onset": "2024-01-01", "area_id": a.area_id},
        ("POST", "/api/v1/me/consents"): {"scope": "gallery", "text_version": 1, "signature_name": "Patient A"},
        ("POST", "/api/v1/areas/{area_id}/gallery-proposals"): {"before_id": 1, "after_id": 2},
    }


@pytest.mark.parametrize("number", [2**31, 2**63, 2**70])
def test_no_integer_in_a_json_body_makes_the_database_fail(app, world, number):
    bodies = _valid_bodies(world)
    with_integers = {(method, path): list(_integer_fields(schema)) for method, path, schema in JSON_OPERATIONS
                     if list(_integer_fields(schema))}
    assert set(with_integers) == set(bodies), "a new operation with integer fields needs a body here"
    staff = api_token(app.test_client(), world["prac_x"].email)
    patient = api_token(app.test_client(), world["a"].email)
    session = app.test_client().post(f"/api/v1/patients/{world['a'].patient_id}/sessions", headers=staff, json={
        "course_id": world["a"].course_id, "performed_on": "2026-01-20"})
    assert session.status_code == 201, session.get_json()
    failures = {}
    for (method, path), fields in with_integers.items():
        url = _spec_path(path, world).replace("/sessions/1", f"/sessions/{session.get_json()['id']}")
        for name, is_list in fields:
            body = {**bodies[(method, path)], name: [number] if is_list else number}
            answer = app.test_client().open(url, method=method, json=body,
                                            headers=patient if "/me/" in path else staff)
            if answer.status_code not in (404, 409, 422):
                failures[(method, path, name)] = answer.status_code
    assert failures == {}


@pytest.mark.parametrize("number", [2**31, 2**70])
def test_no_id_in_an_html_form_makes_the_database_fail(app, world, number):
    a = world["a"]
    staff = app.test_client()
    login(staff, world["prac_x"].email)
    forms = {
        f"/gallery/propose/{a.area_id}": {"before_id": number, "after_id": number},
        "/outcomes/blinded": {"before_id": number, "after_id": number, "left_is_before": 1, "first": "before",
                              "gais": "1"},
        f"/outcomes/courses/{a.course_id}/sessions/new": {"number": number, "area_ids": number,
                                                          "performed_on": "2026-01-20"},
    }
    answers = {path: staff.post(path, data=data).status_code for path, data in forms.items()}
    assert all(status < 500 for status in answers.values()), answers
    patient = app.test_client()
    login(patient, a.email)
    grant = patient.post("/consent/grant/gallery", data={"gallery-text_version": number, "gallery-agree": "y",
                                                         "gallery-signature_name": "Patient A"})
    assert grant.status_code < 500
