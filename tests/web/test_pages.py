"""Pages, headers and the guarantees every response keeps (CSRF, no stack traces, strict headers)."""

from __future__ import annotations

import re

import pytest

from tests.factories import login

POST_EXEMPT_PREFIXES = ("/api/",)


def test_every_html_response_has_strict_headers(client, world):
    login(client, world["prac_x"].email)
    for url in ("/patients/", f"/patients/{world['a'].patient_id}", "/auth/login", "/nope"):
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp
        for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"):
            assert directive in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"


def test_no_inline_script_or_style_in_pages(client, world):
    login(client, world["admin_x"].email)
    for url in ("/patients/", "/patients/new", f"/patients/{world['a'].patient_id}", "/admin/staff",
                f"/patients/{world['a'].patient_id}/courses/new", "/auth/password"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert "<style" not in html and " style=" not in html and "onclick" not in html, url


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/definitely/not/here")
    assert response.status_code == 404
    assert "We could not find that page." in response.get_data(as_text=True)


def test_server_error_page_has_no_trace(app, client, world, monkeypatch):
    from tracker.patients import services

    monkeypatch.setattr(services, "search_patients", lambda *a, **k: 1 / 0)
    login(client, world["prac_x"].email)
    response = client.get("/patients/")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "ZeroDivisionError" not in text and "Traceback" not in text
    assert "Something went wrong on our side" in text


def test_state_changes_are_post_only(client, world):
    login(client, world["admin_x"].email)
    assert client.get("/auth/logout").status_code == 405
    assert client.get(f"/admin/users/{world['prac_x'].user_id}/active").status_code == 405
    assert client.get(f"/patients/{world['a'].patient_id}/invite").status_code == 405


@pytest.fixture
def csrf_app(app_factory):
    return app_factory(WTF_CSRF_ENABLED=True)


def _post_rules(app):
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.rule.startswith(POST_EXEMPT_PREFIXES):
            yield rule


def test_every_form_post_requires_a_csrf_token(csrf_app):
    from tracker.extensions import db
    from tests.factories import build_world

    with csrf_app.app_context():
        world = build_world()
        del db
    client = csrf_app.test_client()
    rules = list(_post_rules(csrf_app))
    assert len(rules) >= 10
    for rule in rules:
        url = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        response = client.post(url, data={"email": world["a"].email, "password": "x"})
        assert response.status_code == 400, url
        assert "The CSRF token is missing." in response.get_data(as_text=True), url


def test_csrf_token_from_another_session_is_refused(csrf_app):
    from tests.factories import build_world

    with csrf_app.app_context():
        world = build_world()
    first, second = csrf_app.test_client(), csrf_app.test_client()
    html = first.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    second.get("/auth/login")
    response = second.post("/auth/login", data={"email": world["a"].email, "password": "x", "csrf_token": token})
    assert response.status_code == 400
    assert "The CSRF tokens do not match." in response.get_data(as_text=True)


def test_login_with_csrf_token_works(csrf_app):
    from tests.factories import PASSWORD, build_world

    with csrf_app.app_context():
        world = build_world()
    client = csrf_app.test_client()
    html = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/auth/login", data={"email": world["a"].email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_patient_list_search_and_pagination(client, world, app):
    from tracker.extensions import db
    from tests.factories import make_patient
    from tracker.models import Clinic

    with app.app_context():
        clinic = db.session.get(Clinic, world.clinic_x)
        for i in range(45):
            make_patient(clinic, f"Search Person {i:02d}")
        db.session.commit()
    login(client, world["prac_x"].email)
    page = client.get("/patients/?q=search+person&page=2").get_data(as_text=True)
    assert "45 patients matching" in page and "Page 2 of 3" in page
    assert "Search Person 20" in page and "Search Person 19" not in page
    assert client.get("/patients/?sort=evil").status_code == 422
    assert client.get("/patients/?page=abc").status_code == 200


def test_forms_show_errors_in_words_and_store_nothing(app, client, world):
    from tracker.extensions import db
    from tracker.models import Patient
    import sqlalchemy as sa

    login(client, world["prac_x"].email)
    response = client.post("/patients/new", data={"full_name": "", "email": "broken", "date_of_birth": "2999-01-01"})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter the patient&#39;s name." in text and "Enter a valid e-mail address." in text
    assert "Date of birth must be in the past." in text
    assert 'aria-invalid="true"' in text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) == 3


def test_user_text_is_escaped(app, client, world):
    login(client, world["prac_x"].email)
    payload = '<img src=x onerror=alert(1)>"><svg onload=alert(2)>'
    response = client.post("/patients/new", data={"full_name": payload, "external_ref": "<b>x</b>"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert payload not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    listing = client.get("/patients/").get_data(as_text=True)
    assert "<svg onload" not in listing


def test_phone_width_meta_and_skip_link(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert 'class="skip-link" href="#main"' in html
