"""Regions of interest and image metrics in the running app: measured on aligned photos, reproducible,
carried through a baseline change, refused when outside the photo, charted with the other outcomes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.factories import api_token, login, striae, upload
from tracker.extensions import db
from tracker.models import PhotoMetric, Roi


def series(client, world, headers):
    base = upload(client, world["a"].area_id, striae(5, 0.9), headers=headers, taken_on="2026-01-10",
                  view="front").get_json()
    later = upload(client, world["a"].area_id, striae(5, 0.4, pose=(3, 1.03, 12, -8)), headers=headers,
                   taken_on="2026-04-10", view="front").get_json()
    return base, later


RECT = [[200, 150], [600, 150], [600, 450], [200, 450]]


def test_region_measures_every_aligned_photo_and_healing_shows(app, client, world, staff):
    base, later = series(client, world, staff)
    response = client.put(f"/api/v1/areas/{world['a'].area_id}/regions/front", headers=staff, json={"points": RECT})
    assert response.status_code == 200, response.get_json()
    metrics = client.get(f"/api/v1/areas/{world['a'].area_id}/metrics", headers=staff).get_json()
    assert [m["photo_id"] for m in metrics] == [base["id"], later["id"]]
    first, second = (m["values"] for m in metrics)
    assert metrics[0]["method_version"] == "metrics/1"
    assert second["affected_fraction"] < first["affected_fraction"], "fainter striae, smaller affected area"
    assert second["delta_e"] < first["delta_e"], "fainter striae, lower contrast"
    # A new photo is measured as soon as it is aligned.
    third = upload(client, world["a"].area_id, striae(5, 0.2, pose=(-2, 0.98, -5, 6)), headers=staff,
                   taken_on="2026-06-10", view="front").get_json()
    ids = [m["photo_id"] for m in client.get(f"/api/v1/areas/{world['a'].area_id}/metrics", headers=staff).get_json()]
    assert third["id"] in ids


def test_remeasuring_gives_the_same_values(app, client, world, staff):
    series(client, world, staff)
    client.put(f"/api/v1/areas/{world['a'].area_id}/regions/front", headers=staff, json={"points": RECT})
    before = client.get(f"/api/v1/areas/{world['a'].area_id}/metrics", headers=staff).get_json()
    client.put(f"/api/v1/areas/{world['a'].area_id}/regions/front", headers=staff, json={"points": RECT})
    after = client.get(f"/api/v1/areas/{world['a'].area_id}/metrics", headers=staff).get_json()
    assert before == after


def test_region_follows_a_new_baseline(app, client, world, staff):
    base, later = series(client, world, staff)
    client.put(f"/api/v1/areas/{world['a'].area_id}/regions/front", headers=staff, json={"points": RECT})
    client.post(f"/api/v1/photos/{later['id']}/baseline", headers=staff)
    with app.app_context():
        roi = db.session.scalars(sa.select(Roi)).one()
        assert roi.baseline_photo_id == later["id"] and roi.points != RECT, "carried onto the new canvas"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PhotoMetric)) == 2


@pytest.mark.parametrize(("points", "message"), [
    ([[5000, 5000], [6000, 5000], [6000, 6000]], "outside"),
    ([[10, 10], [12, 10], [12, 12], [10, 12]], "small"),
    ([[0, 0], [10, 10]], "at least 3"),
    ([[0, 0], [100, 100], [100, 0], [0, 100]], "cross"),
    ("not a list", "list"),
])
def test_bad_regions_are_refused_and_nothing_is_stored(app, client, world, staff, points, message):
    series(client, world, staff)
    response = client.put(f"/api/v1/areas/{world['a'].area_id}/regions/front", headers=staff, json={"points": points})
    assert response.status_code == 422
    assert message in response.get_json()["error"]["message"].lower()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Roi)) == 0


def test_region_needs_a_baseline_and_staff(client, world, staff):
    assert client.put(f"/api/v1/areas/{world['a'].area_id}/regions/front", headers=staff,
                      json={"points": RECT}).status_code == 422
    patient = api_token(client, world["a"].email)
    assert client.put(f"/api/v1/areas/{world['a'].area_id}/regions/front", headers=patient,
                      json={"points": RECT}).status_code == 403
    other = api_token(client, world["prac_y"].email)
    assert client.put(f"/api/v1/areas/{world['a'].area_id}/regions/front", headers=other,
                      json={"points": RECT}).status_code == 404
    assert client.get(f"/api/v1/areas/{world['a'].area_id}/metrics", headers=other).status_code == 404


def test_region_page_and_metric_charts(app, client, world, staff):
    series(client, world, staff)
    login(client, world["prac_x"].email)
    page = client.get(f"/outcomes/areas/{world['a'].area_id}/region?view=front").get_data(as_text=True)
    assert "data-roi-editor" in page
    response = client.post(f"/outcomes/areas/{world['a'].area_id}/region",
                           data={"view": "front", "x": "200", "y": "150", "w": "400", "h": "300"})
    assert response.status_code == 302
    outcomes = client.get(f"/outcomes/areas/{world['a'].area_id}").get_data(as_text=True)
    assert "Striae contrast (ΔE)" in outcomes and "Affected area" in outcomes
    body = client.get(f"/api/v1/areas/{world['a'].area_id}/response?scale=metric_affected", headers=staff).get_json()
    assert body["scale"] == "metric_affected"
