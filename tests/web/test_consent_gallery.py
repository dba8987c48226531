"""Consent, the public gallery, consultation requests and the audit trail."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from PIL import Image

from tests.factories import api_token, login, striae, upload
from tracker.extensions import db
from tracker.imaging import strip_check
from tracker.models import AuditEvent, Consent, ConsultationRequest, GalleryItem, Photo


def grant(client, headers, scope, version=1, name="Patient A", area_id=None):
    body = {"scope": scope, "text_version": version, "signature_name": name}
    if area_id is not None:
        body["area_id"] = area_id
    return client.post("/api/v1/me/consents", headers=headers, json=body)


# --- consent --------------------------------------------------------------------------------------

def test_patient_grants_and_withdraws_through_the_api(client, world, patient):
    response = grant(client, patient, "education", name="  patient   a ")
    assert response.status_code == 201
    consent = response.get_json()
    assert consent["scope"] == "education" and consent["status"] == "granted" and consent["area_id"] is None
    listed = client.get("/api/v1/me/consents", headers=patient).get_json()
    assert {c["scope"] for c in listed} == {"care", "education"}
    withdrawn = client.post(f"/api/v1/me/consents/{consent['id']}/withdraw", headers=patient).get_json()
    assert withdrawn["status"] == "withdrawn" and withdrawn["withdrawn_at"]


@pytest.mark.parametrize(("kwargs", "status"), [
    ({"scope": "gallery", "name": "Someone Else"}, 422),
    ({"scope": "telepathy"}, 422),
    ({"scope": "gallery", "version": 7}, 409),
    ({"scope": "care", "area_id": 1}, 422),
])
def test_bad_grants(app, client, world, patient, kwargs, status):
    before = db_count(app, Consent)
    response = grant(client, patient, **kwargs)
    assert response.status_code == status, response.get_json()
    assert db_count(app, Consent) == before
    if status == 409:
        assert response.get_json()["error"]["current_version"] == 1
        assert "public before/after gallery" in response.get_json()["error"]["current_text"]


def db_count(app, model):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_staff_can_never_grant_and_others_consents_are_404(client, world, staff, patient):
    assert grant(client, staff, "gallery").status_code == 403
    other = api_token(client, world["b"].email)
    mine = client.get("/api/v1/me/consents", headers=patient).get_json()[0]
    assert client.post(f"/api/v1/me/consents/{mine['id']}/withdraw", headers=other).status_code == 404
    assert grant(client, patient, "gallery", area_id=world["b"].area_id).status_code == 404


def test_consent_page_sign_and_withdraw_with_confirmation(app, client, world):
    login(client, world["a"].email)
    page = client.get("/consent/").get_data(as_text=True)
    assert "public before/after gallery" in page.lower() and "Version 1" in page
    response = client.post("/consent/grant/gallery", data={"gallery-scope": "gallery", "gallery-text_version": "1",
                                                           "gallery-area_id": str(world["a"].area_id),
                                                           "gallery-agree": "y", "gallery-signature_name": "Patient A"})
    assert response.status_code == 302
    unticked = client.post("/consent/grant/marketing", data={"marketing-scope": "marketing",
                                                             "marketing-text_version": "1",
                                                             "marketing-signature_name": "Patient A"})
    assert unticked.status_code == 400 and "Tick the box" in unticked.get_data(as_text=True)
    with app.app_context():
        consent = db.session.scalars(sa.select(Consent).where(Consent.scope == "gallery")).one()
        assert consent.area_id == world["a"].area_id and consent.text_sha256 and consent.granted_ip
    confirm = client.get(f"/consent/{consent.id}/withdraw").get_data(as_text=True)
    assert "takes effect immediately" in confirm
    assert client.post(f"/consent/{consent.id}/withdraw").status_code == 302
    staff = app.test_client()
    login(staff, world["prac_x"].email)
    read_only = staff.get(f"/consent/patients/{world['a'].patient_id}").get_data(as_text=True)
    assert "read-only for staff" in read_only and "Withdrawn" in read_only
    assert staff.post("/consent/grant/gallery", data={}).status_code == 403


def test_care_consent_is_required_before_photos(app, client, world, staff, patient):
    mine = [c for c in client.get("/api/v1/me/consents", headers=patient).get_json() if c["scope"] == "care"][0]
    client.post(f"/api/v1/me/consents/{mine['id']}/withdraw", headers=patient)
    for headers in (patient, staff):
        response = upload(client, world["a"].area_id, striae(1, 0.5, size=(400, 300)), headers=headers,
                          taken_on="2026-01-10")
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "consent_required"
    assert db_count(app, Photo) == 0
    assert grant(client, patient, "care").status_code == 201
    assert upload(client, world["a"].area_id, striae(1, 0.5, size=(400, 300)), headers=patient,
                  taken_on="2026-01-10").status_code == 201


# --- gallery --------------------------------------------------------------------------------------

def _published_item(app, client, world, staff, patient):
    from datetime import date

    from tests.factories import make_session

    with app.app_context():
        make_session(world["a"].course_id, 1, date(2026, 1, 12))
        db.session.commit()
    base = upload(client, world["a"].area_id, striae(5, 0.9), headers=staff, taken_on="2026-01-10",
                  view="front").get_json()
    after = upload(client, world["a"].area_id, striae(5, 0.4, pose=(3, 1.03, 10, 5)), headers=staff,
                   taken_on="2026-05-15", view="front").get_json()
    login(client, world["prac_x"].email)
    no_consent = client.post(f"/gallery/propose/{world['a'].area_id}", data={
        "before_id": base["id"], "after_id": after["id"], "crop": "50,40,700,520", "blur": "60,60,120,120"})
    assert no_consent.status_code == 400
    assert "has not consented to the public gallery for this area" in no_consent.get_data(as_text=True)
    assert grant(client, patient, "gallery", area_id=world["a"].area_id).status_code == 201
    proposed = client.post(f"/gallery/propose/{world['a'].area_id}", data={
        "before_id": base["id"], "after_id": after["id"], "crop": "50,40,700,520", "blur": "60,60,120,120"})
    assert proposed.status_code == 302
    with app.app_context():
        item = db.session.scalars(sa.select(GalleryItem)).one()
        assert item.status.value == "awaiting_patient"
        assert item.caption.endswith("4 months after the 1st of 1 session")
    public = app.test_client()
    assert item.public_id not in public.get("/c/clinic-x").get_data(as_text=True), "not public before approval"
    owner = app.test_client()
    login(owner, world["a"].email)
    assert f"/gallery/items/{item.id}/before.jpg" in owner.get("/gallery/").get_data(as_text=True)
    assert owner.post(f"/gallery/items/{item.id}/decide", data={"approve": "1"}).status_code == 302
    return item, base, after


def test_gallery_publish_and_withdrawal_takes_effect_on_the_very_next_request(app, client, world, staff, patient):
    item, _base, _after = _published_item(app, client, world, staff, patient)
    visitor = app.test_client()
    page = visitor.get("/c/clinic-x")
    assert page.status_code == 200 and item.public_id in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    feed = visitor.get("/api/v1/clinics/clinic-x/gallery")
    assert [i["id"] for i in feed.get_json()["items"]] == [item.public_id]
    image_url = feed.get_json()["items"][0]["images"]["after"]
    assert visitor.get(image_url).status_code == 200
    consent = [c for c in client.get("/api/v1/me/consents", headers=patient).get_json() if c["scope"] == "gallery"][0]
    client.post(f"/api/v1/me/consents/{consent['id']}/withdraw", headers=patient)
    assert item.public_id not in visitor.get("/c/clinic-x").get_data(as_text=True)
    assert visitor.get("/api/v1/clinics/clinic-x/gallery").get_json()["items"] == []
    assert visitor.get(image_url).status_code == 404
    with app.app_context():
        assert db.session.get(GalleryItem, item.id).status.value == "withdrawn"


def test_gallery_images_are_deidentified(app, client, world, staff, patient):
    item, base, after = _published_item(app, client, world, staff, patient)
    visitor = app.test_client()
    html = visitor.get("/c/clinic-x").get_data(as_text=True)
    # the patient's internal id as a path segment (a random public id may well end in the same digit)
    for secret in ("Patient A", "a@example.com", "1990-01-02", "2 Jan 1990", "2026-01-10", "2026-05-15",
                   f"/{world['a'].patient_id}/", f"/patients/{world['a'].patient_id}", f"/photos/{after['id']}"):
        assert secret not in html, secret
    data = visitor.get(f"/c/clinic-x/g/{item.public_id}/after.jpg").data
    assert not any(strip_check(data).values())
    published = Image.open(io.BytesIO(data))
    assert published.size == (700, 520), "cropped"
    original = client.get(f"/api/v1/photos/{after['id']}/image/original", headers=staff).data
    assert data != original and published.info.get("icc_profile") is None
    before = Image.open(io.BytesIO(visitor.get(f"/c/clinic-x/g/{item.public_id}/before.jpg").data)).convert("L")
    block = before.crop((10, 20, 130, 140))  # the blurred rectangle, shifted by the crop
    assert len(set(block.get_flattened_data())) < 400, "pixelated"
    assert visitor.get(f"/c/clinic-y/g/{item.public_id}/after.jpg").status_code == 404, "other clinic's page"
    assert visitor.get("/c/clinic-x/g/0123456789abcdef0123456789abcdef/after.jpg").status_code == 404


def test_gallery_filters_and_unpublish(app, client, world, staff, patient):
    item, _b, _a = _published_item(app, client, world, staff, patient)
    visitor = app.test_client()
    assert item.public_id in visitor.get("/c/clinic-x?modality=stem_cell_injection&region=abdomen").get_data(
        as_text=True)
    assert item.public_id not in visitor.get("/c/clinic-x?region=face").get_data(as_text=True)
    assert client.post(f"/gallery/items/{item.id}/unpublish").status_code == 302
    assert item.public_id not in visitor.get("/c/clinic-x").get_data(as_text=True)


def test_patient_declines_and_nothing_is_published(app, client, world, staff, patient):
    from datetime import date

    from tests.factories import make_session

    with app.app_context():
        make_session(world["a"].course_id, 1, date(2026, 1, 12))
        db.session.commit()
    base = upload(client, world["a"].area_id, striae(5, 0.9), headers=staff, taken_on="2026-01-10", view="front")
    after = upload(client, world["a"].area_id, striae(5, 0.5, pose=(2, 1.0, 6, 3)), headers=staff,
                   taken_on="2026-03-10", view="front")
    grant(client, patient, "gallery")
    login(client, world["prac_x"].email)
    client.post(f"/gallery/propose/{world['a'].area_id}", data={"before_id": base.get_json()["id"],
                                                                "after_id": after.get_json()["id"]})
    with app.app_context():
        item = db.session.scalars(sa.select(GalleryItem)).one()
    assert client.post(f"/gallery/items/{item.id}/decide", data={"approve": "1"}).status_code == 403
    with app.app_context():
        assert db.session.get(GalleryItem, item.id).status.value == "awaiting_patient", "staff cannot approve"
    owner = app.test_client()
    login(owner, world["a"].email)
    owner.post(f"/gallery/items/{item.id}/decide", data={"approve": "0"})
    assert item.public_id not in app.test_client().get("/c/clinic-x").get_data(as_text=True)


# --- consultation requests ------------------------------------------------------------------------

XSS = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def _consult(client, **fields):
    data = {"name": "Jo Public", "email": "jo@example.com", "consent_to_contact": "y", **fields}
    return client.post("/c/clinic-x/consultation", data=data)


def test_consultation_with_script_in_every_field_is_stored_literally_and_rendered_inert(app, client, world):
    visitor = app.test_client()
    response = _consult(visitor, name=XSS, phone=XSS[:40], area_of_concern=XSS, preferred_time=XSS[:120],
                        message=XSS)
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.scalars(sa.select(ConsultationRequest)).one()
        assert stored.name == XSS and stored.message == XSS
    login(client, world["prac_x"].email)
    inbox = client.get("/gallery/inbox").get_data(as_text=True)
    assert "<script>alert(1)" not in inbox and "&lt;script&gt;alert(1)&lt;/script&gt;" in inbox
    assert "onerror=alert(2)>" not in inbox


def test_consultation_bad_input_honeypot_and_flood(app, client, world):
    visitor = app.test_client()
    assert _consult(visitor, email="", phone="").status_code == 400
    assert _consult(visitor, consent_to_contact="").status_code == 400
    assert _consult(visitor, website="http://spam.example").status_code == 302
    assert db_count(app, ConsultationRequest) == 0


def test_consultation_flood_from_one_address_is_429(app, world):
    visitor = app.test_client()
    statuses = [_consult(visitor, name=f"Person {i}").status_code for i in range(6)]
    assert statuses[:5] == [302] * 5 and statuses[5] == 429
    assert db_count(app, ConsultationRequest) == 5


def test_consultation_becomes_a_patient_invitation(app, client, world, outbox):
    _consult(app.test_client())
    login(client, world["prac_x"].email)
    with app.app_context():
        request_id = db.session.scalars(sa.select(ConsultationRequest.id)).one()
    response = client.post(f"/gallery/inbox/{request_id}/invite")
    assert response.status_code == 302 and "/patients/" in response.headers["Location"]
    assert outbox and outbox[-1]["To"] == "jo@example.com"
    other = app.test_client()
    login(other, world["prac_y"].email)
    assert other.post(f"/gallery/inbox/{request_id}/status", data={"status": "closed"}).status_code == 404


# --- audit trail ----------------------------------------------------------------------------------

def test_practitioner_timeline_view_is_audited_and_the_patient_can_see_it(app, client, world, staff):
    upload(client, world["a"].area_id, striae(5, 0.9, size=(400, 300)), headers=staff, taken_on="2026-01-10")
    login(client, world["prac_x"].email)
    client.get(f"/timeline/area/{world['a'].area_id}")
    owner = app.test_client()
    login(owner, world["a"].email)
    page = owner.get("/audit/me").get_data(as_text=True)
    assert "Prac_X" in page and "viewed a timeline" in page
    owner.get(f"/timeline/area/{world['a'].area_id}")
    assert owner.get("/audit/me").get_data(as_text=True).count("viewed a timeline") == 1, "own views left out"
    admin = app.test_client()
    login(admin, world["admin_x"].email)
    found = admin.get("/audit/?action=timeline.").get_data(as_text=True)
    assert "timeline.view" in found and "prac_x@example.com" in found
    assert owner.get("/audit/").status_code == 403 and client.get("/audit/").status_code == 403


def test_sign_ins_consents_exports_and_denials_are_audited(app, client, world, patient):
    login(app.test_client(), world["a"].email, "wrong password!")
    grant(client, patient, "education")
    login(client, world["prac_x"].email)
    client.get(f"/outcomes/patients/{world['a'].patient_id}/export/sessions.csv")
    client.get(f"/patients/{world['c'].patient_id}")
    with app.app_context():
        actions = {(e.action, e.outcome) for e in db.session.scalars(sa.select(AuditEvent))}
        failed = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.outcome == "failed")).first()
        assert failed.detail == {"email": world["a"].email}
    for expected in (("auth.sign_in", "failed"), ("auth.sign_in", "ok"), ("consent.grant", "ok"), ("export", "ok"),
                     ("access.denied", "denied"), ("auth.token", "ok")):
        assert expected in actions, expected


def test_audit_entries_cannot_be_changed_through_the_app(app):
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/audit")]
    assert all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in rules)


def test_audit_never_stores_passwords(app, client, world):
    login(client, world["a"].email, "my secret pass phrase")
    with app.app_context():
        blob = " ".join(str(e.detail) + e.user_agent for e in db.session.scalars(sa.select(AuditEvent)))
    assert "my secret pass phrase" not in blob


def test_api_gallery_proposal_without_consent_is_422_with_the_reason(app, client, world, staff, patient):
    base = upload(client, world["a"].area_id, striae(5, 0.9), headers=staff, taken_on="2026-01-10",
                  view="front").get_json()
    after = upload(client, world["a"].area_id, striae(5, 0.4, pose=(3, 1.03, 10, 5)), headers=staff,
                   taken_on="2026-05-15", view="front").get_json()
    url = f"/api/v1/areas/{world['a'].area_id}/gallery-proposals"
    response = client.post(url, headers=staff, json={"before_id": base["id"], "after_id": after["id"]})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "consent_missing"
    assert "not consented to the public gallery" in response.get_json()["error"]["message"]
    assert client.post(url, headers=patient, json={"before_id": base["id"], "after_id": after["id"]}
                       ).status_code == 403
    assert db_count(app, GalleryItem) == 0
