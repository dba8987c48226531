"""Input the OpenAPI document does not allow is refused before any view runs (tracker/api/contract.py), with a 422
naming each field; and the defects schemathesis found behind the document (a tiny photo as a baseline, huge region
coordinates, huge ids in a body, a 405 without Allow) stay fixed.
"""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from PIL import Image

from tests.factories import small_jpeg, striae, upload
from tracker.api.contract import openapi_path
from tracker.api.openapi import build_spec
from tracker.extensions import db
from tracker.models import Photo, Roi, TreatmentArea, TreatmentCourse


def count(app, model):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize(("payload", "field", "message"), [
    ({"full_name": 123}, "full_name", "Must be text."),
    ({"full_name": "Ok", "fitzpatrick": "4"}, "fitzpatrick", "Must be a whole number."),
    ({"full_name": "Ok", "fitzpatrick": 9}, "fitzpatrick", "Must be at most 6."),
    ({"full_name": "Ok", "date_of_birth": "12/05/1990"}, "date_of_birth", "Use YYYY-MM-DD."),
    ({"full_name": "Ok", "send_invitation": "yes"}, "send_invitation", "Must be true or false."),
    ({"full_name": "Ok", "clinic_id": 2}, "clinic_id", "Unknown field."),
    ({}, "full_name", "Required."),
])
def test_a_body_against_the_document_is_422_naming_the_field(app, client, world, staff, payload, field, message):
    before = count(app, TreatmentArea), count(app, TreatmentCourse)
    response = client.post("/api/v1/patients", headers=staff, json=payload)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and error["fields"][field] == message
    assert (count(app, TreatmentArea), count(app, TreatmentCourse)) == before


def test_types_are_not_loosened_any_more(app, client, world, staff):
    """The JSON→form shim used to turn 3 into "3" and "3" into 3: the document's types now hold both ways."""
    area = world["a"].area_id
    base = {"indication": "Striae", "modality": "stem_cell_injection", "interval_weeks": 6,
            "start_date": "2026-01-05", "area_ids": [area]}
    response = client.post(f"/api/v1/patients/{world['a'].patient_id}/courses", headers=staff,
                           json={**base, "planned_sessions": "3"})
    assert response.status_code == 422 and "planned_sessions" in response.get_json()["error"]["fields"]
    response = client.post(f"/api/v1/patients/{world['a'].patient_id}/courses", headers=staff,
                           json={**base, "planned_sessions": 3, "area_ids": [str(area)]})
    assert response.status_code == 422 and "area_ids" in response.get_json()["error"]["fields"]
    assert client.post(f"/api/v1/patients/{world['a'].patient_id}/courses", headers=staff,
                       json={**base, "planned_sessions": 3}).status_code == 201


@pytest.mark.parametrize("query", ["per_page=0", "per_page=101", "per_page=ten", "page=0", "sort=random",
                                   "per_page=1&per_page=2", "q=" + "x" * 201])
def test_query_parameters_against_the_document_are_422(client, world, staff, query):
    response = client.get(f"/api/v1/patients?{query}", headers=staff)
    assert response.status_code == 422
    assert query.split("=")[0] in response.get_json()["error"]["fields"]


def test_documented_query_parameters_are_still_accepted(client, world, staff):
    response = client.get("/api/v1/patients?page=1&per_page=100&sort=-name&q=a", headers=staff)
    assert response.status_code == 200


def test_ids_beyond_64_bits_in_a_body_are_422_not_500(app, client, world, staff):
    area = world["a"].area_id
    response = client.post(f"/api/v1/areas/{area}/gallery-proposals", headers=staff,
                           json={"before_id": 1, "after_id": 12911209639646194578407555072})
    assert response.status_code == 422 and "after_id" in response.get_json()["error"]["fields"]


def test_the_contract_is_checked_after_authentication(client, world):
    """A stranger learns nothing about the document's rules from a 422: without a token it is 401."""
    assert client.post("/api/v1/patients", json={"full_name": 123}).status_code == 401


def test_every_documented_operation_maps_to_a_route(app):
    """The contract finds an operation by the route's rule; a mismatch would silently skip the checks."""
    documented = {(path, method.upper()) for path, item in build_spec()["paths"].items() for method in item}
    routed = {(openapi_path(rule.rule), method) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1") for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/patients", "/patients/"])
def test_405_names_the_allowed_methods(client, world, staff, path):
    response = client.put(path, headers=staff)
    assert response.status_code == 405
    assert response.headers["Allow"] and "GET" in response.headers["Allow"]


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (180, 140, 120)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("size", [(15, 15), (31, 400), (400, 31), (1, 1)])
def test_a_photo_too_small_to_judge_is_refused_and_nothing_is_stored(app, client, world, staff, size):
    response = upload(client, world["a"].area_id, _png(size), headers=staff, taken_on="2026-01-10",
                      filename="tiny.png", content_type="image/png")
    assert response.status_code == 400
    assert "too small" in response.get_json()["error"]["message"]
    assert count(app, Photo) == 0


def test_a_tiny_baseline_left_by_an_older_version_fails_alignment_instead_of_500(app, client, world, staff,
                                                                                  monkeypatch):
    """Found by schemathesis: a 15-pixel upload became a view's baseline, and POST /align answered 500."""
    from tracker.photos import services

    monkeypatch.setattr(services, "MIN_PHOTO_SIDE", 1)  # what older versions accepted
    area = world["a"].area_id
    tiny = upload(client, area, _png((15, 15)), headers=staff, taken_on="2026-01-01", view="front",
                  filename="tiny.png", content_type="image/png")
    assert tiny.status_code == 201, tiny.get_json()
    later = upload(client, area, small_jpeg(3, (400, 300)), headers=staff, taken_on="2026-02-01", view="front")
    assert later.status_code == 201
    assert later.get_json()["alignment"]["status"] == "failed"
    response = client.post(f"/api/v1/photos/{later.get_json()['id']}/align", headers=staff)
    assert response.status_code == 200
    body = response.get_json()
    assert body["alignment"]["status"] == "failed" and body["alignment"]["reason"]


@pytest.mark.parametrize("points", [
    [[1.0468032800354926e+274, 6.177111298715375e+134], [1e-254, 5e-289], [0.0037, 0.33]],
    [[2_000_000, 0], [0, 2_000_000], [2_000_000, 2_000_000]],
])
def test_region_coordinates_far_off_any_photo_are_422(app, client, world, staff, points):
    area = world["a"].area_id
    assert upload(client, area, striae(5, 0.9, size=(400, 300)), headers=staff, taken_on="2026-01-10",
                  view="front").status_code == 201
    response = client.put(f"/api/v1/areas/{area}/regions/front", headers=staff, json={"points": points})
    assert response.status_code == 422 and "points" in response.get_json()["error"]["fields"]
    assert count(app, Roi) == 0


def test_region_coordinates_are_bounded_in_the_pure_roi_too():
    from tracker.imaging.metrics import MESSAGE_OUTSIDE, Roi as Shape, RoiError

    with pytest.raises(RoiError) as refused:
        Shape(((0.0, 0.0), (3e200, 0.0), (0.0, 3e200)))
    assert refused.value.message == MESSAGE_OUTSIDE
