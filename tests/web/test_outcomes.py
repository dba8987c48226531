"""Sessions with details, the side-effect diary, assessments, response and plateau, follow-up review, cohort,
blinded rating, CSV exports and settings — through the API and the pages."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests.factories import api_token, login, make_session
from tracker.extensions import db
from tracker.models import AdverseEvent, Assessment, TreatmentSession


def count(app, model):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- sessions -------------------------------------------------------------------------------------

def test_record_a_stem_cell_session_with_details(client, world, staff):
    a = world["a"]
    response = client.post(f"/api/v1/patients/{a.patient_id}/sessions", headers=staff, json={
        "course_id": a.course_id, "performed_on": "2026-01-20", "area_ids": [a.area_id],
        "harvest_site": "Periumbilical", "harvested_ml": 60, "processed_ml": 12.5,
        "injected_ml": {str(a.area_id): 4.5}, "cell_count": "2.1e6/ml", "injection_depth": "intradermal",
        "injection_pattern": "linear threading", "anaesthesia": "local", "notes": "Tolerated well"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["number"] == 1 and body["modality"] == "stem_cell_injection"
    assert body["injected_ml"] == {str(a.area_id): 4.5} and body["processed_ml"] == 12.5
    second = client.post(f"/api/v1/patients/{a.patient_id}/sessions", headers=staff, json={
        "course_id": a.course_id, "performed_on": "2026-03-03"}).get_json()
    assert second["number"] == 2 and second["area_ids"] == [a.area_id], "number automatic, areas default"
    listed = client.get(f"/api/v1/patients/{a.patient_id}/sessions", headers=patient_headers(client, world))
    assert [s["number"] for s in listed.get_json()] == [1, 2]


def patient_headers(client, world):
    return api_token(client, world["a"].email)


@pytest.mark.parametrize(("change", "field"), [
    ({"performed_on": "2999-01-01"}, "performed_on"),
    ({"performed_on": "2025-12-01"}, "performed_on"),          # before the course started (2026-01-05)
    ({"harvested_ml": 10, "processed_ml": 20}, "processed_ml"),
    ({"harvested_ml": -1}, "harvested_ml"),
    ({"injection_depth": "deep"}, "injection_depth"),
    ({"number": 0}, "number"),
    ({"course_id": None}, "course_id"),
    ({"area_ids": [999]}, "area_ids"),
    ({"clinic_id": 2}, "clinic_id"),
])
def test_session_bad_input(app, client, world, staff, change, field):
    a = world["a"]
    payload = {"course_id": a.course_id, "performed_on": "2026-01-20", **change}
    payload = {k: v for k, v in payload.items() if v is not None}
    response = client.post(f"/api/v1/patients/{a.patient_id}/sessions", headers=staff, json=payload)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert count(app, TreatmentSession) == 0


def test_session_for_another_clinics_patient_is_404_and_patients_cannot_record(client, world, staff, patient):
    c = world["c"]
    assert client.post(f"/api/v1/patients/{c.patient_id}/sessions", headers=staff,
                       json={"course_id": c.course_id, "performed_on": "2026-01-20"}).status_code == 404
    a = world["a"]
    assert client.post(f"/api/v1/patients/{a.patient_id}/sessions", headers=patient,
                       json={"course_id": a.course_id, "performed_on": "2026-01-20"}).status_code == 403
    b = world["b"]
    response = client.post(f"/api/v1/patients/{a.patient_id}/sessions", headers=staff,
                           json={"course_id": b.course_id, "performed_on": "2026-01-20"})
    assert response.status_code == 422 and "course_id" in response.get_json()["error"]["fields"]


def test_plan_proposes_next_session_and_dashboard_shows_overdue(app, client, world):
    with app.app_context():
        make_session(world["a"].course_id, 1, date.today() - timedelta(weeks=8))
        db.session.commit()
    login(client, world["prac_x"].email)
    page = client.get("/patients/").get_data(as_text=True)
    assert "Sessions due" in page and "overdue since" in page and "Patient A" in page
    form = client.get(f"/outcomes/courses/{world['a'].course_id}/sessions/new").get_data(as_text=True)
    due = (date.today() - timedelta(weeks=2))
    assert f"proposes session 2 on {due.day} {due:%b %Y}" in form


def test_session_page_form_records_details(app, client, world):
    login(client, world["prac_x"].email)
    a = world["a"]
    response = client.post(f"/outcomes/courses/{a.course_id}/sessions/new", data={
        "performed_on": "2026-01-20", "area_ids": [str(a.area_id)], f"injected_{a.area_id}": "3.0",
        "harvested_ml": "50", "processed_ml": "10", "anaesthesia": "tumescent"})
    assert response.status_code == 302
    with app.app_context():
        session = db.session.scalars(sa.select(TreatmentSession)).one()
        assert session.area_links[0].injected_ml == 3.0 and session.anaesthesia.value == "tumescent"


# --- side effects ---------------------------------------------------------------------------------

def test_patient_reports_and_resolves_a_side_effect(app, client, world, patient):
    a = world["a"]
    response = client.post(f"/api/v1/patients/{a.patient_id}/adverse-events", headers=patient, json={
        "kind": "infection_signs", "severity": "mild", "onset": date.today().isoformat(), "area_id": a.area_id,
        "description": "Warm and red around one injection point"})
    assert response.status_code == 201
    event = response.get_json()
    assert event["needs_attention"] is True and event["reporter"] == "patient"
    login(client, world["prac_x"].email)
    assert "Side effects needing attention (1)" in client.get("/patients/").get_data(as_text=True)
    resolved = client.post(f"/api/v1/adverse-events/{event['id']}/resolve", headers=patient,
                           json={"resolved_on": date.today().isoformat()})
    assert resolved.status_code == 200 and resolved.get_json()["needs_attention"] is False
    assert "needing attention" not in client.get("/patients/").get_data(as_text=True)


@pytest.mark.parametrize(("payload", "field"), [
    ({"kind": "explosion", "severity": "mild", "onset": "2026-01-01"}, "kind"),
    ({"kind": "pain", "severity": "awful", "onset": "2026-01-01"}, "severity"),
    ({"kind": "pain", "severity": "mild", "onset": "2999-01-01"}, "onset"),
    ({"kind": "pain", "severity": "mild"}, "onset"),
])
def test_side_effect_bad_input(app, client, world, patient, payload, field):
    response = client.post(f"/api/v1/patients/{world['a'].patient_id}/adverse-events", headers=patient, json=payload)
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]
    assert count(app, AdverseEvent) == 0


def test_side_effects_are_isolated(client, world, patient):
    assert client.post(f"/api/v1/patients/{world['b'].patient_id}/adverse-events", headers=patient, json={
        "kind": "pain", "severity": "mild", "onset": "2026-01-01"}).status_code == 404
    resolve = client.post("/api/v1/adverse-events/1/resolve", headers=patient, json={"resolved_on": "2026-01-02"})
    assert resolve.status_code == 404


def test_diary_page_shows_guidance_and_highlights(client, world):
    login(client, world["a"].email)
    page = client.get(f"/outcomes/patients/{world['a'].patient_id}/diary").get_data(as_text=True)
    assert "What to expect" in page
    response = client.post(f"/outcomes/patients/{world['a'].patient_id}/diary", data={
        "kind": "swelling", "severity": "severe", "onset": date.today().isoformat()}, follow_redirects=True)
    assert "The clinic is alerted to it" in response.get_data(as_text=True)


# --- assessments and response ---------------------------------------------------------------------

def _assess(client, headers, area_id, scale, day, score=None, items=None):
    body = {"scale": scale, "assessed_on": day}
    if score is not None:
        body["score"] = score
    if items is not None:
        body["items"] = items
    return client.post(f"/api/v1/areas/{area_id}/assessments", headers=headers, json=body)


def _sessions(app, world, days):
    with app.app_context():
        for n, day in enumerate(days, start=1):
            make_session(world["a"].course_id, n, day)
        db.session.commit()


@pytest.mark.parametrize(("scores", "plateau"), [((7, 5, 3, 3), True), ((7, 5, 3, 1), False)])
def test_response_davey_examples_from_the_issue(app, client, world, staff, scores, plateau):
    s1, s2, s3 = date(2026, 1, 10), date(2026, 3, 7), date(2026, 5, 2)
    _sessions(app, world, [s1, s2, s3])
    for day, score in zip((s1, s2, s3, s3 + timedelta(weeks=8)), scores):
        assert _assess(client, staff, world["a"].area_id, "davey", day.isoformat(), score).status_code == 201
    body = client.get(f"/api/v1/areas/{world['a'].area_id}/response?scale=davey", headers=staff).get_json()
    assert body["area_id"] == world["a"].area_id and body["scale"] == "davey"
    assert [(s["number"], s["before"], s["after"], s["change"]) for s in body["sessions"]] == [
        (1, 7, 5, 2), (2, 5, 3, 2), (3, 3, scores[3], 3 - scores[3])]
    assert body["plateau"] is plateau and body["verdict"]


def test_a_touch_up_course_on_the_same_area_is_told_apart(app, client, world, staff):
    """Three sessions, then a touch-up course months later on the same area: the API labels the touch-up
    "session 1 of course 2" (number stays 1, course_id says which), and so do the page's table and verdict."""
    from tests.factories import make_course
    from tracker.models import Patient, TreatmentArea

    s1, s2, s3, touch_up = date(2026, 1, 10), date(2026, 2, 21), date(2026, 4, 4), date(2026, 9, 5)
    _sessions(app, world, [s1, s2, s3])
    with app.app_context():
        patient = db.session.get(Patient, world["a"].patient_id)
        second = make_course(patient, [db.session.get(TreatmentArea, world["a"].area_id)])
        make_session(second.id, 1, touch_up)
        db.session.commit()
        second_id = second.id
    for day, score in ((s1, 8), (s2, 6), (s3, 4), (touch_up, 4), (touch_up + timedelta(weeks=6), 2)):
        assert _assess(client, staff, world["a"].area_id, "davey", day.isoformat(), score).status_code == 201
    body = client.get(f"/api/v1/areas/{world['a'].area_id}/response?scale=davey", headers=staff).get_json()
    assert [(s["number"], s["label"], s["course_id"]) for s in body["sessions"]] == [
        (1, "session 1 of course 1", world["a"].course_id), (2, "session 2 of course 1", world["a"].course_id),
        (3, "session 3 of course 1", world["a"].course_id), (1, "session 1 of course 2", second_id)]
    assert body["plateau"] is False and body["verdict"].startswith("Session 1 of course 2 improved")
    login(client, world["prac_x"].email)
    page = client.get(f"/outcomes/areas/{world['a'].area_id}/review").get_data(as_text=True)
    assert "1 of course 2" in page and "Session 1 of course 2 improved" in page


def test_response_not_enough_data(client, world, staff):
    body = client.get(f"/api/v1/areas/{world['a'].area_id}/response?scale=davey", headers=staff).get_json()
    assert body["plateau"] is None and "Not enough data" in body["verdict"]


def test_response_unknown_scale_is_422(client, world, staff):
    assert client.get(f"/api/v1/areas/{world['a'].area_id}/response?scale=nope", headers=staff).status_code == 422


def test_posas_items_are_summed_and_overall_kept_apart(client, world, patient):
    items = {"pain": 2, "itching": 3, "colour": 4, "stiffness": 2, "thickness": 3, "irregularity": 4, "overall": 5}
    response = _assess(client, patient, world["a"].area_id, "posas_patient", "2026-01-10", items=items)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["score"] == 18


@pytest.mark.parametrize(("who", "scale", "kwargs", "status"), [
    ("staff", "gais", {"score": 6}, 422),
    ("staff", "davey", {"score": 9}, 422),
    ("staff", "davey", {"score": 2.5}, 422),
    ("patient", "posas_patient", {"items": {"pain": 2}}, 422),
    ("patient", "satisfaction", {"score": 11}, 422),
    ("patient", "gais", {"score": 2}, 403),
    ("staff", "gais_patient", {"score": 2}, 403),
    ("staff", "unknown_scale", {"score": 2}, 422),
    ("staff", "davey", {"score": "7"}, 422),
    ("staff", "metric_delta_e", {"score": 2}, 422),
])
def test_assessment_bad_input_stores_nothing(app, client, world, staff, patient, who, scale, kwargs, status):
    headers = staff if who == "staff" else patient
    assert _assess(client, headers, world["a"].area_id, scale, "2026-01-10", **kwargs).status_code == status
    assert count(app, Assessment) == 0


def test_assessment_dates_and_isolation(app, client, world, staff, patient):
    assert _assess(client, staff, world["a"].area_id, "davey", "2999-01-01", 3).status_code == 422
    assert _assess(client, staff, world["a"].area_id, "davey", "01/02/2026", 3).status_code == 422
    assert _assess(client, patient, world["b"].area_id, "satisfaction", "2026-01-01", 3).status_code == 404
    assert _assess(client, staff, world["c"].area_id, "davey", "2026-01-01", 3).status_code == 404
    assert count(app, Assessment) == 0


def test_outcomes_page_chart_table_and_verdict(app, client, world, staff):
    s1, s2 = date(2026, 1, 10), date(2026, 3, 7)
    _sessions(app, world, [s1, s2])
    for day, score in ((s1, 7), (s2, 5), (s2 + timedelta(weeks=6), 5)):
        _assess(client, staff, world["a"].area_id, "davey", day.isoformat(), score)
    login(client, world["prac_x"].email)
    page = client.get(f"/outcomes/areas/{world['a'].area_id}").get_data(as_text=True)
    assert '<svg class="chart"' in page and ">S1</text>" in page and ">S2</text>" in page
    assert "Plateau." in page and "+2" in page
    assert "<script" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]


def test_outcomes_page_form_posts_posas_items(app, client, world):
    login(client, world["a"].email)
    data = {"scale": "posas_patient", "assessed_on": "2026-01-10"}
    data.update({f"item_posas_patient__{k}": "2" for k in
                 ("pain", "itching", "colour", "stiffness", "thickness", "irregularity")})
    response = client.post(f"/outcomes/areas/{world['a'].area_id}/assessments", data=data)
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalars(sa.select(Assessment.score)).one() == 12


# --- review, cohort, blinded, settings, exports ---------------------------------------------------

def test_follow_up_review_and_decision(app, client, world, staff):
    _sessions(app, world, [date(2026, 1, 10)])
    _assess(client, staff, world["a"].area_id, "davey", "2026-01-10", 6)
    login(client, world["prac_x"].email)
    url = f"/outcomes/areas/{world['a'].area_id}/review"
    page = client.get(url).get_data(as_text=True)
    for part in ("Baseline and latest", "Sessions so far", "Unresolved side effects", "Latest scores", "Decision"):
        assert part in page
    bad = client.post(url, data={"decision": "touch_up"})
    assert bad.status_code == 400 and "how many months" in bad.get_data(as_text=True)
    assert client.post(url, data={"decision": "touch_up", "touch_up_months": "6", "note": "good response"}
                       ).status_code == 302
    assert "Maintenance touch-up" in client.get(url).get_data(as_text=True)
    other = app.test_client()
    login(other, world["a"].email)
    assert other.get(url).status_code == 403
    stranger = app.test_client()
    login(stranger, world["prac_y"].email)
    assert stranger.get(url).status_code == 404


def test_cohort_is_aggregate_and_withholds_small_cells(app, client, world):
    from tests.factories import make_area, make_course, make_patient
    from tracker.models import Assessment as A, Clinic, Rater

    with app.app_context():
        clinic = db.session.get(Clinic, world.clinic_x)
        for i in range(4):
            person = make_patient(clinic, f"Cohort {i}")
            area = make_area(person, "Abdomen")
            course = make_course(person, [area])
            make_session(course.id, 1, date(2026, 1, 10))
            for day, score in ((date(2026, 1, 10), 6), (date(2026, 2, 28), 6 - (i % 3))):
                db.session.add(A(patient_id=person.id, area_id=area.id, scale="davey", score=score, assessed_on=day,
                                 rater=Rater.PRACTITIONER))
        db.session.commit()
    login(client, world["prac_x"].email)
    page = client.get("/outcomes/cohort?scale=davey").get_data(as_text=True)
    assert "Autologous adipose-derived stem cell injection" in page and "n=4" in page
    assert "Cohort 0" not in page and "Patient A" not in page


def test_blinded_rating_flow_and_agreement(app, client, world):
    from tests.factories import striae, upload

    headers = api_token(client, world["prac_x"].email)
    base = upload(client, world["a"].area_id, striae(5, 0.9), headers=headers, taken_on="2026-01-10").get_json()
    after = upload(client, world["a"].area_id, striae(5, 0.4, pose=(3, 1.02, 10, 5)), headers=headers,
                   taken_on="2026-04-10").get_json()
    assert after["alignment"]["status"] == "aligned"
    for rater, gais in (("prac_x", 2), ("admin_x", 3)):
        rater_client = app.test_client()
        login(rater_client, world[rater].email)
        page = rater_client.get("/outcomes/blinded").get_data(as_text=True)
        assert "2026-01-10" not in page and "Patient A" not in page, "blinded: no dates, no names"
        assert f"/photos/{base['id']}/image/adjusted" in page and f"/photos/{after['id']}/image/adjusted" in page
        import re
        left = int(re.search(r'name="left_is_before" type="hidden" value="(\d)"', page).group(1))
        response = rater_client.post("/outcomes/blinded", data={
            "before_id": base["id"], "after_id": after["id"], "left_is_before": left,
            "first": "left" if left else "right", "gais": str(gais)}, follow_redirects=True)
        assert "No pairs left to rate" in response.get_data(as_text=True)
    text = rater_client.get("/outcomes/blinded").get_data(as_text=True)
    assert "2 ratings by 2 raters" in text and "Same GAIS grade: <strong>0%" in text and "within one grade: 100%" in text
    assert "identified in 100%" in text


def test_custom_scale_and_settings(app, client, world, staff):
    _sessions(app, world, [date(2026, 1, 10)])
    login(client, world["admin_x"].email)
    assert client.post("/admin/settings/scales", data={"code": "vss", "name": "Vancouver Scar Scale", "minimum": "0",
                                                      "maximum": "13", "lower_is_better": "1", "mid": "2"}
                       ).status_code == 302
    assert client.post("/admin/settings/scales", data={"code": "gais", "name": "x", "minimum": "0", "maximum": "3",
                                                      "lower_is_better": "1", "mid": "1"}).status_code == 400
    assert _assess(client, staff, world["a"].area_id, "vss", "2026-01-10", 8).status_code == 201
    assert _assess(client, staff, world["a"].area_id, "vss", "2026-01-10", 14).status_code == 422
    response = client.post("/admin/settings", data={"window_start": "21", "window_end": "70", "mid_davey": "2",
                                                    "unit_davey": "points", "guidance": "Call us."})
    assert response.status_code == 302
    body = client.get(f"/api/v1/areas/{world['a'].area_id}/response?scale=davey", headers=staff).get_json()
    assert body["mid"] == 2 and body["window"] == {"start_days": 21, "end_days": 70}
    prac = app.test_client()
    login(prac, world["prac_x"].email)
    assert prac.get("/admin/settings").status_code == 403
    assert client.post("/admin/settings", data={"window_start": "80", "window_end": "20"}).status_code == 400


def test_csv_exports_round_trip_and_are_scoped(app, client, world, staff):
    _sessions(app, world, [date(2026, 1, 10)])
    _assess(client, staff, world["a"].area_id, "davey", "2026-01-10", 6)
    client.post(f"/api/v1/patients/{world['a'].patient_id}/adverse-events", headers=staff, json={
        "kind": "bruising", "severity": "mild", "onset": "2026-01-11", "description": "=HYPERLINK(\"http://x\")"})
    login(client, world["prac_x"].email)
    for kind, expected in (("sessions", "2026-01-10"), ("assessments", "davey"), ("adverse_events", "bruising")):
        response = client.get(f"/outcomes/patients/{world['a'].patient_id}/export/{kind}.csv")
        assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
        assert len(rows) == 1 and expected in rows[0].values()
    events = list(csv.DictReader(io.StringIO(client.get(
        f"/outcomes/patients/{world['a'].patient_id}/export/adverse_events.csv").get_data(as_text=True))))
    assert events[0]["description"].startswith("'="), "formula injection neutralised"
    assert events[0]["onset"] == "2026-01-11"
    assert client.get(f"/outcomes/patients/{world['c'].patient_id}/export/sessions.csv").status_code == 404
    assert client.get("/outcomes/export/sessions.csv").status_code == 403
    admin = app.test_client()
    login(admin, world["admin_x"].email)
    clinic_rows = list(csv.DictReader(io.StringIO(admin.get("/outcomes/export/assessments.csv").get_data(as_text=True))))
    assert {r["patient_id"] for r in clinic_rows} == {str(world["a"].patient_id)}
    assert admin.get("/outcomes/export/passwords.csv").status_code == 404


def test_assessments_csv_round_trips_to_the_same_records(app, client, world, staff):
    for day, score in (("2026-01-10", 7), ("2026-03-01", 5), ("2026-05-01", 4)):
        _assess(client, staff, world["a"].area_id, "davey", day, score)
    items = {"pain": 1, "itching": 2, "colour": 3, "stiffness": 1, "thickness": 2, "irregularity": 3}
    _assess(client, api_token(client, world["a"].email), world["a"].area_id, "posas_patient", "2026-05-02", items=items)
    api = client.get(f"/api/v1/areas/{world['a'].area_id}/assessments", headers=staff).get_json()
    login(client, world["prac_x"].email)
    text = client.get(f"/outcomes/patients/{world['a'].patient_id}/export/assessments.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    parsed = [(int(r["assessment_id"]), r["scale"], float(r["score"]), r["assessed_on"], r["rater"],
               {k: float(v) for k, v in (p.split(":") for p in r["items"].split(";") if p)} or None) for r in rows]
    expected = [(a["id"], a["scale"], a["score"], a["assessed_on"], a["rater"], a["items"]) for a in api]
    assert parsed == expected


def test_side_effect_with_a_photo_of_it(app, client, world, patient):
    from tests.factories import small_jpeg, upload

    photo = upload(client, world["a"].area_id, small_jpeg(4), headers=patient, taken_on="2026-02-01").get_json()
    response = client.post(f"/api/v1/patients/{world['a'].patient_id}/adverse-events", headers=patient, json={
        "kind": "bruising", "severity": "mild", "onset": "2026-02-01", "photo_id": photo["id"]})
    assert response.status_code == 201 and response.get_json()["photo_id"] == photo["id"]
    staff_photo = upload(client, world["b"].area_id, small_jpeg(5), headers=api_token(client, world["prac_x"].email),
                         taken_on="2026-02-01").get_json()
    other = client.post(f"/api/v1/patients/{world['a'].patient_id}/adverse-events", headers=patient, json={
        "kind": "bruising", "severity": "mild", "onset": "2026-02-01", "photo_id": staff_photo["id"]})
    assert other.status_code == 422 and "photo_id" in other.get_json()["error"]["fields"]
    login(client, world["a"].email)
    assert "See the photo" in client.get(f"/outcomes/patients/{world['a'].patient_id}/diary").get_data(as_text=True)


def test_correct_a_recorded_session(app, client, world, staff):
    a = world["a"]
    first = client.post(f"/api/v1/patients/{a.patient_id}/sessions", headers=staff,
                        json={"course_id": a.course_id, "performed_on": "2026-01-20"}).get_json()
    second = client.post(f"/api/v1/patients/{a.patient_id}/sessions", headers=staff,
                         json={"course_id": a.course_id, "performed_on": "2026-03-03"}).get_json()
    fixed = client.patch(f"/api/v1/sessions/{second['id']}", headers=staff, json={
        "performed_on": "2026-03-04", "number": 3, "notes": "Corrected date", "injected_ml": {str(a.area_id): 2.5}})
    assert fixed.status_code == 200, fixed.get_json()
    body = fixed.get_json()
    assert (body["number"], body["performed_on"], body["injected_ml"]) == (3, "2026-03-04", {str(a.area_id): 2.5})
    clash = client.patch(f"/api/v1/sessions/{second['id']}", headers=staff,
                         json={"performed_on": "2026-03-04", "number": 1})
    assert clash.status_code == 409
    assert client.patch(f"/api/v1/sessions/{second['id']}", headers=staff,
                        json={"performed_on": "2999-01-01"}).status_code == 422
    assert client.patch(f"/api/v1/sessions/{first['id']}", headers=api_token(client, world["prac_y"].email),
                        json={"performed_on": "2026-01-21"}).status_code == 404
    assert client.patch(f"/api/v1/sessions/{first['id']}", headers=api_token(client, world["a"].email),
                        json={"performed_on": "2026-01-21"}).status_code == 403
    login(client, world["prac_x"].email)
    page = client.get(f"/outcomes/sessions/{first['id']}/edit")
    assert page.status_code == 200 and "Correct session 1" in page.get_data(as_text=True)
    assert client.post(f"/outcomes/sessions/{first['id']}/edit", data={
        "performed_on": "2026-01-22", "number": "1", "area_ids": [str(a.area_id)]}).status_code == 302
    listed = client.get(f"/api/v1/patients/{a.patient_id}/sessions", headers=staff).get_json()
    assert [(s["number"], s["performed_on"]) for s in listed] == [(1, "2026-01-22"), (3, "2026-03-04")]
