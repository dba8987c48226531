"""The app's public address (issue 11, defects 1 and 6): links in e-mails are built on TRACKER_BASE_URL whatever the
request says, requests for other host names are refused, and proxies are believed only when configured."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import request

from tests.factories import PASSWORD, api_token, build_world, login
from tracker.extensions import db
from tracker.models import AuditEvent

LINK = re.compile(r"https?://[^\s]+")
BASE = "http://tracker.test"
# Every way a client can try to name the host the links should point at.
SPOOFS = {
    "host": {"base_url": "http://evil.example"},
    "forwarded-host": {"headers": {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https",
                                   "X-Forwarded-Prefix": "/evil", "Forwarded": "host=evil.example"}},
    "trusted-alias": {"base_url": "http://alias.test"},
}


def _world(app):
    with app.app_context():
        return build_world()


def _sign_in(client, email, **spoof):
    """Sign in on the same address the spoofed request uses (the session cookie belongs to that host)."""
    client.post("/auth/login", data={"email": email, "password": PASSWORD}, **spoof)


def _reset(app, client, world, **spoof):
    return client.post("/auth/reset", data={"email": world["a"].email}, **spoof)


def _api_patient_invitation(app, client, world, **spoof):
    headers = {**api_token(app.test_client(), world["prac_x"].email), **spoof.pop("headers", {})}
    return client.post("/api/v1/patients", json={"full_name": "New Patient", "email": "new.patient@example.com",
                                                 "send_invitation": True}, headers=headers, **spoof)


def _web_patient_invitation(app, client, world, **spoof):
    _sign_in(client, world["prac_x"].email, **spoof)
    return client.post("/patients/new", data={"full_name": "New Patient", "email": "new.patient@example.com",
                                              "send_invitation": "y"}, **spoof)


def _web_invite_existing_patient(app, client, world, **spoof):
    staff = api_token(app.test_client(), world["prac_x"].email)
    patient = app.test_client().post("/api/v1/patients", headers=staff, json={
        "full_name": "Later Patient", "email": "later@example.com"}).get_json()
    _sign_in(client, world["prac_x"].email, **spoof)
    return client.post(f"/patients/{patient['id']}/invite", **spoof)


def _staff_invitation(app, client, world, **spoof):
    _sign_in(client, world["admin_x"].email, **spoof)
    return client.post("/admin/invitations", data={"name": "New Colleague", "email": "colleague@example.com",
                                                   "role": "practitioner"}, **spoof)


MAIL_FLOWS = {
    "reset": (_reset, "/auth/reset/"),
    "api-patient-invitation": (_api_patient_invitation, "/auth/invite/"),
    "web-patient-invitation": (_web_patient_invitation, "/auth/invite/"),
    "web-invite-existing-patient": (_web_invite_existing_patient, "/auth/invite/"),
    "staff-invitation": (_staff_invitation, "/auth/invite/"),
}


@pytest.mark.parametrize("server_name", ["tracker.test", None], ids=["server-name", "no-server-name"])
@pytest.mark.parametrize("flow", MAIL_FLOWS)
@pytest.mark.parametrize("spoof", SPOOFS)
def test_every_mail_links_to_the_base_url_whatever_the_request_names(app_factory, flow, spoof, server_name):
    # Production sets no SERVER_NAME: there url_for(_external=True) used the request's host.
    app = app_factory(TRACKER_PROXY_HOPS=1, TRACKER_TRUSTED_HOSTS=["alias.test"], SERVER_NAME=server_name)
    world = _world(app)
    outbox = app.extensions["tracker_mailer"].outbox
    send, path = MAIL_FLOWS[flow]
    response = send(app, app.test_client(), world, **SPOOFS[spoof])
    if spoof == "host":  # a host we do not serve: refused before anything is sent
        assert response.status_code == 400 and outbox == []
        return
    assert response.status_code in (201, 302), response.get_data(as_text=True)[:500]
    assert len(outbox) == 1
    links = LINK.findall(outbox[0].get_content())
    assert links and all(link.startswith(BASE + path) for link in links), links
    assert "evil" not in outbox[0].get_content() and "alias" not in outbox[0].get_content()


@pytest.mark.parametrize("flow", MAIL_FLOWS)
def test_mail_links_follow_the_configured_scheme_and_prefix(app_factory, flow):
    app = app_factory(TRACKER_BASE_URL="https://clinic.example:8443/tracker", TRACKER_TRUSTED_HOSTS=["tracker.test"])
    world = _world(app)
    send, path = MAIL_FLOWS[flow]
    assert send(app, app.test_client(), world).status_code in (201, 302)
    links = LINK.findall(app.extensions["tracker_mailer"].outbox[0].get_content())
    assert links and all(link.startswith("https://clinic.example:8443/tracker" + path) for link in links), links


def test_the_reset_link_from_a_spoofed_request_still_works_on_our_address(app, client, world, outbox):
    client.post("/auth/reset", data={"email": world["a"].email}, headers={"X-Forwarded-Host": "evil.example"})
    link = LINK.search(outbox[0].get_content()).group(0)
    assert link.startswith(BASE + "/auth/reset/")
    assert client.get(link).headers["Location"] == "/auth/reset/new"
    assert client.get("/auth/reset/new").status_code == 200


def test_no_module_builds_absolute_links_from_the_request():
    """Absolute links come from tracker.links.external_url; url_for(..., _external=True) would use the Host."""
    root = Path(__file__).resolve().parents[2] / "tracker"
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.py")
                 if re.search(r"_external\s*=\s*True|request\.(host_url|url_root)\b", path.read_text())
                 and path.name != "links.py"]
    assert offenders == []


# --- hosts ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["evil.example", "tracker.test.evil.example", "evil.example:80", "[::1]", "a b"])
def test_requests_for_other_hosts_are_refused_with_our_error(client, world, outbox, host):
    page = client.get("/auth/login", headers={"Host": host})
    assert page.status_code == 400 and "does not answer for that host name" in page.get_data(as_text=True)
    assert 'href="/"' in page.get_data(as_text=True), "our error page, linking home on our own address"
    api = client.get("/api/v1/me", headers={"Host": host})
    assert api.status_code == 400 and api.get_json()["error"]["code"] == "untrusted_host"
    assert client.post("/auth/reset", data={"email": world["a"].email}, headers={"Host": host}).status_code == 400
    assert client.post("/api/v1/tokens", json={"email": world["a"].email, "password": PASSWORD},
                       headers={"Host": host}).status_code == 400
    assert outbox == []


def test_our_hosts_are_served(app_factory):
    app = app_factory(TRACKER_TRUSTED_HOSTS=["alias.test"])
    client = app.test_client()
    for host in ("tracker.test", "tracker.test:8080", "alias.test", "localhost:5000", "127.0.0.1"):
        assert client.get("/auth/login", headers={"Host": host}).status_code == 200, host


def test_production_serves_only_the_base_url_host(app_factory, production_env):
    app = app_factory(TRACKER_ENV="production", SESSION_COOKIE_SECURE=False)
    assert app.config["TRUSTED_HOSTS"] == ["tracker.test"]
    client = app.test_client()
    assert client.get("/auth/login").status_code == 200
    assert client.get("/auth/login", headers={"Host": "127.0.0.1"}).status_code == 400
    assert client.get("/auth/login", headers={"Host": "localhost"}).status_code == 400


# --- proxies ----------------------------------------------------------------------------------------

def _failed_sign_in(client, email, forwarded_for):
    return client.post("/auth/login", data={"email": email, "password": "wrong password"},
                       headers={"X-Forwarded-For": forwarded_for}).status_code


def _ips(app):
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent.ip).where(AuditEvent.action == "auth.sign_in")
                                  .order_by(AuditEvent.id)).all()


def test_without_proxy_hops_a_forwarded_for_header_changes_nothing(app_factory):
    app = app_factory(TRACKER_LOGIN_LIMIT="3 per minute", TRACKER_ACCOUNT_LIMIT="100 per minute")
    _world(app)
    client = app.test_client()
    statuses = [_failed_sign_in(client, f"guess{i}@example.com", f"10.0.0.{i}") for i in range(4)]
    assert statuses == [401, 401, 401, 429], "one address, whatever it claims"
    assert set(_ips(app)) == {"127.0.0.1"}


def test_behind_one_proxy_each_client_has_its_own_limit_and_audit_address(app_factory):
    app = app_factory(TRACKER_PROXY_HOPS=1, TRACKER_LOGIN_LIMIT="3 per minute", TRACKER_ACCOUNT_LIMIT="100 per minute")
    world = _world(app)
    client = app.test_client()
    first = [_failed_sign_in(client, f"guess{i}@example.com", "203.0.113.7") for i in range(4)]
    second = [_failed_sign_in(client, f"other{i}@example.com", "198.51.100.9") for i in range(3)]
    assert first == [401, 401, 401, 429] and second == [401, 401, 401]
    assert _ips(app) == ["203.0.113.7"] * 3 + ["198.51.100.9"] * 3
    # Only the last hop (the proxy's own) is believed: a client's forged first entry is ignored.
    signed = client.post("/auth/login", data={"email": world["b"].email, "password": PASSWORD},
                         headers={"X-Forwarded-For": "6.6.6.6, 192.0.2.44"})
    assert signed.status_code == 302 and _ips(app)[-1] == "192.0.2.44"


@pytest.mark.parametrize(("hops", "seen"), [(0, "http tracker.test 127.0.0.1"), (1, "https tracker.test 192.0.2.1")])
def test_the_proxy_is_believed_about_scheme_and_client_but_never_about_the_host(app_factory, hops, seen):
    app = app_factory(TRACKER_PROXY_HOPS=hops)
    app.add_url_rule("/seen", "seen", lambda: f"{request.scheme} {request.host} {request.remote_addr}")
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", "X-Forwarded-For": "192.0.2.1"}
    assert app.test_client().get("/seen", headers=headers).get_data(as_text=True) == seen
