"""Changes to the record enter the audit trail: who created, changed or deleted what (old → new), in the
transaction of the change — and clinic admins read the trail through GET /api/v1/audit.

Each kind of change is made through its real route (API or page); the test then reads the entries the request
wrote and asserts exactly which ones, with actor, action, object, patient and changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import PASSWORD, api_token, login, small_jpeg, upload
from tracker.extensions import db
from tracker.models import AuditEvent, Photo, User

PHOTO = small_jpeg(1, (400, 300))


def redacted(text: str) -> dict[str, Any]:
    """The shape of a redacted value (the digest is keyed by the app's secret, so only its form is known)."""
    return {"redacted": True, "length": len(text), "digest": DIGEST}


class _AnyDigest:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and len(other) == 16 and all(c in "0123456789abcdef" for c in other)


DIGEST = _AnyDigest()


def last_id(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.id), 0)))


def change_entries(app, after: int) -> list[AuditEvent]:
    """The entries about changes to the record written since ``after`` (access events left out)."""
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.id > after, AuditEvent.changes.is_not(None))
                                  .order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return list(rows)


@pytest.fixture
def record(app, client, world, staff) -> dict[str, int]:
    """A photo (front view), a session with an injected volume and a side effect in patient A's record."""
    a = world["a"]
    photo = upload(client, a.area_id, PHOTO, headers=staff, taken_on="2026-01-10", view="front")
    session = client.post(f"/api/v1/patients/{a.patient_id}/sessions", headers=staff, json={
        "course_id": a.course_id, "performed_on": "2026-01-12", "injected_ml": {str(a.area_id): 2.5}})
    event = client.post(f"/api/v1/patients/{a.patient_id}/adverse-events", headers=staff, json={
        "kind": "swelling", "severity": "mild", "onset": "2026-01-13"})
    assert (photo.status_code, session.status_code, event.status_code) == (201, 201, 201)
    return {"photo": photo.get_json()["id"], "session": session.get_json()["id"], "event": event.get_json()["id"]}


@dataclass(frozen=True)
class Change:
    name: str
    actor: str                                       # world key of who does it
    do: Callable[[Any, Any, dict[str, int], dict[str, str]], Any]  # (client, world, record, headers) -> response
    action: str
    object_type: str
    object_id: Callable[[Any, dict[str, int], Any], Any]            # (world, record, response) -> id
    changes: Callable[[Any, dict[str, int]], dict[str, Any]]      # (world, record) -> exactly the changes
    patient: str | None = "a"
    web: bool = False                                # signed in with a browser session instead of a token


def _json_id(_w, _r, response):
    return response.get_json()["id"]


A_AREA = lambda w: w["a"].area_id  # noqa: E731

CHANGES = [
    Change("photo upload", "prac_x",
           lambda c, w, r, h: upload(c, w["a"].area_id, small_jpeg(7, (400, 300)), headers=h, taken_on="2026-01-20",
                                     view="close_up", note="bruise left", filename="jane-belly.jpg"),
           "photo.create", "photo", _json_id,
           lambda w, r: {"patient_id": {"new": w["a"].patient_id}, "area_id": {"new": w["a"].area_id},
                         "taken_on": {"new": "2026-01-20"}, "taken_on_source": {"new": "user"},
                         "view": {"new": "close_up"}, "note": {"new": redacted("bruise left")},
                         "original_format": {"new": "jpeg"},
                         "original_size": {"new": len(small_jpeg(7, (400, 300)))},
                         "sha256": {"new": hashlib.sha256(small_jpeg(7, (400, 300))).hexdigest()},
                         "client_filename": {"new": redacted("jane-belly.jpg")}}),
    Change("photo edit", "prac_x",
           lambda c, w, r, h: c.patch(f"/api/v1/photos/{r['photo']}", headers=h,
                                      json={"taken_on": "2026-01-11", "view": "close_up", "note": "healing well"}),
           "photo.update", "photo", lambda w, r, _: r["photo"],
           lambda w, r: {"taken_on": {"old": "2026-01-10", "new": "2026-01-11"},
                         "view": {"old": "front", "new": "close_up"},
                         "note": {"old": "", "new": redacted("healing well")}}),
    Change("photo edit on the page", "a",
           lambda c, w, r, h: c.post(f"/photos/{r['photo']}/edit", data={"taken_on": "2026-01-09", "view": "front"}),
           "photo.update", "photo", lambda w, r, _: r["photo"],
           lambda w, r: {"taken_on": {"old": "2026-01-10", "new": "2026-01-09"}}, web=True),
    Change("photo delete", "prac_x", lambda c, w, r, h: c.delete(f"/api/v1/photos/{r['photo']}", headers=h),
           "photo.delete", "photo", lambda w, r, _: r["photo"],
           lambda w, r: {"deleted_at": {"old": None, "new": ANY_TIME}}),
    Change("baseline pin", "prac_x", lambda c, w, r, h: c.post(f"/api/v1/photos/{r['photo']}/baseline", headers=h),
           "baseline.pin", "baseline", lambda w, r, _: ANY_ID,
           lambda w, r: {"patient_id": {"new": w["a"].patient_id}, "area_id": {"new": w["a"].area_id},
                         "view_key": {"new": "front"}, "photo_id": {"new": r["photo"]}}),
    Change("session recorded", "prac_x",
           lambda c, w, r, h: c.post(f"/api/v1/patients/{w['a'].patient_id}/sessions", headers=h, json={
               "course_id": w["a"].course_id, "performed_on": "2026-02-23", "notes": "second pass",
               "injected_ml": {str(w["a"].area_id): 1.5}, "lot_number": "L-77"}),
           "session.create", "session", _json_id,
           lambda w, r: {"patient_id": {"new": w["a"].patient_id}, "course_id": {"new": w["a"].course_id},
                         "number": {"new": 2}, "performed_on": {"new": "2026-02-23"},
                         "modality": {"new": "stem_cell_injection"}, "notes": {"new": redacted("second pass")},
                         "practitioner_id": {"new": w["prac_x"].user_id}, "lot_number": {"new": "L-77"},
                         f"areas.{w['a'].area_id}": {"new": {"area_id": w["a"].area_id, "injected_ml": 1.5}}}),
    Change("session corrected", "prac_x",
           lambda c, w, r, h: c.patch(f"/api/v1/sessions/{r['session']}", headers=h, json={
               "performed_on": "2026-01-14", "injected_ml": {str(w["a"].area_id): 3.0}}),
           "session.update", "session", lambda w, r, _: r["session"],
           lambda w, r: {"performed_on": {"old": "2026-01-12", "new": "2026-01-14"},
                         f"areas.{w['a'].area_id}": {"old": {"area_id": w["a"].area_id, "injected_ml": 2.5},
                                                     "new": {"area_id": w["a"].area_id, "injected_ml": 3.0}}}),
    Change("assessment", "prac_x",
           lambda c, w, r, h: c.post(f"/api/v1/areas/{w['a'].area_id}/assessments", headers=h, json={
               "scale": "davey", "score": 3, "assessed_on": "2026-01-22"}),
           "assessment.create", "assessment", _json_id,
           lambda w, r: {"patient_id": {"new": w["a"].patient_id}, "area_id": {"new": w["a"].area_id},
                         "scale": {"new": "davey"}, "score": {"new": 3.0}, "assessed_on": {"new": "2026-01-22"},
                         "rater": {"new": "practitioner"}}),
    Change("side effect in the patient's diary", "a",
           lambda c, w, r, h: c.post(f"/api/v1/patients/{w['a'].patient_id}/adverse-events", headers=h, json={
               "kind": "redness", "severity": "moderate", "onset": "2026-01-14", "description": "red patch"}),
           "adverse_event.report", "adverse_event", _json_id,
           lambda w, r: {"patient_id": {"new": w["a"].patient_id}, "kind": {"new": "redness"},
                         "severity": {"new": "moderate"}, "onset": {"new": "2026-01-14"},
                         "description": {"new": redacted("red patch")}, "reporter": {"new": "patient"}}),
    Change("side effect resolved", "prac_x",
           lambda c, w, r, h: c.post(f"/api/v1/adverse-events/{r['event']}/resolve", headers=h,
                                     json={"resolved_on": "2026-01-20"}),
           "adverse_event.resolve", "adverse_event", lambda w, r, _: r["event"],
           lambda w, r: {"resolved_on": {"old": None, "new": "2026-01-20"}}),
    Change("region of interest", "prac_x",
           lambda c, w, r, h: c.put(f"/api/v1/areas/{w['a'].area_id}/regions/front", headers=h,
                                    json={"points": [[20, 20], [300, 20], [300, 250], [20, 250]]}),
           "region.create", "region", lambda w, r, _: ANY_ID,
           lambda w, r: {"patient_id": {"new": w["a"].patient_id}, "area_id": {"new": w["a"].area_id},
                         "view_key": {"new": "front"}, "baseline_photo_id": {"new": r["photo"]},
                         "points": {"new": [[20.0, 20.0], [300.0, 20.0], [300.0, 250.0], [20.0, 250.0]]}}),
    Change("follow-up decision", "prac_x",
           lambda c, w, r, h: c.post(f"/outcomes/areas/{w['a'].area_id}/review",
                                     data={"decision": "touch_up", "touch_up_months": "6", "note": "good result"}),
           "decision.create", "decision", lambda w, r, _: ANY_ID,
           lambda w, r: {"patient_id": {"new": w["a"].patient_id}, "area_id": {"new": w["a"].area_id},
                         "decision": {"new": "touch_up"}, "touch_up_months": {"new": 6},
                         "decided_on": {"new": date.today().isoformat()}, "note": {"new": redacted("good result")}},
           web=True),
    Change("patient", "prac_x",
           lambda c, w, r, h: c.post("/api/v1/patients", headers=h, json={
               "full_name": "Dana Example", "date_of_birth": "1980-02-03", "fitzpatrick": 2}),
           "patient.create", "patient", _json_id,
           lambda w, r: {"clinic_id": {"new": w.clinic_x}, "full_name": {"new": redacted("Dana Example")},
                         "date_of_birth": {"new": redacted("1980-02-03")}, "fitzpatrick": {"new": 2}},
           patient=None),
    Change("treated area", "prac_x",
           lambda c, w, r, h: c.post(f"/api/v1/patients/{w['a'].patient_id}/areas", headers=h, json={
               "name": "Thigh – right", "body_region": "thighs", "views": ["front"]}),
           "area.create", "area", _json_id,
           lambda w, r: {"patient_id": {"new": w["a"].patient_id}, "name": {"new": "Thigh – right"},
                         "body_region": {"new": "thighs"}, "views": {"new": ["front"]}}),
    Change("treatment course", "prac_x",
           lambda c, w, r, h: c.post(f"/api/v1/patients/{w['a'].patient_id}/courses", headers=h, json={
               "indication": "Striae", "modality": "topical", "planned_sessions": 2, "interval_weeks": 4,
               "start_date": "2026-03-01", "area_ids": [w["a"].area_id]}),
           "course.create", "course", _json_id,
           lambda w, r: {"patient_id": {"new": w["a"].patient_id}, "indication": {"new": "Striae"},
                         "modality": {"new": "topical"}, "planned_sessions": {"new": 2}, "interval_weeks": {"new": 4},
                         "start_date": {"new": "2026-03-01"},
                         f"areas.{w['a'].area_id}": {"new": {"area_id": w["a"].area_id}}}),
    Change("consent grant", "a",
           lambda c, w, r, h: c.post("/api/v1/me/consents", headers=h, json={
               "scope": "education", "text_version": 1, "signature_name": "Patient A"}),
           "consent.grant", "consent", _json_id,
           lambda w, r: {"patient_id": {"new": w["a"].patient_id}, "scope": {"new": "education"},
                         "text_id": {"new": ANY_ID}, "text_version": {"new": 1}, "text_sha256": {"new": ANY_SHA},
                         "signature_name": {"new": redacted("Patient A")}}),
    Change("staff role", "admin_x",
           lambda c, w, r, h: c.post(f"/admin/users/{w['prac_x'].user_id}/role", data={"role": "clinic_admin"}),
           "user.role_change", "user", lambda w, r, _: w["prac_x"].user_id,
           lambda w, r: {"role": {"old": "practitioner", "new": "clinic_admin"}}, patient=None, web=True),
    Change("staff disabled", "admin_x",
           lambda c, w, r, h: c.post(f"/admin/users/{w['prac_x'].user_id}/active", data={"active": "0"}),
           "user.disable", "user", lambda w, r, _: w["prac_x"].user_id,
           lambda w, r: {"active": {"old": True, "new": False}}, patient=None, web=True),
    Change("clinic settings", "admin_x",
           lambda c, w, r, h: c.post("/admin/settings", data={"window_start": "21", "window_end": "70",
                                                             "mid_davey": "2", "unit_davey": "points",
                                                             "guidance": "Call us."}),
           "clinic.update", "clinic", lambda w, r, _: w.clinic_x,
           lambda w, r: {"outcome_settings": {"old": {}, "new": {"window": [21, 70], "mid": {"davey": {"points": 2.0}}}},
                         "side_effect_guidance": {"old": ANY_REDACTED, "new": redacted("Call us.")}},
           patient=None, web=True),
    Change("clinic scale", "admin_x",
           lambda c, w, r, h: c.post("/admin/settings/scales", data={
               "code": "vss", "name": "Vancouver Scar Scale", "minimum": "0", "maximum": "13",
               "lower_is_better": "1", "mid": "2"}),
           "scale.create", "scale", lambda w, r, _: ANY_ID,
           lambda w, r: {"clinic_id": {"new": w.clinic_x}, "code": {"new": "vss"},
                         "name": {"new": "Vancouver Scar Scale"}, "minimum": {"new": 0.0}, "maximum": {"new": 13.0},
                         "lower_is_better": {"new": True}, "mid": {"new": 2.0}}, patient=None, web=True),
    Change("staff invitation", "admin_x",
           lambda c, w, r, h: c.post("/admin/invitations", data={"name": "New Colleague", "email": "nc@example.com",
                                                                 "role": "practitioner"}),
           "invitation.create", "invitation", lambda w, r, _: ANY_ID,
           lambda w, r: {"clinic_id": {"new": w.clinic_x}, "email": {"new": redacted("nc@example.com")},
                         "name": {"new": redacted("New Colleague")}, "role": {"new": "practitioner"}},
           patient=None, web=True),
    Change("two-step policy", "admin_x",
           lambda c, w, r, h: c.post("/admin/two-factor-policy", data={"required": "1"}),
           "clinic.two_factor_policy", "clinic", lambda w, r, _: w.clinic_x,
           lambda w, r: {"require_staff_two_factor": {"old": False, "new": True}}, patient=None, web=True),
]


class _Pattern:
    def __init__(self, test: Callable[[Any], bool], name: str) -> None:
        self.test, self.name = test, name

    def __eq__(self, other: object) -> bool:
        return self.test(other)

    def __repr__(self) -> str:
        return self.name


ANY_ID = _Pattern(lambda v: isinstance(v, int) and v > 0 or isinstance(v, str) and v.isdigit(), "ANY_ID")
ANY_SHA = _Pattern(lambda v: isinstance(v, str) and len(v) == 64, "ANY_SHA")
ANY_TIME = _Pattern(lambda v: isinstance(v, str) and datetime.fromisoformat(v).tzinfo is not None, "ANY_TIME")
ANY_REDACTED = _Pattern(lambda v: isinstance(v, dict) and v.get("redacted") is True and v.get("digest") == DIGEST,
                        "ANY_REDACTED")


@pytest.mark.parametrize("case", CHANGES, ids=[c.name for c in CHANGES])
def test_each_change_to_the_record_writes_exactly_its_entry(app, client, world, record, case):
    if case.web:
        login(client, world[case.actor].email)
        headers: dict[str, str] = {}
    else:
        headers = api_token(client, world[case.actor].email)
    before = last_id(app)
    response = case.do(client, world, record, headers)
    assert response.status_code < 400, response.get_data(as_text=True)[:300]
    entries = change_entries(app, before)
    assert [e.action for e in entries] == [case.action]
    entry = entries[0]
    assert entry.object_type == case.object_type
    expected_id = case.object_id(world, record, response)
    assert expected_id == entry.object_id if isinstance(expected_id, _Pattern) else entry.object_id == str(expected_id)
    assert entry.actor_id == world[case.actor].user_id
    assert entry.actor_role == {"prac_x": "practitioner", "admin_x": "clinic_admin", "a": "patient"}[case.actor]
    assert entry.patient_id == (world[case.patient].patient_id if case.patient else
                                (response.get_json()["id"] if case.object_type == "patient" else None))
    assert entry.clinic_id == world.clinic_x
    assert entry.ip == "127.0.0.1" and entry.outcome == "ok"
    assert entry.changes == case.changes(world, record)


def test_deleting_a_pinned_baseline_records_both(app, client, world, record, staff):
    assert client.post(f"/api/v1/photos/{record['photo']}/baseline", headers=staff).status_code == 200
    before = last_id(app)
    assert client.delete(f"/api/v1/photos/{record['photo']}", headers=staff).status_code == 204
    entries = change_entries(app, before)
    assert sorted(e.action for e in entries) == ["baseline.unpin", "photo.delete"]
    unpin = next(e for e in entries if e.action == "baseline.unpin")
    assert unpin.changes["photo_id"] == {"old": record["photo"]} and unpin.patient_id == world["a"].patient_id


# Bulk UPDATE/DELETE statements bypass the ORM and so the audit trail. Allowed on audited models only where the
# change is recorded otherwise: the race-safe claim of an invitation (the account it creates is user.create) and of
# a two-step code (totp_last_step is not audited).
BULK_ALLOWED = {("auth/services.py", "Invitation"), ("auth/two_factor.py", "User")}


def test_audited_rows_are_never_changed_by_bulk_statements():
    import re

    from tracker.audit import audited_models

    audited = {m.__name__ for m in audited_models()}
    root = Path(__file__).resolve().parents[2] / "tracker"
    found = set()
    for path in root.rglob("*.py"):
        for model in re.findall(r"sa\.(?:update|delete)\((\w+)\)", path.read_text(encoding="utf-8")):
            if model in audited:
                found.add((path.relative_to(root).as_posix(), model))
    assert found <= BULK_ALLOWED, found - BULK_ALLOWED


def test_processing_alignment_and_reading_add_no_entries(app, client, world, record, staff):
    """Technical changes (derivatives, alignment, metrics) are left out; a second photo of the view is aligned
    onto the first without any entry but its own upload."""
    before = last_id(app)
    second = upload(client, world["a"].area_id, small_jpeg(3, (400, 300)), headers=staff, taken_on="2026-02-10",
                    view="front")
    assert second.status_code == 201
    client.get(f"/api/v1/areas/{world['a'].area_id}/timeline", headers=staff)
    client.post(f"/api/v1/photos/{second.get_json()['id']}/align", headers=staff)
    assert [e.action for e in change_entries(app, before)] == ["photo.create"]


def count_audit_inserts(app, action: Callable[[], Any]) -> int:
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    return sum(s.startswith("INSERT INTO audit_events") for s in statements)


def test_an_upload_adds_one_insert_and_reading_adds_none(app, client, world, record, staff):
    area = world["a"].area_id
    assert count_audit_inserts(app, lambda: upload(client, area, small_jpeg(4, (400, 300)), headers=staff,
                                                   taken_on="2026-02-11", view="front")) == 1
    assert count_audit_inserts(app, lambda: client.get(f"/api/v1/areas/{area}/photos", headers=staff)) == 0
    assert count_audit_inserts(app, lambda: client.get(f"/api/v1/patients/{world['a'].patient_id}/sessions",
                                                       headers=staff)) == 0


# --- rolled back: no entry -----------------------------------------------------------------------

@pytest.mark.parametrize(("name", "request_it"), [
    ("refused upload (future date)", lambda c, w, r, h: upload(c, w["a"].area_id, small_jpeg(8), headers=h,
                                                                taken_on=(date.today() + timedelta(days=9))
                                                                .isoformat())),
    ("duplicate upload (409)", lambda c, w, r, h: upload(c, w["a"].area_id, PHOTO, headers=h, taken_on="2026-01-10")),
    ("session number taken (409)", lambda c, w, r, h: c.post(
        f"/api/v1/patients/{w['a'].patient_id}/sessions", headers=h,
        json={"course_id": w["a"].course_id, "performed_on": "2026-02-01", "number": 1})),
    ("photo edit refused (view not of the area)", lambda c, w, r, h: c.patch(
        f"/api/v1/photos/{r['photo']}", headers=h, json={"taken_on": "2026-01-11", "view": "left_oblique"})),
    ("resolved before onset", lambda c, w, r, h: c.post(f"/api/v1/adverse-events/{r['event']}/resolve", headers=h,
                                                        json={"resolved_on": "2026-01-01"})),
])
def test_a_refused_use_case_leaves_no_change_entry(app, client, world, record, staff, name, request_it):
    before = last_id(app)
    response = request_it(client, world, record, staff)
    assert response.status_code in (409, 422), response.get_json()
    assert change_entries(app, before) == []
    with app.app_context():
        assert db.session.get(Photo, record["photo"]).taken_on == date(2026, 1, 10)


def test_entries_are_written_in_the_transaction_of_the_change(app, world, record):
    """The entry goes through the same connection as the change, after its flush and before the commit; when the
    commit itself fails, neither the change nor its entry exists."""
    from tracker.photos.services import update_photo

    statements: list[tuple[int, str]] = []

    def seen(conn, _cursor, statement, *_args) -> None:
        statements.append((id(conn.connection.dbapi_connection), statement.split(" (")[0][:40]))

    def refuse_commit(_conn) -> None:
        raise RuntimeError("the disk is full")

    with app.test_request_context():
        engine = db.engine
        actor = db.session.get(User, world["prac_x"].user_id)
        photo = db.session.get(Photo, record["photo"])
        before = last_id(app)
        sa.event.listen(engine, "before_cursor_execute", seen)
        sa.event.listen(engine, "commit", refuse_commit)
        try:
            with pytest.raises(RuntimeError, match="disk is full"):
                update_photo(actor, photo, {"taken_on": date(2026, 1, 11)})
        finally:
            sa.event.remove(engine, "commit", refuse_commit)
            sa.event.remove(engine, "before_cursor_execute", seen)
        db.session.rollback()
    writes = [(conn, s) for conn, s in statements if s.startswith(("UPDATE photos", "INSERT INTO audit_events"))]
    assert [s.split(" ")[0] for _conn, s in writes] == ["UPDATE", "INSERT"], statements
    assert len({conn for conn, _s in writes}) == 1, "the change and its entry share one connection (transaction)"
    assert change_entries(app, before) == []
    with app.app_context():
        assert db.session.get(Photo, record["photo"]).taken_on == date(2026, 1, 10)
    # and when the commit succeeds, the same use case leaves its entry
    with app.test_request_context():
        update_photo(db.session.get(User, world["prac_x"].user_id), db.session.get(Photo, record["photo"]),
                     {"taken_on": date(2026, 1, 11)})
    (entry,) = change_entries(app, before)
    assert entry.action == "photo.update" and entry.changes == {"taken_on": {"old": "2026-01-10", "new": "2026-01-11"}}


def test_outside_a_request_the_system_is_the_actor(app, world, record):
    """The CLI and the worker act as the system: purging a deleted photo is recorded as such."""
    before = last_id(app)
    with app.app_context():
        photo = db.session.get(Photo, record["photo"])
        photo.deleted_at = datetime.now(timezone.utc) - timedelta(days=400)
        db.session.commit()
    (deleted,) = change_entries(app, before)
    assert (deleted.action, deleted.actor_id, deleted.actor_role, deleted.ip) == ("photo.delete", None, "system", "")
    env = {**os.environ, "TRACKER_ENV": "development",
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "TRACKER_UPLOAD_DIR": app.config["TRACKER_UPLOAD_DIR"],
           "TRACKER_INSTANCE_DIR": app.instance_path, "FLASK_APP": "tracker"}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "tracker", "tracker", "purge-deleted"], env=env,
                          capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    purged = change_entries(app, deleted.id)
    assert [(e.action, e.object_id, e.actor_id, e.actor_role, e.patient_id) for e in purged] == [
        ("photo.purge", str(record["photo"]), None, "system", world["a"].patient_id)]
    assert purged[0].clinic_id == world.clinic_x, "the clinic comes from the patient when no one signed in"


# --- gallery: proposal, approval, withdrawal, unpublishing ---------------------------------------

def test_gallery_changes_are_recorded_with_who_decided(app, client, world, staff, patient):
    from tests.web.test_consent_gallery import _published_item

    before = last_id(app)
    item, _before_photo, _after_photo = _published_item(app, client, world, staff, patient)
    gallery = [e for e in change_entries(app, before) if e.object_type == "gallery_item"]
    assert [(e.action, e.actor_id) for e in gallery] == [("gallery.propose", world["prac_x"].user_id),
                                                         ("gallery.publish", world["a"].user_id)]
    assert gallery[1].changes == {"status": {"old": "awaiting_patient", "new": "published"}}
    assert gallery[0].changes["status"] == {"new": "awaiting_patient"}
    assert gallery[0].changes["crop"] == {"new": [50.0, 40.0, 700.0, 520.0]}
    consent = [c for c in client.get("/api/v1/me/consents", headers=patient).get_json() if c["scope"] == "gallery"][0]
    mark = last_id(app)
    client.post(f"/api/v1/me/consents/{consent['id']}/withdraw", headers=patient)
    withdrawn = change_entries(app, mark)
    assert sorted((e.action, e.object_id) for e in withdrawn) == [("consent.withdraw", str(consent["id"])),
                                                                  ("gallery.withdraw", str(item.id))]
    assert {e.actor_id for e in withdrawn} == {world["a"].user_id}
    assert all(e.patient_id == world["a"].patient_id for e in withdrawn)


def test_unpublishing_is_recorded(app, client, world, staff, patient):
    from tests.web.test_consent_gallery import _published_item

    item, _b, _a = _published_item(app, client, world, staff, patient)
    login(client, world["prac_x"].email)
    mark = last_id(app)
    assert client.post(f"/gallery/items/{item.id}/unpublish").status_code == 302
    (entry,) = change_entries(app, mark)
    assert (entry.action, entry.actor_id, entry.changes) == (
        "gallery.unpublish", world["prac_x"].user_id, {"status": {"old": "published", "new": "unpublished"}})


def test_a_declined_proposal_is_recorded(app, client, world, staff, patient):
    from tests.web.test_consent_gallery import test_patient_declines_and_nothing_is_published as declines

    before = last_id(app)
    declines(app, client, world, staff, patient)
    gallery = [(e.action, e.actor_id, e.changes.get("status")) for e in change_entries(app, before)
               if e.object_type == "gallery_item"]
    assert gallery == [("gallery.propose", world["prac_x"].user_id, {"new": "awaiting_patient"}),
                       ("gallery.decline", world["a"].user_id, {"old": "awaiting_patient", "new": "declined"})]


def test_a_public_consultation_request_is_recorded_without_an_actor_or_its_text(app, client, world):
    from tests.web.test_consent_gallery import _consult

    before = last_id(app)
    assert _consult(app.test_client(), message="I would like to ask about my scars").status_code == 302
    (entry,) = change_entries(app, before)
    assert (entry.action, entry.actor_id, entry.actor_role, entry.clinic_id, entry.patient_id) == (
        "consultation.submit", None, "", world.clinic_x, None)
    assert entry.changes["message"] == {"new": redacted("I would like to ask about my scars")}
    assert entry.changes["name"] == {"new": redacted("Jo Public")}


def test_consent_is_recorded_once(app, client, world, patient):
    before = last_id(app)
    client.post("/api/v1/me/consents", headers=patient,
                json={"scope": "marketing", "text_version": 1, "signature_name": "Patient A"})
    with app.app_context():
        grants = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.id > before,
                                                                AuditEvent.action == "consent.grant")).all()
    assert len(grants) == 1, "no second, out-of-transaction entry"


# --- never secrets, never free text -------------------------------------------------------------

def test_no_entry_holds_a_secret_or_typed_text(app, client, world, record):
    from tests.web.test_two_factor import enrol

    secret, codes = enrol(app, client, world["prac_x"].email)
    token_headers = api_token(client, world["a"].email)
    assert client.patch(f"/api/v1/photos/{record['photo']}", headers=token_headers,
                        json={"note": "my private words about my body"}).status_code == 200
    login(client, world["a"].email)
    assert client.post("/auth/password", data={"current_password": PASSWORD, "password": "a brand new passphrase",
                                               "confirm": "a brand new passphrase"}).status_code == 302
    with app.app_context():
        hashes = [u.password_hash for u in db.session.scalars(sa.select(User))]
        entries = db.session.scalars(sa.select(AuditEvent)).all()
        blob = " ".join(f"{e.changes} {e.detail} {e.user_agent} {e.object_id}" for e in entries)
        actions = {e.action for e in entries}
    assert "user.password_change" in actions
    for leaked in [PASSWORD, "a brand new passphrase", secret, *codes, token_headers["Authorization"][7:],
                   "my private words about my body", "Patient A", world["a"].email, *hashes]:
        assert leaked not in blob, leaked
    assert PHOTO.hex()[:64] not in blob


def test_every_audited_secret_looking_column_is_ignored_or_hidden():
    from tracker.audit import SECRET_COLUMNS, audited_models

    for model in audited_models():
        spec = model.__audited__
        for column in sa.inspect(model).column_attrs:
            name = column.key
            if any(word in name for word in ("password", "secret", "token", "code_hash", "recovery")):
                assert name in spec.ignore or name in spec.secret or name in SECRET_COLUMNS, (model, name)


# --- reading it: the admin page and GET /api/v1/audit --------------------------------------------

def test_admin_page_shows_old_and_new_values(app, client, world, record, staff):
    client.patch(f"/api/v1/photos/{record['photo']}", headers=staff, json={"taken_on": "2026-01-11", "note": "x y"})
    login(client, world["admin_x"].email)
    page = client.get("/audit/?action=photo.").get_data(as_text=True)
    assert "photo.update" in page and "2026-01-10 → 2026-01-11" in page
    assert "hidden, 3 characters" in page and "x y" not in page
    owner = app.test_client()
    login(owner, world["a"].email)
    assert "photo.update" not in owner.get("/audit/me").get_data(as_text=True), "the patient's page is about access"


@pytest.mark.parametrize(("role", "status"), [("admin_x", 200), ("prac_x", 403), ("a", 403), (None, 401)])
def test_audit_api_is_for_clinic_admins(client, world, role, status):
    headers = api_token(client, world[role].email) if role else {}
    response = client.get("/api/v1/audit", headers=headers)
    assert response.status_code == status
    if status != 200:
        assert response.get_json()["error"]["code"]


def test_audit_api_items_filters_and_pages(app, client, world, record, staff):
    client.patch(f"/api/v1/photos/{record['photo']}", headers=staff, json={"taken_on": "2026-01-11"})
    client.get(f"/api/v1/areas/{world['c'].area_id}", headers=api_token(client, world["prac_y"].email))
    admin = api_token(client, world["admin_x"].email)
    everything = client.get("/api/v1/audit?per_page=100", headers=admin)
    items = everything.get_json()
    assert int(everything.headers["X-Total-Count"]) == len(items) > 5
    assert all(set(i) >= {"at", "actor_id", "action", "object_type", "object_id", "patient_id", "ip", "changes"}
               for i in items)
    with app.app_context():
        other_clinic = set(db.session.scalars(sa.select(AuditEvent.id).where(AuditEvent.clinic_id == world.clinic_y)))
    assert other_clinic and not other_clinic & {i["id"] for i in items}, "never another clinic's entries"
    assert [i["id"] for i in items] == sorted((i["id"] for i in items), reverse=True), "newest first"

    (edit,) = client.get("/api/v1/audit?action=photo.update", headers=admin).get_json()
    assert edit == {**edit, "actor_id": world["prac_x"].user_id, "action": "photo.update", "object_type": "photo",
                    "object_id": str(record["photo"]), "patient_id": world["a"].patient_id, "ip": "127.0.0.1",
                    "changes": {"taken_on": {"old": "2026-01-10", "new": "2026-01-11"}}}
    prefixed = client.get("/api/v1/audit?action=photo.&per_page=100", headers=admin).get_json()
    assert {i["action"] for i in prefixed} == {"photo.create", "photo.update"}
    assert client.get("/api/v1/audit?action=photo", headers=admin).get_json() == [], "exact unless it ends with ."
    mine = client.get(f"/api/v1/audit?patient_id={world['b'].patient_id}&per_page=100", headers=admin).get_json()
    assert mine and {i["patient_id"] for i in mine} == {world["b"].patient_id}
    assert client.get(f"/api/v1/audit?patient_id={world['c'].patient_id}", headers=admin).get_json() == []

    moment = edit["at"]
    later = client.get(f"/api/v1/audit?since={moment}&per_page=100", headers=admin).get_json()
    assert edit["id"] in {i["id"] for i in later}
    assert all(datetime.fromisoformat(i["at"]) >= datetime.fromisoformat(moment) for i in later)
    assert len(later) < len(items)
    today = client.get(f"/api/v1/audit?since={date.today().isoformat()}&per_page=100", headers=admin)
    assert len(today.get_json()) == len(items)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert client.get(f"/api/v1/audit?since={tomorrow}", headers=admin).get_json() == []

    first, second = (client.get(f"/api/v1/audit?per_page=2&page={n}", headers=admin) for n in (1, 2))
    assert [i["id"] for i in first.get_json() + second.get_json()] == [i["id"] for i in items[:4]]
    assert first.headers["X-Total-Count"] == str(len(items))


@pytest.mark.parametrize(("query", "field"), [
    ("since=yesterday", "since"), ("since=2026-13-01", "since"), ("since=2026-01-01T25:00", "since"),
    ("patient_id=abc", "patient_id"), ("patient_id=0", "patient_id"),
    ("patient_id=1166194733871490289106944", "patient_id"), ("action=" + "x" * 41, "action"),
])
def test_audit_api_bad_filters_are_422_naming_the_field(client, world, query, field):
    admin = api_token(client, world["admin_x"].email)
    response = client.get(f"/api/v1/audit?{query}", headers=admin)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
