"""Processing in an RQ worker against the real Redis: processing → ready, failures recorded, retries idempotent."""

from __future__ import annotations


import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue, SimpleWorker

from tests.conftest import REDIS_URL
from tests.factories import api_token, build_world, fixture_bytes, upload
from tracker import background, jobs
from tracker.extensions import db
from tracker.models import Photo, PhotoStatus



@pytest.fixture
def queued_app(app_factory, redis_url):
    app = app_factory(REDIS_URL=redis_url)
    jobs.bind_app(app)
    yield app
    jobs.bind_app(None)


def run_worker(app) -> None:
    connection = Redis.from_url(REDIS_URL)
    worker = SimpleWorker([Queue(background.QUEUE_NAME, connection=connection)], connection=connection)
    worker.work(burst=True)
    connection.close()


def photo(app, photo_id) -> Photo:
    with app.app_context():
        return db.session.get(Photo, photo_id)


def test_upload_is_processing_until_the_worker_runs(queued_app):
    with queued_app.app_context():
        world = build_world()
    client = queued_app.test_client()
    headers = api_token(client, world["prac_x"].email)
    response = upload(client, world["a"].area_id, fixture_bytes("heic/arrow.heic"), headers=headers)
    body = response.get_json()
    assert response.status_code == 201 and body["status"] == "processing"
    assert (body["width"], body["height"]) == (3024, 4032), "the upright size is known before processing"
    assert set(body["images"]) == {"original"}
    assert client.get(f"/api/v1/photos/{body['id']}/image/display", headers=headers).status_code == 409
    run_worker(queued_app)
    done = client.get(f"/api/v1/photos/{body['id']}", headers=headers).get_json()
    assert done["status"] == "ready" and done["processed_at"]
    assert client.get(done["images"]["display"], headers=headers).status_code == 200


def test_malformed_files_are_refused_before_queueing(queued_app):
    with queued_app.app_context():
        world = build_world()
    client = queued_app.test_client()
    headers = api_token(client, world["prac_x"].email)
    for name in ("malformed/truncated_jpeg.jpg", "malformed/corrupted.heic", "malformed/truncated_image.png"):
        assert upload(client, world["a"].area_id, fixture_bytes(name), headers=headers,
                      taken_on="2026-01-01").status_code == 400
    assert Queue(background.QUEUE_NAME, connection=Redis.from_url(REDIS_URL)).count == 0


def test_failure_is_recorded_and_retry_is_idempotent(queued_app, monkeypatch):
    from tracker import imaging

    with queued_app.app_context():
        world = build_world()
    client = queued_app.test_client()
    headers = api_token(client, world["prac_x"].email)
    body = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=headers).get_json()

    def broken(*args, **kwargs):
        raise imaging.ImageRejected("corrupt", "The image is corrupted or incomplete.", 400)

    monkeypatch.setattr(imaging, "normalize", broken)
    run_worker(queued_app)
    failed = photo(queued_app, body["id"])
    assert failed.status is PhotoStatus.FAILED and "corrupted" in failed.failure_reason
    monkeypatch.undo()
    retried = client.post(f"/api/v1/photos/{body['id']}/retry", headers=headers)
    assert retried.get_json()["status"] == "processing"
    run_worker(queued_app)
    first = photo(queued_app, body["id"])
    assert first.status is PhotoStatus.READY
    # Running the job again (a duplicate delivery) changes nothing and creates nothing.
    with queued_app.app_context():
        keys_before = sorted(e.key for e in queued_app.extensions["tracker_storage"].entries())
        assert jobs.process_photo_job(body["id"]) == "ready"
        db.session.get(Photo, body["id"]).status = PhotoStatus.PROCESSING
        db.session.commit()
    assert jobs.process_photo_job(body["id"]) == "ready"
    again = photo(queued_app, body["id"])
    assert again.display_sha256 == first.display_sha256 and again.thumb_sha256 == first.thumb_sha256
    with queued_app.app_context():
        assert sorted(e.key for e in queued_app.extensions["tracker_storage"].entries()) == keys_before
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 1


def test_unexpected_crash_marks_failed_and_rq_retries(queued_app, monkeypatch):
    from tracker.photos import services

    with queued_app.app_context():
        world = build_world()
    client = queued_app.test_client()
    headers = api_token(client, world["prac_x"].email)
    body = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=headers).get_json()
    monkeypatch.setattr(services, "save_derivatives", lambda *a: (_ for _ in ()).throw(MemoryError("boom")))
    run_worker(queued_app)
    crashed = photo(queued_app, body["id"])
    assert crashed.status is PhotoStatus.FAILED and "stopped unexpectedly" in crashed.failure_reason
    monkeypatch.undo()
    jobs.process_photo_job(body["id"])
    assert photo(queued_app, body["id"]).status is PhotoStatus.READY


def test_job_for_a_deleted_photo_only_cleans_up(queued_app):
    with queued_app.app_context():
        world = build_world()
    client = queued_app.test_client()
    headers = api_token(client, world["prac_x"].email)
    body = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=headers).get_json()
    client.delete(f"/api/v1/photos/{body['id']}", headers=headers)
    run_worker(queued_app)
    with queued_app.app_context():
        keys = [e.key for e in queued_app.extensions["tracker_storage"].entries()]
    assert len(keys) == 1 and keys[0].endswith("/original"), "original kept until purge-deleted; no derivatives"


def test_photo_left_processing_by_a_dead_worker_is_requeued_once(app, client, world):
    """A worker killed mid-job leaves the photo 'processing': requeue-stuck finishes it, without duplicates."""
    from datetime import timedelta

    from tracker.models import utcnow

    headers = api_token(client, world["prac_x"].email)
    body = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=headers).get_json()
    store = app.extensions["tracker_storage"]
    with app.app_context():
        photo = db.session.get(Photo, body["id"])
        for variant in ("display", "thumb"):
            store.delete(photo.key(variant))  # the worker died before (or while) writing them
        photo.status, photo.created_at = PhotoStatus.PROCESSING, utcnow() - timedelta(hours=1)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["tracker", "requeue-stuck", "--older-than-minutes", "15"])
    assert "requeued 1 photo(s)" in result.output
    with app.app_context():
        photo = db.session.get(Photo, body["id"])
        assert photo.status is PhotoStatus.READY
        assert sorted(e.key.rsplit("/", 1)[1] for e in store.entries(f"photos/{photo.storage_id}/")) == [
            "display.jpg", "original", "thumb.jpg"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 1
    again = app.test_cli_runner().invoke(args=["tracker", "requeue-stuck"])
    assert "requeued 0 photo(s)" in again.output


def test_a_job_the_worker_cannot_load_still_fails_its_photo(queued_app, monkeypatch):
    """The RQ failure callback records failures outside our job function: here the worker runs code that lacks
    the job (a web app deployed before its worker, say), so the job never starts."""
    with queued_app.app_context():
        world = build_world()
    client = queued_app.test_client()
    headers = api_token(client, world["prac_x"].email)
    monkeypatch.setattr(background, "PROCESS_PHOTO_JOB", "tracker.jobs.process_photo_job_v2")
    body = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=headers).get_json()
    run_worker(queued_app)
    failed = photo(queued_app, body["id"])
    assert failed.status is PhotoStatus.FAILED and failed.failure_reason == jobs.COULD_NOT_START
    monkeypatch.undo()
    assert client.post(f"/api/v1/photos/{body['id']}/retry", headers=headers).get_json()["status"] == "processing"
    run_worker(queued_app)
    assert photo(queued_app, body["id"]).status is PhotoStatus.READY
