"""Two-step sign-in (ASVS 6.3.3): setting it up, the second step in the browser and the API, codes good once,
recovery codes, the clinic's staff policy, and an admin's reset — each refusal with nothing signed in."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.factories import PASSWORD, login
from tracker.auth import totp
from tracker.extensions import db
from tracker.models import AuditEvent, Clinic, LoginSession, RecoveryCode, User, utcnow


def _user(app, email) -> User:
    with app.app_context():
        user = db.session.scalars(sa.select(User).where(User.email == email)).one()
        db.session.expunge(user)
        return user


def _signed_in(client) -> bool:
    return client.get("/auth/password").status_code == 200


def _code(secret: str, steps_ahead: int = 0) -> str:
    return totp.code_at(secret, time.time() + steps_ahead * totp.STEP_SECONDS)


def enrol(app, client, email) -> tuple[str, list[str]]:
    """Sign in and turn two-step sign-in on; returns the secret and the recovery codes shown."""
    login(client, email)
    assert client.post("/auth/two-factor/start").headers["Location"] == "/auth/two-factor"
    secret = _user(app, email).totp_secret
    page = client.get("/auth/two-factor").get_data(as_text=True)
    assert totp.grouped(secret) in page and "/auth/two-factor/qr.svg" in page
    shown = client.post("/auth/two-factor/confirm", data={"code": _code(secret)})
    assert shown.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", shown.get_data(as_text=True))
    assert len(codes) == 10
    client.post("/auth/logout")
    return secret, codes


def test_setting_it_up_shows_a_scannable_code_and_recovery_codes_once(app, client, world):
    login(client, world["a"].email)
    assert "Off." in client.get("/auth/two-factor").get_data(as_text=True)
    assert client.get("/auth/two-factor/qr.svg").status_code == 404, "nothing to scan before setting up"
    client.post("/auth/two-factor/start")
    qr = client.get("/auth/two-factor/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    assert qr.headers["Cache-Control"].startswith("no-store")
    secret = _user(app, world["a"].email).totp_secret
    wrong = client.post("/auth/two-factor/confirm", data={"code": "000000" if _code(secret) != "000000" else "111111"})
    assert wrong.status_code == 422 and "does not match" in wrong.get_data(as_text=True)
    assert not _user(app, world["a"].email).two_factor_enabled
    shown = client.post("/auth/two-factor/confirm", data={"code": _code(secret)}).get_data(as_text=True)
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", shown)
    assert len(codes) == 10
    with app.app_context():
        stored = db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
        assert len(stored) == 10 and not any(c.replace("-", "") in h for c in codes for h in stored)
    again = client.get("/auth/two-factor").get_data(as_text=True)
    assert "10 of 10 recovery codes left" in again and codes[0] not in again, "shown only once"
    assert client.get("/auth/two-factor/qr.svg").status_code == 404, "the secret is never shown again"


def test_sign_in_needs_the_code_after_the_password(app, client, world):
    secret, _ = enrol(app, client, world["a"].email)
    first = login(client, world["a"].email)
    assert first.status_code == 302 and first.headers["Location"] == "/auth/two-step"
    assert not _signed_in(client), "the password alone opens nothing"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 0
    wrong = client.post("/auth/two-step", data={"code": "12345x"})
    assert wrong.status_code == 401 and "That code is not right" in wrong.get_data(as_text=True)
    assert not _signed_in(client)
    done = client.post("/auth/two-step", data={"code": _code(secret, 1)})
    assert done.status_code == 302 and _signed_in(client)
    with app.app_context():
        events = db.session.execute(sa.select(AuditEvent.outcome, AuditEvent.detail).where(
            AuditEvent.action == "auth.sign_in").order_by(AuditEvent.id)).all()
    assert [e.outcome for e in events][-2:] == ["failed", "ok"]
    assert events[-1].detail == {"second_factor": "app"} and secret not in str(events)


def test_a_code_is_good_only_once(app, client, world):
    secret, _ = enrol(app, client, world["a"].email)
    code = _code(secret, 1)
    login(client, world["a"].email)
    assert client.post("/auth/two-step", data={"code": code}).status_code == 302
    thief = app.test_client()
    login(thief, world["a"].email)
    replay = thief.post("/auth/two-step", data={"code": code})
    assert replay.status_code == 401 and "already used" in replay.get_data(as_text=True)
    assert not _signed_in(thief)


def test_the_next_parameter_survives_the_second_step(app, client, world):
    secret, _ = enrol(app, client, world["a"].email)
    client.post("/auth/login?next=/consent/", data={"email": world["a"].email, "password": PASSWORD})
    assert client.post("/auth/two-step", data={"code": _code(secret, 1)}).headers["Location"] == "/consent/"


def test_recovery_codes_work_once_each(app, client, world):
    _, codes = enrol(app, client, world["a"].email)
    login(client, world["a"].email)
    used = client.post("/auth/two-step", data={"code": codes[3].upper()}, follow_redirects=True)
    assert "9 left" in used.get_data(as_text=True) and _signed_in(client)
    other = app.test_client()
    login(other, world["a"].email)
    assert other.post("/auth/two-step", data={"code": codes[3]}).status_code == 401
    assert not _signed_in(other)


def test_the_password_step_expires_and_a_disabled_account_cannot_finish(app, client, world):
    secret, _ = enrol(app, client, world["a"].email)
    login(client, world["a"].email)
    with client.session_transaction() as sess:
        sess["2fa_at"] = time.time() - 301
    stale = client.post("/auth/two-step", data={"code": _code(secret, 1)})
    assert stale.status_code == 302 and stale.headers["Location"] == "/auth/login" and not _signed_in(client)
    login(client, world["a"].email)
    with app.app_context():
        db.session.execute(sa.update(User).where(User.email == world["a"].email).values(active=False))
        db.session.commit()
    assert client.post("/auth/two-step", data={"code": _code(secret, 1)}).headers["Location"] == "/auth/login"
    assert not _signed_in(client)


def test_second_step_without_a_password_step_goes_back_to_sign_in(client, world):
    response = client.post("/auth/two-step", data={"code": "123456"})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"


def test_second_step_is_rate_limited(app, client, world):
    enrol(app, client, world["a"].email)
    login(client, world["a"].email)
    limit = int(app.config["TRACKER_ACCOUNT_LIMIT"].split()[0])
    codes = [client.post("/auth/two-step", data={"code": "000000"}).status_code for _ in range(limit + 1)]
    assert codes[-1] == 429 and not _signed_in(client)


def test_api_token_needs_the_code_too(app, client, world):
    secret, _ = enrol(app, client, world["a"].email)
    body = {"email": world["a"].email, "password": PASSWORD}
    missing = client.post("/api/v1/tokens", json=body)
    assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "otp_required"
    wrong = client.post("/api/v1/tokens", json={**body, "otp": "000000" if _code(secret, 1) != "000000" else "1"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "otp_invalid"
    assert client.post("/api/v1/tokens", json={**body, "otp": 123456}).status_code == 422
    assert client.post("/api/v1/tokens", json={**body, "otp": _code(secret, 1)}).status_code == 201
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(
            __import__("tracker.models", fromlist=["ApiToken"]).ApiToken)) == 1


def test_turning_it_off_needs_a_recent_password(app, client, world):
    secret, _ = enrol(app, client, world["a"].email)
    login(client, world["a"].email)
    client.post("/auth/two-step", data={"code": _code(secret, 1)})
    with app.app_context():
        db.session.execute(sa.update(LoginSession).values(authenticated_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    assert client.post("/auth/two-factor/off").headers["Location"].startswith("/auth/confirm")
    assert _user(app, world["a"].email).two_factor_enabled
    client.post("/auth/confirm", data={"password": PASSWORD})
    assert client.post("/auth/two-factor/off").status_code == 302
    user = _user(app, world["a"].email)
    assert not user.two_factor_enabled and user.totp_secret is None
    client.post("/auth/logout")
    assert login(client, world["a"].email).headers["Location"] != "/auth/two-step"


def test_clinic_policy_makes_staff_set_it_up_before_anything_else(app, client, world):
    login(client, world["admin_x"].email)
    assert client.post("/admin/two-factor-policy", data={"required": "1"}).status_code == 302
    with app.app_context():
        assert db.session.get(Clinic, world.clinic_x).require_staff_two_factor
    staff = app.test_client()
    login(staff, world["prac_x"].email)
    for url in ("/patients/", f"/patients/{world['a'].patient_id}", "/"):
        response = staff.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/auth/two-factor", url
    api = staff.post("/api/v1/tokens", json={"email": world["prac_x"].email, "password": PASSWORD})
    assert api.status_code == 403 and api.get_json()["error"]["code"] == "two_factor_setup_required"
    staff.post("/auth/two-factor/start")
    secret = _user(app, world["prac_x"].email).totp_secret
    staff.post("/auth/two-factor/confirm", data={"code": _code(secret)})
    assert staff.get("/patients/").status_code == 200
    refused = staff.post("/auth/two-factor/off", follow_redirects=True)
    assert "ask a clinic admin to reset it" in refused.get_data(as_text=True)
    assert _user(app, world["prac_x"].email).two_factor_enabled
    # patients and the other clinic are not affected
    patient = app.test_client()
    login(patient, world["a"].email)
    assert patient.get(f"/patients/{world['a'].patient_id}").status_code == 200
    other = app.test_client()
    login(other, world["prac_y"].email)
    assert other.get("/patients/").status_code == 200


def test_an_admin_resets_a_colleagues_two_step_sign_in_within_their_clinic(app, client, world):
    enrol(app, client, world["prac_x"].email)
    outsider = app.test_client()
    login(outsider, world["admin_y"].email)
    assert outsider.post(f"/admin/users/{world['prac_x'].user_id}/two-factor/reset").status_code == 404
    colleague = app.test_client()
    enrol(app, colleague, world["admin_x"].email)
    secret_admin = _user(app, world["admin_x"].email).totp_secret
    practitioner = app.test_client()
    login(practitioner, world["prac_y"].email)
    assert practitioner.post(f"/admin/users/{world['prac_x'].user_id}/two-factor/reset").status_code == 403
    assert _user(app, world["prac_x"].email).two_factor_enabled
    login(client, world["admin_x"].email)
    client.post("/auth/two-step", data={"code": _code(secret_admin, 1)})
    page = client.get("/admin/staff").get_data(as_text=True)
    assert "Two-step sign-in" in page and "Reset" in page
    assert client.post(f"/admin/users/{world['prac_x'].user_id}/two-factor/reset").status_code == 302
    assert not _user(app, world["prac_x"].email).two_factor_enabled
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
            RecoveryCode.user_id == world["prac_x"].user_id)) == 0
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.two_factor_reset")).one()
        assert event.actor_id == world["admin_x"].user_id and event.object_id == str(world["prac_x"].user_id)


@pytest.mark.parametrize("path", ["/auth/two-factor/start", "/auth/two-factor/confirm",
                                  "/auth/two-factor/recovery-codes", "/auth/two-factor/off"])
def test_setting_pages_need_a_signed_in_person(client, path):
    response = client.post(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
