"""Alignment to the baseline in the running app, the compare page, the capture page, and the timeline API."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.factories import api_token, fixture_bytes, login, striae, upload


def put(client, world, headers, data, day, view="front"):
    response = upload(client, world["a"].area_id, data, headers=headers, taken_on=day, view=view)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_follow_up_is_aligned_to_the_baseline_and_drawn_on_its_canvas(client, world, staff):
    base = put(client, world, staff, striae(5, 0.9), "2026-01-10")
    follow = put(client, world, staff, striae(5, 0.5, pose=(6, 1.1, 25, -15)), "2026-03-10")
    assert base["alignment"]["status"] == "baseline"
    assert follow["alignment"]["status"] == "aligned" and follow["alignment"]["aligned_to"] == base["id"]
    assert follow["alignment"]["inliers"] >= 20 and len(follow["alignment"]["matrix"]) == 3
    aligned = Image.open(io.BytesIO(client.get(follow["images"]["aligned"], headers=staff).data))
    baseline = Image.open(io.BytesIO(client.get(base["images"]["display"], headers=staff).data))
    assert aligned.size == baseline.size
    # In the overlap the aligned follow-up sits where the baseline is: its moles line up.
    a = np.asarray(aligned.convert("L"), dtype=float)
    b = np.asarray(baseline.convert("L"), dtype=float)
    unaligned = np.asarray(Image.open(io.BytesIO(client.get(follow["images"]["display"], headers=staff).data))
                           .convert("L").resize(baseline.size), dtype=float)
    centre = (slice(150, 450), slice(200, 600))
    assert np.abs(a[centre] - b[centre]).mean() < np.abs(unaligned[centre] - b[centre]).mean()
    adjusted = client.get(follow["images"]["adjusted"], headers=staff)
    assert adjusted.status_code == 200 and adjusted.data != client.get(follow["images"]["aligned"], headers=staff).data


def test_unrelated_photo_is_flagged_not_warped(client, world, staff):
    put(client, world, staff, striae(5, 0.9), "2026-01-10")
    other = put(client, world, staff, fixture_bytes("orientation/Landscape_1.jpg"), "2026-02-10")
    assert other["alignment"]["status"] == "failed" and other["alignment"]["reason"]
    assert "aligned" not in other["images"]
    response = client.get(f"/api/v1/photos/{other['id']}/image/aligned", headers=staff)
    assert response.status_code == 409 and response.get_json()["error"]["alignment"] == "failed"


def test_flat_image_is_not_aligned(client, world, staff):
    put(client, world, staff, striae(5, 0.9), "2026-01-10")
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 160, 140)).save(buffer, "JPEG")
    flat = put(client, world, staff, buffer.getvalue(), "2026-02-10")
    assert flat["alignment"]["status"] == "failed"


def test_earlier_upload_becomes_baseline_and_pin_changes_it(client, world, staff):
    later = put(client, world, staff, striae(8, 0.6, pose=(3, 1.05, 10, 5)), "2026-03-01")
    assert later["alignment"]["status"] == "baseline"
    earlier = put(client, world, staff, striae(8, 0.9), "2026-01-01")
    assert earlier["alignment"]["status"] == "baseline"
    assert client.get(f"/api/v1/photos/{later['id']}", headers=staff).get_json()["alignment"]["status"] == "aligned"
    pinned = client.post(f"/api/v1/photos/{later['id']}/baseline", headers=staff).get_json()
    assert pinned["alignment"]["status"] == "baseline"
    first = client.get(f"/api/v1/photos/{earlier['id']}", headers=staff).get_json()
    assert first["alignment"]["status"] == "aligned" and first["alignment"]["aligned_to"] == later["id"]
    patient = api_token(client, world["a"].email)
    assert client.post(f"/api/v1/photos/{earlier['id']}/baseline", headers=patient).status_code == 403
    assert client.post(f"/api/v1/photos/{earlier['id']}/align", headers=patient).status_code == 403
    assert client.post(f"/api/v1/photos/{earlier['id']}/align", headers=staff).get_json()["alignment"]["status"] \
        == "aligned"


def test_deleting_the_baseline_promotes_the_next_photo(client, world, staff):
    first = put(client, world, staff, striae(9, 0.9), "2026-01-01")
    second = put(client, world, staff, striae(9, 0.7, pose=(-4, 0.95, -10, 10)), "2026-02-01")
    client.delete(f"/api/v1/photos/{first['id']}", headers=staff)
    assert client.get(f"/api/v1/photos/{second['id']}", headers=staff).get_json()["alignment"]["status"] == "baseline"


def test_timeline_api_shape(app, client, world, staff):
    from datetime import date

    from tests.factories import make_session
    from tracker.extensions import db

    put(client, world, staff, striae(5, 0.9), "2026-01-10")
    put(client, world, staff, striae(5, 0.6, pose=(4, 1.0, 12, 0)), "2026-02-21")
    with app.app_context():
        make_session(world["a"].course_id, 1, date(2026, 1, 10))
        db.session.commit()
    body = client.get(f"/api/v1/areas/{world['a'].area_id}/timeline", headers=staff).get_json()
    assert body["area"]["id"] == world["a"].area_id
    kinds = [(e["type"], e.get("taken_on") or e.get("performed_on")) for e in body["events"]]
    assert kinds == [("photo", "2026-01-10"), ("session", "2026-01-10"), ("photo", "2026-02-21")]
    session = body["events"][1]
    assert {"id", "performed_on", "number", "modality"} <= set(session) and session["number"] == 1
    photo = body["events"][2]
    assert photo["aligned"] is True and photo["days_since_baseline"] == 42 and photo["days_since_session"] == 42
    assert client.get(f"/api/v1/areas/{world['b'].area_id}/timeline", headers=api_token(client, world["a"].email)
                      ).status_code == 404


def test_compare_page_aligned_and_unaligned(client, world, staff):
    base = put(client, world, staff, striae(5, 0.9), "2026-01-10")
    good = put(client, world, staff, striae(5, 0.5, pose=(5, 1.05, 20, 5)), "2026-03-10")
    bad = put(client, world, staff, fixture_bytes("orientation/Landscape_1.jpg"), "2026-04-10")
    login(client, world["prac_x"].email)
    page = client.get(f"/timeline/area/{world['a'].area_id}/compare?before={base['id']}&after={good['id']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Both photos are aligned" in text
    assert f"/photos/{good['id']}/image/aligned" in text and f"/photos/{good['id']}/image/adjusted" in text
    page = client.get(f"/timeline/area/{world['a'].area_id}/compare?before={base['id']}&after={bad['id']}")
    text = page.get_data(as_text=True)
    assert "Shown unaligned." in text and "could not be aligned" in text
    assert f"/photos/{bad['id']}/image/display" in text and f"/photos/{bad['id']}/image/aligned" not in text
    default = client.get(f"/timeline/area/{world['a'].area_id}/compare").get_data(as_text=True)
    assert f'value="{base["id"]}" selected' in default and f'value="{bad["id"]}" selected' in default, \
        "default: the view's baseline against its latest photo"


def test_compare_needs_two_photos_and_rejects_foreign_ids(client, world, staff):
    login(client, world["prac_x"].email)
    assert client.get(f"/timeline/area/{world['a'].area_id}/compare").status_code == 422
    mine = put(client, world, staff, striae(5, 0.9), "2026-01-10")
    theirs = upload(client, world["b"].area_id, striae(6, 0.9), headers=staff, taken_on="2026-01-10").get_json()
    response = client.get(f"/timeline/area/{world['a'].area_id}/compare?before={mine['id']}&after={theirs['id']}")
    assert response.status_code == 404


def test_timeline_page_shows_sessions_days_and_flags(app, client, world, staff):
    from datetime import date

    from tests.factories import make_session
    from tracker.extensions import db

    put(client, world, staff, striae(5, 0.9), "2026-01-10")
    put(client, world, staff, striae(5, 0.6, pose=(4, 1.0, 12, 0)), "2026-02-21")
    put(client, world, staff, fixture_bytes("color/P1133897_sRGB.jpg"), "2026-03-01")
    with app.app_context():
        make_session(world["a"].course_id, 1, date(2026, 1, 12))
        db.session.commit()
    login(client, world["a"].email)
    text = client.get(f"/timeline/area/{world['a'].area_id}").get_data(as_text=True)
    assert "Session 1" in text and "Baseline" in text and "day 42" in text and "40 d after session 1" in text
    assert "Not aligned" in text and 'loading="lazy"' in text
    other = app.test_client()
    login(other, world["b"].email)
    assert other.get(f"/timeline/area/{world['a'].area_id}").status_code == 404
    assert other.get(f"/timeline/area/{world['a'].area_id}/capture").status_code == 404


def test_capture_page_shows_the_baseline_as_a_ghost(client, world, staff):
    base = put(client, world, staff, striae(5, 0.9), "2026-01-10")
    login(client, world["a"].email)
    text = client.get(f"/timeline/area/{world['a'].area_id}/capture?view=front").get_data(as_text=True)
    assert f"/photos/{base['id']}/image/display" in text and 'data-control="ghost-opacity"' in text
    assert 'capture="environment"' in text, "falls back to the file input"
    empty = client.get(f"/timeline/area/{world['a'].area_id}/capture?view=close_up").get_data(as_text=True)
    assert "no baseline yet" in empty


def test_recording_a_session_and_its_rules(app, client, world):
    login(client, world["prac_x"].email)
    course = world["a"].course_id
    assert client.post(f"/outcomes/courses/{course}/sessions/new", data={"performed_on": "2026-01-20"}
                       ).status_code == 302
    dup = client.post(f"/outcomes/courses/{course}/sessions/new", data={"performed_on": "2026-02-20", "number": "1"})
    assert dup.status_code == 400 and "already recorded" in dup.get_data(as_text=True)
    early = client.post(f"/outcomes/courses/{course}/sessions/new", data={"performed_on": "2025-01-01"})
    assert early.status_code == 400 and "course started" in early.get_data(as_text=True)
    future = client.post(f"/outcomes/courses/{course}/sessions/new", data={"performed_on": "2999-01-01"})
    assert future.status_code == 400
    chart = client.get(f"/patients/{world['a'].patient_id}").get_data(as_text=True)
    assert "Session 1" in chart
    assert client.get(f"/outcomes/courses/{world['c'].course_id}/sessions/new").status_code == 404
    patient = app.test_client()
    login(patient, world["a"].email)
    assert patient.post(f"/outcomes/courses/{course}/sessions/new", data={"performed_on": "2026-01-21"}
                        ).status_code == 403
