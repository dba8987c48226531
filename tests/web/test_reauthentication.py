"""Sensitive changes need a recent password (ASVS 7.5.1, catalogue SE6): a session restored from a remember-me
cookie, or one whose password was proved longer ago than TRACKER_REAUTH_MINUTES, is sent to confirm it first —
and nothing of the change happens before that."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from tests.factories import PASSWORD, login
from tracker.extensions import db
from tracker.models import AuditEvent, Consent, LoginSession, User, utcnow

GALLERY_GRANT = {"gallery-scope": "gallery", "gallery-text_version": "1", "gallery-agree": "y",
                 "gallery-signature_name": "Patient A"}


def _age_sessions(app, email, minutes):
    with app.app_context():
        user = db.session.scalars(sa.select(User).where(User.email == email)).one()
        db.session.execute(sa.update(LoginSession).where(LoginSession.user_id == user.id)
                           .values(authenticated_at=utcnow() - timedelta(minutes=minutes)))
        db.session.commit()


def _restored_from_remember_cookie(app, client, email):
    """A patient who ticked "keep me signed in", closed the browser and came back: only the remember cookie."""
    login(client, email, remember="y")
    remember = client.get_cookie("tracker-remember", domain="tracker.test")
    assert remember is not None
    returning = app.test_client()
    returning.set_cookie("tracker-remember", remember.value, domain=remember.domain)
    assert returning.get("/consent/").status_code == 200, "the remembered session still reads"
    return returning


def _sent_to_confirm(response, back_to):
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth/confirm"
    assert parse_qs(location.query)["next"] == [back_to]


def _role(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).role.value


def test_role_change_from_an_old_session_asks_for_the_password_first(app, client, world):
    login(client, world["admin_x"].email)
    _age_sessions(app, world["admin_x"].email, app.config["TRACKER_REAUTH_MINUTES"] + 1)
    refused = client.post(f"/admin/users/{world['prac_x'].user_id}/role", data={"role": "clinic_admin"},
                          headers={"Referer": "http://tracker.test/admin/staff"})
    _sent_to_confirm(refused, "/admin/staff")
    assert _role(app, world["prac_x"].user_id) == "practitioner", "nothing changed before the password"

    wrong = client.post("/auth/confirm?next=/admin/staff", data={"password": "not my password"})
    assert wrong.status_code == 401 and "That password is not correct." in wrong.get_data(as_text=True)
    confirmed = client.post("/auth/confirm?next=/admin/staff", data={"password": PASSWORD})
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/admin/staff"

    done = client.post(f"/admin/users/{world['prac_x'].user_id}/role", data={"role": "clinic_admin"})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/staff"
    assert _role(app, world["prac_x"].user_id) == "clinic_admin"
    with app.app_context():
        outcomes = db.session.scalars(sa.select(AuditEvent.outcome).where(
            AuditEvent.action == "auth.reauthenticate").order_by(AuditEvent.id)).all()
    assert outcomes == ["failed", "ok"]


@pytest.mark.parametrize("path, data", [
    ("/admin/users/{prac}/active", {"active": "0"}),
    ("/admin/invitations", {"email": "new@example.com", "name": "New", "role": "clinic_admin"}),
    ("/consent/texts", {"scope": "gallery", "body": "A new text"}),
])
def test_every_sensitive_admin_change_is_gated(app, client, world, path, data):
    login(client, world["admin_x"].email)
    _age_sessions(app, world["admin_x"].email, app.config["TRACKER_REAUTH_MINUTES"] + 1)
    with app.app_context():
        before = {"active": db.session.get(User, world["prac_x"].user_id).active,
                  "users": db.session.scalar(sa.select(sa.func.count()).select_from(User))}
    response = client.post(path.format(prac=world["prac_x"].user_id), data=data)
    _sent_to_confirm(response, "/")
    with app.app_context():
        assert db.session.get(User, world["prac_x"].user_id).active == before["active"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == before["users"]
    assert "A new text" not in client.get("/consent/texts").get_data(as_text=True)


def test_clinic_export_from_an_old_session_confirms_then_downloads(app, client, world):
    login(client, world["admin_x"].email)
    _age_sessions(app, world["admin_x"].email, app.config["TRACKER_REAUTH_MINUTES"] + 1)
    refused = client.get("/outcomes/export/sessions.csv")
    _sent_to_confirm(refused, "/outcomes/export/sessions.csv")
    assert b"performed_on" not in refused.data
    back = client.post("/auth/confirm?next=/outcomes/export/sessions.csv", data={"password": PASSWORD})
    assert back.headers["Location"] == "/outcomes/export/sessions.csv"
    assert client.get(back.headers["Location"]).status_code == 200


def test_a_fresh_sign_in_is_not_asked_again(app, client, world):
    login(client, world["admin_x"].email)
    response = client.post(f"/admin/users/{world['prac_x'].user_id}/role", data={"role": "clinic_admin"})
    assert response.headers["Location"] == "/admin/staff"
    assert _role(app, world["prac_x"].user_id) == "clinic_admin"


def test_remembered_patient_must_confirm_before_granting_gallery_consent(app, client, world):
    returning = _restored_from_remember_cookie(app, client, world["a"].email)
    refused = returning.post("/consent/grant/gallery", data=GALLERY_GRANT,
                             headers={"Referer": "http://tracker.test/consent/"})
    _sent_to_confirm(refused, "/consent/")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Consent).where(
            Consent.scope == "gallery")) == 0
    returning.post("/auth/confirm?next=/consent/", data={"password": PASSWORD})
    assert returning.post("/consent/grant/gallery", data=GALLERY_GRANT).status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Consent).where(
            Consent.scope == "gallery")) == 1


def test_withdrawal_never_needs_the_password(app, client, world):
    """Withdrawing consent must stay one click and a confirmation, whatever the session's age."""
    login(client, world["a"].email)
    client.post("/consent/grant/gallery", data=GALLERY_GRANT)
    _age_sessions(app, world["a"].email, 24 * 60)
    with app.app_context():
        consent = db.session.scalars(sa.select(Consent).where(Consent.scope == "gallery")).one()
    assert client.post(f"/consent/{consent.id}/withdraw").headers["Location"] == "/consent/"
    with app.app_context():
        assert db.session.get(Consent, consent.id).withdrawn_at is not None


def test_confirmation_keeps_next_on_this_site_and_is_rate_limited(app, client, world):
    login(client, world["admin_x"].email)
    offsite = client.post("/auth/confirm?next=//evil.example/x", data={"password": PASSWORD})
    assert offsite.headers["Location"] == "/"
    limit = int(app.config["TRACKER_ACCOUNT_LIMIT"].split()[0].split("/")[0])
    codes = [client.post("/auth/confirm", data={"password": "wrong guess"}).status_code for _ in range(limit + 1)]
    assert codes[-1] == 429 and set(codes[:-1]) <= {401, 429}


def test_confirmation_needs_a_signed_in_person(client):
    response = client.get("/auth/confirm")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
