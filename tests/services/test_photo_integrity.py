"""A photo once accepted is never lost: crash windows, storage failures, the orphan sweep, purging deleted photos."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import api_token, fixture_bytes, upload
from tracker.extensions import db
from tracker.models import Photo, PhotoStatus, utcnow
from tracker.storage import StorageError


def keys(app) -> list[str]:
    with app.app_context():
        return sorted(e.key for e in app.extensions["tracker_storage"].entries())


def test_crash_between_storing_and_committing_leaves_an_orphan_that_purge_removes(app, client, world, monkeypatch):
    from tracker.photos import services

    headers = api_token(client, world["prac_x"].email)
    good = upload(client, world["a"].area_id, fixture_bytes("orientation/Portrait_1.jpg"), headers=headers,
                  taken_on="2026-01-01").get_json()

    class Crash(BaseException):
        """Stands in for the process dying: no cleanup code runs."""

    monkeypatch.setattr(services, "_undo", lambda key: None)
    monkeypatch.setattr(db.session, "commit", lambda: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=headers)
    monkeypatch.undo()
    with app.app_context():
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 1
    assert len(keys(app)) == 4, "the orphaned original is on disk"
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["tracker", "purge-orphans", "--dry-run", "--grace-minutes", "0"])
    assert "objects without rows: 1 (would remove)" in dry.output and len(keys(app)) == 4
    young = runner.invoke(args=["tracker", "purge-orphans"])
    assert "objects without rows: 0" in young.output, "in-flight uploads are inside the grace period"
    result = runner.invoke(args=["tracker", "purge-orphans", "--grace-minutes", "0"])
    assert "objects without rows: 1 (removed)" in result.output
    with app.app_context():
        photo = db.session.get(Photo, good["id"])
        assert keys(app) == sorted(photo.key(v) for v in ("display", "original", "thumb"))
    assert "clean" in runner.invoke(args=["tracker", "purge-orphans", "--grace-minutes", "0"]).output


def test_storage_failure_is_503_and_nothing_is_kept(app, client, world, monkeypatch):
    store = app.extensions["tracker_storage"]
    headers = api_token(client, world["prac_x"].email)

    def full(key, data):
        raise StorageError(28, "No space left on device")

    monkeypatch.setattr(store, "put", full)
    response = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=headers)
    assert response.status_code == 503
    assert response.get_json()["error"]["message"] == "Service temporarily unavailable; nothing was saved. Please retry."
    monkeypatch.undo()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 0
    assert keys(app) == []
    assert client.get(f"/api/v1/areas/{world['a'].area_id}/photos", headers=headers).status_code == 200


def test_database_failure_at_commit_is_503_and_the_stored_file_is_removed(app, client, world, monkeypatch):
    from sqlalchemy.exc import OperationalError

    headers = api_token(client, world["prac_x"].email)

    def locked():
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    monkeypatch.setattr(db.session, "commit", locked)
    response = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=headers)
    monkeypatch.undo()
    assert response.status_code == 503
    assert keys(app) == []


def test_purge_reports_rows_without_objects_and_repairs_derivatives(app, client, world):
    headers = api_token(client, world["prac_x"].email)
    one = upload(client, world["a"].area_id, fixture_bytes("orientation/Portrait_1.jpg"), headers=headers,
                 taken_on="2026-01-01").get_json()
    two = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=headers).get_json()
    store = app.extensions["tracker_storage"]
    with app.app_context():
        first, second = db.session.get(Photo, one["id"]), db.session.get(Photo, two["id"])
        store.delete(first.key("original"))
        store.delete(second.key("thumb"))
    output = app.test_cli_runner().invoke(args=["tracker", "purge-orphans", "--grace-minutes", "0"]).output
    assert f"photos whose original is missing: 1 (marked failed; restore from backup) [{one['id']}]" in output
    assert "photos missing derivatives: 1 (re-processed)" in output
    with app.app_context():
        first, second = db.session.get(Photo, one["id"]), db.session.get(Photo, two["id"])
        assert first.status is PhotoStatus.FAILED and "restore it from a backup" in first.failure_reason
        assert store.exists(second.key("thumb"))


def test_process_refuses_an_original_whose_checksum_changed(app, client, world):
    from tracker.photos.services import process_photo

    headers = api_token(client, world["prac_x"].email)
    body = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=headers).get_json()
    store = app.extensions["tracker_storage"]
    with app.app_context():
        photo = db.session.get(Photo, body["id"])
        store.put(photo.key("original"), b"tampered" + store.get(photo.key("original")))
        photo.status = PhotoStatus.PROCESSING
        db.session.commit()
        assert process_photo(body["id"]) == "failed"
        assert "checksum" in db.session.get(Photo, body["id"]).failure_reason


def test_purge_deleted_removes_old_tombstones_only(app, client, world):
    headers = api_token(client, world["prac_x"].email)
    old = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=headers).get_json()
    recent = upload(client, world["a"].area_id, fixture_bytes("orientation/Portrait_1.jpg"), headers=headers,
                    taken_on="2026-01-01").get_json()
    for body in (old, recent):
        client.delete(f"/api/v1/photos/{body['id']}", headers=headers)
    with app.app_context():
        db.session.get(Photo, old["id"]).deleted_at = utcnow() - timedelta(days=31)
        db.session.commit()
    output = app.test_cli_runner().invoke(args=["tracker", "purge-deleted", "--days", "30"]).output
    assert "purged 1 deleted photo(s)" in output
    with app.app_context():
        assert db.session.get(Photo, old["id"]) is None and db.session.get(Photo, recent["id"]) is not None
    assert len(keys(app)) == 3


def _photo_folders(app) -> set[str]:
    from pathlib import Path

    folder = Path(app.config["TRACKER_UPLOAD_DIR"]) / "photos"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def _storage_ids(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(Photo.storage_id)))


@pytest.mark.parametrize("failure", ["database error", "disk full", "duplicate race", "duplicate", "quota",
                                     "not an image"])
def test_a_failed_or_refused_upload_leaves_no_folder_behind(app, world, failure, monkeypatch):
    """Whatever stops an upload — before or after its original was written — no empty folder stays under
    uploads/photos/: exactly the saved photos have one."""
    import os

    from sqlalchemy.exc import OperationalError

    from tracker.photos import services

    client = app.test_client()
    headers = api_token(client, world["prac_x"].email)
    area = world["a"].area_id
    first = upload(client, area, fixture_bytes("orientation/Portrait_1.jpg"), headers=headers, taken_on="2026-01-01")
    assert first.status_code == 201
    data = fixture_bytes("color/P1133897_sRGB.jpg")
    if failure == "quota":
        app.config["TRACKER_PATIENT_QUOTA_BYTES"] = len(fixture_bytes("orientation/Portrait_1.jpg")) + len(data) - 1
    expected = {"database error": 503, "disk full": 503, "duplicate race": 409, "duplicate": 409, "quota": 413,
                "not an image": 415}[failure]
    if failure == "database error":
        monkeypatch.setattr(db.session, "commit",
                            lambda: (_ for _ in ()).throw(OperationalError("COMMIT", {}, Exception("locked"))))
    elif failure == "disk full":
        monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    elif failure in ("duplicate race", "duplicate"):
        data = fixture_bytes("orientation/Portrait_1.jpg")
        if failure == "duplicate race":  # the other request commits between our check and our commit
            real, calls = services.find_duplicate, []
            monkeypatch.setattr(services, "find_duplicate",
                                lambda *a: None if not calls.append(1) and len(calls) == 1 else real(*a))
    elif failure == "not an image":
        data = b"%PDF-1.7 not a photo" * 100
    response = upload(client, area, data, headers=headers, taken_on="2026-01-02")
    monkeypatch.undo()
    assert response.status_code == expected, response.get_json()
    assert _photo_folders(app) == _storage_ids(app) and len(_storage_ids(app)) == 1


def test_an_interrupted_write_alone_in_its_folder_is_swept_with_the_folder_in_one_pass(app, world):
    """Found by the crash benchmark: a temp file removed by the sweep left its folder, so a second sweep was
    never clean (the emptied folder looked young)."""
    import os
    import time

    from tracker.storage.local import TEMP_PREFIX

    root = Path(app.config["TRACKER_UPLOAD_DIR"])
    folder = root / "photos" / "0123456789abcdef0123456789abcdef"
    folder.mkdir(parents=True)
    temp = folder / f"{TEMP_PREFIX}original-interrupted"
    temp.write_bytes(b"half a photo")
    old = time.time() - 7200
    os.utime(temp, (old, old))
    os.utime(folder, (old, old))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tracker", "purge-orphans"])
    first = result.output
    assert result.exit_code == 0, result.exception
    assert "interrupted temp files: 1 (removed)" in first
    assert not temp.exists() and not folder.exists()
    assert runner.invoke(args=["tracker", "purge-orphans"]).output.strip().endswith("clean")
