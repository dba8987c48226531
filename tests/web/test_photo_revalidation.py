"""Revalidating a photo (If-None-Match) is answered from the database row: no read from storage, on every
backend; a full GET reads the bytes once; the ETag is derived from the stored checksum, so every process gives
the same one; a row without a recorded checksum still answers correctly (from the bytes)."""

from __future__ import annotations

import hashlib

import pytest

from tests.backends import BACKENDS, backend_config, count_reads, moto_server, storage_settings  # noqa: F401
from tests.factories import add_photos, api_token, login
from tracker.extensions import db
from tracker.models import Photo
from tracker.storage_setup import storage


@pytest.fixture(params=BACKENDS)
def app(request, app_factory, monkeypatch):
    return app_factory(**backend_config(request.param, request, monkeypatch))


@pytest.fixture
def photo_id(app, world):
    with app.app_context():
        add_photos(world)
    return world["a"].photo_id


@pytest.mark.parametrize("variant", ["display", "thumb", "original", "aligned", "adjusted"])
def test_api_revalidation_reads_nothing_and_a_get_reads_once(app, client, world, staff, photo_id, variant):
    counting = count_reads(app)
    url = f"/api/v1/photos/{photo_id}/image/{variant}"
    first = client.get(url, headers=staff)
    assert first.status_code == 200 and first.data
    assert len(counting.reads) == 1, counting.reads
    etag = first.headers["ETag"]
    counting.reads.clear()
    again = client.get(url, headers={**staff, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert counting.reads == [], "a revalidation must not read the image from storage"
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "private, no-cache"
    changed = client.get(url, headers={**staff, "If-None-Match": '"something-else"'})
    assert changed.status_code == 200 and changed.data == first.data and len(counting.reads) == 1


def test_page_revalidation_reads_nothing(app, client, world, photo_id):
    counting = count_reads(app)
    login(client, world["a"].email)
    url = f"/photos/{photo_id}/image/display"
    first = client.get(url)
    assert first.status_code == 200 and len(counting.reads) == 1
    counting.reads.clear()
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and counting.reads == []


def test_revalidation_still_checks_access(app, client, world, photo_id):
    """The 304 comes after the access check: another patient's copy of the ETag earns a 404, not a 304."""
    owner = api_token(client, world["a"].email)
    etag = client.get(f"/api/v1/photos/{photo_id}/image/display", headers=owner).headers["ETag"]
    other = api_token(client, world["b"].email)
    response = client.get(f"/api/v1/photos/{photo_id}/image/display", headers={**other, "If-None-Match": etag})
    assert response.status_code == 404


def test_etag_comes_from_the_stored_checksum_in_every_process(app, app_factory, client, world, staff, photo_id):
    with app.app_context():
        recorded = db.session.get(Photo, photo_id).display_sha256
    url = f"/api/v1/photos/{photo_id}/image/display"
    etag = client.get(url, headers=staff).headers["ETag"]
    assert etag == f'"{recorded}-display"'
    second = app_factory(**storage_settings(app))  # another app instance: nothing shared in memory
    counting = count_reads(second)
    answer = second.test_client().get(url, headers={**staff, "If-None-Match": etag})
    assert answer.status_code == 304 and answer.headers["ETag"] == etag and counting.reads == []


def test_a_row_without_a_recorded_checksum_is_still_served_correctly(app, client, world, staff, photo_id):
    """Older rows may lack a derivative's checksum: the ETag then comes from the bytes (one read each time), and
    a changed file is never answered with a stale 304."""
    with app.app_context():
        photo = db.session.get(Photo, photo_id)
        photo.display_sha256 = None
        db.session.commit()
        key = photo.key("display")
    counting = count_reads(app)
    url = f"/api/v1/photos/{photo_id}/image/display"
    first = client.get(url, headers=staff)
    assert first.status_code == 200
    assert first.headers["ETag"] == f'"{hashlib.sha256(first.data).hexdigest()}-display"'
    again = client.get(url, headers={**staff, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and len(counting.reads) == 2
    with app.app_context():
        storage().put(key, b"\xff\xd8 new bytes at the same key")
    after_change = client.get(url, headers={**staff, "If-None-Match": first.headers["ETag"]})
    assert after_change.status_code == 200 and after_change.data == b"\xff\xd8 new bytes at the same key"
