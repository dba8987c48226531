"""Attacks from the security catalogue that the other suites do not already cover (see SECURITY.md)."""

from __future__ import annotations

import io
import statistics
import time

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import PASSWORD, api_token, direct_token, fixture_bytes, login, small_jpeg, upload
from tracker.extensions import db
from tracker.models import Photo

XSS = '<img src=x onerror=alert(1)>"><svg onload=alert(2)>'


def test_unknown_email_and_wrong_password_cost_the_same(app_factory):
    """AU1: same answer and similar time (real argon2id cost) for an unknown account and a wrong password."""
    from tests.factories import build_world

    app = app_factory(TRACKER_PASSWORD_HASH="argon2id", TRACKER_LOGIN_LIMIT="1000 per minute",
                      TRACKER_ACCOUNT_LIMIT="1000 per minute")
    with app.app_context():
        world = build_world()
    client = app.test_client()

    def timed(email: str) -> float:
        start = time.perf_counter()
        response = login(client, email, "definitely wrong")
        assert response.status_code == 401
        return time.perf_counter() - start

    timed(world["a"].email)  # warm-up
    known = statistics.median(timed(world["a"].email) for _ in range(9))
    unknown = statistics.median(timed("nobody@example.com") for _ in range(9))
    assert abs(known - unknown) < 0.05, (known, unknown)


def test_rate_limit_store_works_with_redis(app_factory):
    import os

    from redis import Redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    Redis.from_url(url).flushdb()
    app = app_factory(RATELIMIT_STORAGE_URI=url, TRACKER_ACCOUNT_LIMIT="3 per minute")
    from tests.factories import build_world

    with app.app_context():
        world = build_world()
    statuses = [login(app.test_client(), world["a"].email, "wrong password").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert Redis.from_url(url).keys("LIMITS*"), "the counters live in Redis"
    Redis.from_url(url).flushdb()


def test_production_sends_hsts(app_factory, production_env):
    app = app_factory(TRACKER_ENV="production", SESSION_COOKIE_SECURE=False)
    response = app.test_client().get("/auth/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_healthz_reports_readiness(app, client, monkeypatch):
    body = client.get("/healthz").get_json()
    assert body == {"status": "ok", "checks": {"database": "ok", "storage": "ok"}}
    store = app.extensions["tracker_storage"]
    monkeypatch.setattr(store, "put", lambda *a: (_ for _ in ()).throw(OSError("disk gone")))
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["checks"]["storage"] == "unavailable"


def test_free_text_is_inert_on_every_page_that_shows_it(app, client, world):
    """XS1: a script-bearing string in every free-text field renders escaped wherever it appears."""
    from tests.factories import make_session

    staff = api_token(client, world["prac_x"].email)
    patient = api_token(client, world["a"].email)
    a = world["a"]
    client.post(f"/api/v1/patients/{a.patient_id}/areas", headers=staff,
                json={"name": XSS, "body_region": "back", "views": ["front"]})
    client.post(f"/api/v1/patients/{a.patient_id}/courses", headers=staff, json={
        "indication": XSS, "modality": "topical", "planned_sessions": 2, "interval_weeks": 4,
        "start_date": "2026-01-01", "area_ids": [a.area_id], "notes": XSS})
    client.post(f"/api/v1/patients/{a.patient_id}/sessions", headers=staff,
                json={"course_id": a.course_id, "performed_on": "2026-01-20", "notes": XSS, "lot_number": XSS[:80]})
    client.post(f"/api/v1/patients/{a.patient_id}/adverse-events", headers=patient,
                json={"kind": "other", "severity": "mild", "onset": "2026-01-21", "description": XSS})
    client.post(f"/api/v1/areas/{a.area_id}/assessments", headers=staff,
                json={"scale": "davey", "score": 3, "assessed_on": "2026-01-22", "note": XSS})
    photo = upload(client, a.area_id, small_jpeg(3), headers=staff, taken_on="2026-01-23", note=XSS).get_json()
    staff_pages = [f"/patients/{a.patient_id}", f"/patients/{a.patient_id}/areas/{a.area_id}",
                   f"/timeline/area/{a.area_id}", f"/photos/{photo['id']}", f"/outcomes/patients/{a.patient_id}/diary",
                   f"/outcomes/areas/{a.area_id}", f"/outcomes/areas/{a.area_id}/review", "/patients/"]
    login(client, world["prac_x"].email)
    for url in staff_pages:
        html = client.get(url).get_data(as_text=True)
        assert XSS not in html and "onerror=alert(1)>" not in html, url
    owner = app.test_client()
    login(owner, a.email)
    for url in ("/", f"/outcomes/patients/{a.patient_id}/diary", f"/photos/{photo['id']}"):
        html = owner.get(url).get_data(as_text=True)
        assert XSS not in html, url


def test_consent_text_markdown_cannot_carry_html(app, client, world):
    login(client, world["admin_x"].email)
    body = "Read this.\n\n<script>alert(1)</script>\n\n[click](javascript:alert(2)) <img src=x onerror=alert(3)>"
    assert client.post("/consent/texts", data={"scope": "marketing", "body": body}).status_code == 302
    owner = app.test_client()
    login(owner, world["a"].email)
    html = owner.get("/consent/").get_data(as_text=True)
    assert "<script>alert(1)" not in html and 'href="javascript:' not in html and "<img src=x" not in html


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=st.one_of(
    st.binary(min_size=0, max_size=2048),
    st.tuples(st.integers(0, 1500), st.binary(min_size=1, max_size=8)).map(
        lambda cut: small_jpeg(7, (96, 64))[:cut[0]] + cut[1] + small_jpeg(7, (96, 64))[cut[0] + len(cut[1]):]),
))
def test_random_and_mutated_uploads_never_cause_a_server_error(app, client, world, data):
    headers = app.extensions.setdefault("fuzz_token", direct_token(app, world["prac_x"].email))
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Photo))
    response = upload(client, world["a"].area_id, data, headers=headers, taken_on="2026-01-10")
    assert response.status_code in (201, 400, 409, 413, 415, 422), response.get_json()
    if response.status_code != 201:
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Photo)) == before
    else:
        shown = client.get(response.get_json()["images"]["display"], headers=headers)
        assert shown.status_code == 200 and shown.data[:2] == b"\xff\xd8"


def test_ids_are_enumerated_in_vain(client, world):
    """AZ4: walking ids of another clinic gives 404 throughout."""
    headers = api_token(client, world["prac_y"].email)
    for kind in ("patients", "areas", "courses", "photos"):
        statuses = {client.get(f"/api/v1/{kind}/{i}", headers=headers).status_code
                    for i in (world["a"].patient_id, world["b"].patient_id, 999)}
        assert statuses == {404}, kind


def test_original_download_name_is_generated(client, world):
    headers = api_token(client, world["prac_x"].email)
    body = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=headers,
                  filename='evil"; filename*=UTF-8\'\'x.html').get_json()
    disposition = client.get(body["images"]["original"], headers=headers).headers["Content-Disposition"]
    assert disposition == f'attachment; filename="photo-{body["id"]}-original.jpg"'


def test_login_page_is_not_framable_and_forms_post_only_to_self(client):
    csp = client.get("/auth/login").headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp


def test_password_is_not_truncated(app, client, world):
    long = "x7!" * 40  # 120 characters
    login(client, world["a"].email)
    client.post("/auth/password", data={"current_password": PASSWORD, "password": long, "confirm": long})
    client.post("/auth/logout")
    assert login(client, world["a"].email, long[:72]).status_code == 401, "no bcrypt-style 72-byte truncation"
    assert login(client, world["a"].email, long).status_code == 302


def test_mass_assignment_in_forms_is_ignored(app, client, world):
    login(client, world["prac_x"].email)
    client.post("/patients/new", data={"full_name": "Mass Assign", "clinic_id": str(world.clinic_y)})
    from tracker.models import Patient

    with app.app_context():
        patient = db.session.scalars(sa.select(Patient).where(Patient.full_name == "Mass Assign")).one()
        assert patient.clinic_id == world.clinic_x
    client.post(f"/admin/users/{world['prac_x'].user_id}/role", data={"role": "clinic_admin"})
    assert client.get("/admin/staff").status_code == 403, "a practitioner cannot promote themselves"


def test_io_errors_are_not_leaked(client, world):
    headers = api_token(client, world["prac_x"].email)
    response = client.get("/api/v1/photos/abc/image/display", headers=headers)
    assert response.status_code == 404 and response.is_json
    assert "Traceback" not in io.StringIO(response.get_data(as_text=True)).read()
