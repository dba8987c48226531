"""Signing in and out, sessions that really end, passwords, resets and invitations."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.factories import PASSWORD, login
from tracker.extensions import db
from tracker.models import ApiToken, Invitation, LoginSession, PasswordReset, User, utcnow


def test_sign_in_lands_staff_on_patient_list_and_patient_on_own_chart(client, world):
    response = login(client, world["prac_x"].email)
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    assert client.get("/", follow_redirects=False).headers["Location"].endswith("/patients/")
    client.post("/auth/logout")
    login(client, world["a"].email)
    page = client.get("/").get_data(as_text=True)
    assert "Patient A" in page and "Abdomen – lower left" in page
    assert "Patient B" not in page


def test_wrong_password_and_unknown_email_get_identical_answers(client, world):
    wrong = login(client, world["a"].email, "not the password")
    unknown = login(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Invalid email or password." in wrong.get_data(as_text=True)
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.get_data(as_text=True))  # noqa: E731
    assert strip(wrong) == strip(unknown)


def test_disabled_user_cannot_sign_in(app, client, world):
    with app.app_context():
        db.session.get(User, world["prac_x"].user_id).active = False
        db.session.commit()
    assert login(client, world["prac_x"].email).status_code == 401


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "https:evil.example", "javascript:alert(1)",
    "/\r\nSet-Cookie:x=1", "\t//evil.example",
])
def test_next_parameter_only_redirects_within_the_site(client, world, target):
    response = client.post("/auth/login", query_string={"next": target},
                           data={"email": world["a"].email, "password": PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location in ("/", "http://tracker.test/"), location


def test_next_parameter_keeps_a_local_path(client, world):
    response = client.post("/auth/login", query_string={"next": "/patients/?q=x"},
                           data={"email": world["prac_x"].email, "password": PASSWORD})
    assert response.headers["Location"] == "/patients/?q=x"


def test_anonymous_pages_redirect_to_sign_in_with_next(client, world):
    response = client.get(f"/patients/{world['a'].patient_id}")
    assert response.status_code == 302
    assert "/auth/login?next=" in response.headers["Location"]


def test_logout_invalidates_the_session_server_side(app, client, world):
    login(client, world["prac_x"].email)
    cookie = client.get_cookie("tracker", domain="tracker.test")
    assert client.get("/patients/").status_code == 200
    client.post("/auth/logout")
    replay = app.test_client()
    replay.set_cookie("tracker", cookie.value, domain=cookie.domain)
    assert replay.get("/patients/").status_code == 302


def test_login_issues_a_fresh_session_and_ignores_a_planted_one(app, client, world):
    client.get("/auth/login")
    before = client.get_cookie("tracker", domain="tracker.test")
    login(client, world["prac_x"].email)
    after = client.get_cookie("tracker", domain="tracker.test")
    assert after is not None and (before is None or before.value != after.value)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 1


def test_session_cookie_flags(client, world):
    response = login(client, world["prac_x"].email)
    cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("tracker=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure_and_host_prefixed(app_factory, production_env):
    app = app_factory(TRACKER_ENV="production")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert app.config["TRACKER_DEMO_ALLOWED"] is False


def test_staff_idle_timeout_ends_the_session(app, client, world):
    login(client, world["prac_x"].email)
    with app.app_context():
        record = db.session.scalars(sa.select(LoginSession)).one()
        record.last_seen_at = utcnow() - timedelta(minutes=app.config["TRACKER_IDLE_MINUTES"] + 1)
        db.session.commit()
    assert client.get("/patients/").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 0


def test_staff_absolute_timeout_ends_the_session(app, client, world):
    login(client, world["prac_x"].email)
    with app.app_context():
        record = db.session.scalars(sa.select(LoginSession)).one()
        record.created_at = utcnow() - timedelta(hours=app.config["TRACKER_ABSOLUTE_HOURS"] + 1)
        db.session.commit()
    assert client.get("/patients/").status_code == 302


def test_remember_me_only_for_patients(client, world):
    staff = login(client, world["prac_x"].email, remember="y")
    assert not any(h.startswith("tracker-remember=") for h in staff.headers.getlist("Set-Cookie"))
    client.post("/auth/logout")
    patient = login(client, world["a"].email, remember="y")
    assert any(h.startswith("tracker-remember=") for h in patient.headers.getlist("Set-Cookie"))


def test_change_password_ends_other_sessions_and_api_tokens(app, client, world):
    other_device = app.test_client()
    login(other_device, world["a"].email)
    token = other_device.post("/api/v1/tokens", json={"email": world["a"].email, "password": PASSWORD}
                              ).get_json()["token"]
    login(client, world["a"].email)
    response = client.post("/auth/password", data={
        "current_password": PASSWORD, "password": "a much better passphrase", "confirm": "a much better passphrase"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200, "the device that changed it stays signed in"
    assert other_device.get("/").status_code == 302
    assert other_device.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    client.post("/auth/logout")
    assert login(client, world["a"].email, "a much better passphrase").status_code == 302


@pytest.mark.parametrize(("current", "new", "confirm", "message"), [
    ("wrong current", "a much better passphrase", "a much better passphrase", "current password is not correct"),
    (PASSWORD, "short", "short", "at least 8 characters"),
    (PASSWORD, "password123", "password123", "most common"),
    (PASSWORD, "a much better passphrase", "a different passphrase", "do not match"),
])
def test_change_password_refusals(app, client, world, current, new, confirm, message):
    login(client, world["a"].email)
    response = client.post("/auth/password", data={"current_password": current, "password": new, "confirm": confirm})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert login(app.test_client(), world["a"].email).status_code == 302, "old password still works"


def test_long_passphrase_is_accepted_exactly(client, world):
    login(client, world["a"].email)
    long_pass = "tröpfelnde Regentropfen auf dem Dach " * 3
    client.post("/auth/password", data={"current_password": PASSWORD, "password": long_pass, "confirm": long_pass})
    client.post("/auth/logout")
    assert login(client, world["a"].email, long_pass[:-1]).status_code == 401
    assert login(client, world["a"].email, long_pass).status_code == 302


def _link(outbox, path_fragment):
    body = outbox[-1].get_content()
    return re.search(r"http://tracker\.test(/auth/[^\s]+)", body).group(1)


def test_password_reset_round_trip_single_use(app, client, world, outbox):
    response = client.post("/auth/reset", data={"email": world["a"].email.upper()})
    assert response.status_code == 302
    link = _link(outbox, "reset")
    assert client.get(link).status_code == 302
    response = client.post("/auth/reset/new", data={"password": "brand new passphrase", "confirm": "brand new passphrase"})
    assert response.status_code == 302
    assert login(client, world["a"].email, "brand new passphrase").status_code == 302
    client.post("/auth/logout")
    client.get(link)
    again = client.get("/auth/reset/new")
    assert again.status_code == 404 and "invalid or has expired" in again.get_data(as_text=True)


def test_reset_for_unknown_email_answers_the_same_and_sends_nothing(client, world, outbox):
    known = client.post("/auth/reset", data={"email": world["a"].email}, follow_redirects=True)
    unknown = client.post("/auth/reset", data={"email": "ghost@example.com"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    assert len(outbox) == 1


def test_reset_link_expires(app, client, world, outbox):
    client.post("/auth/reset", data={"email": world["a"].email})
    link = _link(outbox, "reset")
    with app.app_context():
        db.session.execute(sa.update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    client.get(link)
    assert client.get("/auth/reset/new").status_code == 404


def test_reset_ends_existing_sessions(app, client, world, outbox):
    signed_in = app.test_client()
    login(signed_in, world["a"].email)
    client.post("/auth/reset", data={"email": world["a"].email})
    client.get(_link(outbox, "reset"))
    client.post("/auth/reset/new", data={"password": "brand new passphrase", "confirm": "brand new passphrase"})
    assert signed_in.get("/").status_code == 302


def test_login_is_rate_limited_per_account(app, client, world):
    for _ in range(5):
        assert login(client, world["a"].email, "wrong password").status_code == 401
    locked = login(client, world["a"].email, PASSWORD)
    assert locked.status_code == 429
    assert locked.headers.get("Retry-After")


def test_api_tokens_are_stored_hashed_and_revocable(app, client, world):
    response = client.post("/api/v1/tokens", json={"email": world["a"].email, "password": PASSWORD})
    body = response.get_json()
    assert response.status_code == 201 and body["expires_at"].endswith("Z")
    headers = {"Authorization": f"Bearer {body['token']}"}
    with app.app_context():
        stored = db.session.scalars(sa.select(ApiToken.token_hash)).all()
    assert body["token"] not in stored and len(stored[0]) == 64
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.delete("/api/v1/tokens/current", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_expired_api_token_is_refused(app, client, world):
    token = client.post("/api/v1/tokens", json={"email": world["a"].email, "password": PASSWORD}).get_json()["token"]
    with app.app_context():
        db.session.execute(sa.update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


def test_invitation_round_trip(app, client, world, outbox):
    login(client, world["admin_x"].email)
    response = client.post("/admin/invitations", data={"name": "New Colleague", "email": "New@Example.com",
                                                       "role": "practitioner"})
    assert response.status_code == 302
    link = _link(outbox, "invite")
    with app.app_context():
        invitation = db.session.scalars(sa.select(Invitation)).one()
        assert invitation.email == "new@example.com"
        assert link.rsplit("/", 1)[1] not in invitation.token_hash
    client.post("/auth/logout")
    assert client.get(link).status_code == 302
    page = client.get("/auth/join")
    assert "practitioner" in page.get_data(as_text=True)
    response = client.post("/auth/join", data={"name": "New Colleague", "password": "colleague passphrase",
                                               "confirm": "colleague passphrase"})
    assert response.status_code == 302
    assert client.get("/patients/").status_code == 200
    # single use
    other = app.test_client()
    other.get(link)
    assert other.get("/auth/join").status_code == 404


def test_expired_or_revoked_invitation_is_refused(app, client, world, outbox):
    login(client, world["admin_x"].email)
    client.post("/admin/invitations", data={"name": "Late", "email": "late@example.com", "role": "practitioner"})
    link = _link(outbox, "invite")
    with app.app_context():
        db.session.execute(sa.update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    fresh = app.test_client()
    fresh.get(link)
    assert fresh.get("/auth/join").status_code == 404
    client.post("/admin/invitations", data={"name": "Withdrawn", "email": "w@example.com", "role": "practitioner"})
    link = _link(outbox, "invite")
    with app.app_context():
        inv = db.session.scalars(sa.select(Invitation).where(Invitation.email == "w@example.com")).one()
    client.post(f"/admin/invitations/{inv.id}/revoke")
    fresh = app.test_client()
    fresh.get(link)
    assert fresh.get("/auth/join").status_code == 404


def test_invitation_for_existing_email_is_a_conflict(client, world, outbox):
    login(client, world["admin_x"].email)
    response = client.post("/admin/invitations", data={"name": "Dup", "email": world["prac_y"].email,
                                                       "role": "practitioner"})
    assert response.status_code == 400
    assert "already has an account" in response.get_data(as_text=True)
    assert outbox == []


def test_practitioner_creates_a_patient_and_invites_them(app, client, world, outbox):
    login(client, world["prac_x"].email)
    response = client.post("/patients/new", data={"full_name": "Nia Newcomer", "email": "nia@example.com",
                                                  "send_invitation": "y"})
    assert response.status_code == 302
    link = _link(outbox, "invite")
    client.post("/auth/logout")
    client.get(link)
    client.post("/auth/join", data={"name": "Nia", "password": "nia passphrase!", "confirm": "nia passphrase!"})
    home = client.get("/").get_data(as_text=True)
    assert "Hello, Nia" in home
    with app.app_context():
        user = db.session.scalars(sa.select(User).where(User.email == "nia@example.com")).one()
        assert user.role.value == "patient" and user.patient_id is not None


def test_admin_disables_a_practitioner_who_is_out_on_next_request(app, client, world):
    practitioner = app.test_client()
    login(practitioner, world["prac_x"].email)
    assert practitioner.get("/patients/").status_code == 200
    login(client, world["admin_x"].email)
    client.post(f"/admin/users/{world['prac_x'].user_id}/active", data={"active": "0"})
    assert practitioner.get("/patients/").status_code == 302


def test_role_change_takes_effect_and_signs_them_out(app, client, world):
    practitioner = app.test_client()
    login(practitioner, world["prac_x"].email)
    login(client, world["admin_x"].email)
    client.post(f"/admin/users/{world['prac_x'].user_id}/role", data={"role": "clinic_admin"})
    assert practitioner.get("/patients/").status_code == 302
    login(practitioner, world["prac_x"].email)
    assert practitioner.get("/admin/staff").status_code == 200
