"""Logs name no patient or person (issue 11): INFO lines carry ids and paths, never e-mail addresses or names."""

from __future__ import annotations

import logging
from pathlib import Path

from tests.factories import PASSWORD, api_token, build_world, login


def test_mail_and_sign_in_logs_name_no_one(app_factory, caplog):
    app = app_factory(TRACKER_MAIL_BACKEND="file")
    with app.app_context():
        world = build_world()
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    client.post("/auth/reset", data={"email": world["a"].email})
    staff = api_token(app.test_client(), world["prac_x"].email)
    created = client.post("/api/v1/patients", headers=staff, json={
        "full_name": "Maria Privacy", "email": "maria.privacy@example.com", "send_invitation": True})
    assert created.status_code == 201
    assert login(app.test_client(), world["b"].email, "wrong password").status_code == 401
    admin = app.test_client()
    login(admin, world["admin_x"].email, PASSWORD)
    admin.post("/admin/invitations", data={"name": "Colleague Privacy", "email": "colleague.privacy@example.com",
                                           "role": "practitioner"})
    mails = sorted((Path(app.instance_path) / "mail").glob("*.eml"))
    assert len(mails) == 3, "reset, patient invitation, staff invitation"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged.count("mail written to") == 3 and all(str(path) in logged for path in mails)
    for personal in (world["a"].email, world["b"].email, "maria.privacy@example.com", "Maria Privacy",
                     "colleague.privacy@example.com", "Colleague Privacy", "@example.com"):
        assert personal not in logged
