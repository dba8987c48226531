"""Backups: a round trip into an empty deployment keeps every byte and every record; verify finds altered and
missing objects; backup and restore refuse what they must; a backup taken while photos arrive is consistent.

Runs on SQLite and on PostgreSQL (TEST_DATABASE_URL): the restore target is always a second, empty deployment.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import PG_URL, make_app
from tests.factories import api_token, make_clinic, striae, upload
from tracker.backup import CHECKSUM_COLUMNS, PHOTO_REFS_SQL, backup
from tracker.config import normalize_database_url
from tracker.extensions import db
from tracker.models import Clinic, Photo
from tracker.storage import StorageError

SMALL = (400, 300)  # big enough to align, small enough to be quick


@pytest.fixture
def empty_deployment(tmp_path: Path) -> Any:
    """A second deployment with an empty database and empty storage of its own, as after `flask db upgrade`.

    On PostgreSQL it is a new database rather than a new schema: a dump names its schema in every statement, so
    it can only go back into a schema of the same name.
    """
    root = tmp_path / "target"
    root.mkdir()
    overrides = {"TRACKER_UPLOAD_DIR": str(root / "uploads")}
    if not PG_URL:
        app = make_app(root, pg=False, SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 'restored.db'}", **overrides)
        yield app
        with app.app_context():
            db.engine.dispose()
        return
    name = f"restore_{uuid.uuid4().hex[:10]}"
    server = sa.create_engine(normalize_database_url(PG_URL), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(normalize_database_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    app = make_app(root, pg=True, SQLALCHEMY_DATABASE_URI=url, **overrides)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    with server.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    server.dispose()


def cli(app: Flask, *args: str) -> Any:
    """The commands as the app registers them (the shipped entry point itself: tests/services/test_readme_commands.py)."""
    return app.test_cli_runner().invoke(args=["tracker", *args])


def stored(app: Flask) -> dict[str, bytes]:
    store = app.extensions["tracker_storage"]
    return {entry.key: store.get(entry.key) for entry in store.entries()}


def records(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order, as Python values (datetimes compared as datetimes)."""
    with app.app_context(), db.engine.connect() as conn:
        return {table.name: [tuple(row) for row in conn.execute(
                    sa.select(table).order_by(*table.primary_key.columns))]
                for table in db.metadata.sorted_tables}


def put_photo(client: Any, area_id: int, headers: dict[str, str], seed: int, severity: float, day: str,
              pose: tuple[float, float, float, float] = (0, 1, 0, 0)) -> dict[str, Any]:
    response = upload(client, area_id, striae(seed, severity, pose, size=SMALL), headers=headers, taken_on=day,
                      view="front")
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def fill(client: Any, world: Any) -> list[dict[str, Any]]:
    """Photos in two clinics (a baseline, two aligned follow-ups, a deleted one), a session and an assessment."""
    staff_x, staff_y = api_token(client, world["prac_x"].email), api_token(client, world["prac_y"].email)
    a, c = world["a"], world["c"]
    photos = [put_photo(client, a.area_id, staff_x, 7, 0.9, "2026-01-10"),
              put_photo(client, a.area_id, staff_x, 7, 0.6, "2026-02-10", (3, 1.03, 8, 4)),
              put_photo(client, a.area_id, staff_x, 7, 0.4, "2026-03-10", (-2, 0.98, -6, 3)),
              put_photo(client, c.area_id, staff_y, 9, 0.8, "2026-01-12")]
    assert client.delete(f"/api/v1/photos/{photos[3]['id']}", headers=staff_y).status_code == 204
    session = client.post(f"/api/v1/patients/{a.patient_id}/sessions", headers=staff_x, json={
        "course_id": a.course_id, "performed_on": "2026-01-20", "area_ids": [a.area_id], "harvested_ml": 60,
        "injected_ml": {str(a.area_id): 4.5}, "notes": "Tolerated well"})
    assert session.status_code == 201, session.get_json()
    assessment = client.post(f"/api/v1/areas/{a.area_id}/assessments", headers=staff_x,
                             json={"scale": "davey", "assessed_on": "2026-01-10", "score": 3})
    assert assessment.status_code == 201, assessment.get_json()
    return photos


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def assert_private(directory: Path) -> None:
    assert directory.stat().st_mode & 0o777 == 0o700
    for path in directory.rglob("*"):
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path


# --- round trip ----------------------------------------------------------------------------------------------

def test_round_trip_into_an_empty_deployment_keeps_every_byte_and_record(app, client, world, tmp_path,
                                                                        empty_deployment):
    fill(client, world)
    source_objects = stored(app)
    assert any(key.endswith("/aligned.jpg") for key in source_objects), "derivatives of every kind are covered"
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    target = shared / "backups" / "today"

    result = cli(app, "backup", str(target))
    assert result.exit_code == 0, result.output
    assert shared.stat().st_mode & 0o777 == 0o755, "folders that existed are left alone"
    assert (shared / "backups").stat().st_mode & 0o777 == 0o700
    assert "Backed up 4 photo record(s)" in result.output and "store it encrypted" in result.output
    assert_private(target)
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["photos"] == 4 and manifest["problems"] == []
    assert {obj["key"] for obj in manifest["objects"]} == set(source_objects)
    assert manifest["database"]["dialect"] == ("postgresql" if PG_URL else "sqlite")

    restored = cli(empty_deployment, "restore", str(target))
    assert restored.exit_code == 0, restored.output
    assert "Restored 4 photo record(s)" in restored.output and "Every stored object matches" in restored.output
    assert stored(empty_deployment) == source_objects
    source_records = records(app)
    assert all(source_records[t] for t in ("audit_events", "photos", "treatment_sessions", "assessments"))
    assert records(empty_deployment) == source_records
    assert cli(empty_deployment, "verify").exit_code == 0
    with empty_deployment.app_context():
        make_clinic("Clinic Z", "clinic-z")  # the restored database carries on: ids continue (sequences too)
        db.session.commit()


def test_backup_reports_an_altered_original_and_still_backs_it_up(app, client, world, tmp_path, monkeypatch):
    photo = put_photo(client, world["a"].area_id, api_token(client, world["prac_x"].email), 3, 0.9, "2026-01-10")
    store = app.extensions["tracker_storage"]
    with app.app_context():
        key, thumb = (db.session.get(Photo, photo["id"]).key(v) for v in ("original", "thumb"))
    flip_a_byte(store.root / key)
    read = store.get

    def failing_disk(wanted: str) -> bytes:
        if wanted == thumb:
            raise StorageError(5, "Input/output error")
        return read(wanted)

    monkeypatch.setattr(store, "get", failing_disk)
    result = cli(app, "backup", str(tmp_path / "backup"))
    assert result.exit_code == 1
    assert f"PROBLEM: photo {photo['id']} original ({key}): corrupt" in result.output
    assert "backed up as found" in result.output
    assert f"{thumb} could not be read from storage" in result.output, "one bad object does not stop the backup"
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert (tmp_path / "backup" / "objects" / key).read_bytes() == store.get(key)
    assert manifest["unreadable"] == [thumb]
    assert manifest["problems"] == [
        {"photo_id": photo["id"], "variant": "original", "key": key, "problem": "corrupt"},
        {"photo_id": photo["id"], "variant": "thumb", "key": thumb, "problem": "missing"}]


def test_the_photo_query_reads_the_checksum_columns_in_order():
    columns = PHOTO_REFS_SQL.split("deleted_at IS NOT NULL, ")[1].split(" FROM")[0].split(", ")
    assert columns == list(CHECKSUM_COLUMNS.values())
    assert set(columns) <= set(Photo.__table__.columns.keys())


def test_the_database_password_goes_to_pg_tools_in_the_environment_only():
    from tracker.backup import _libpq

    dbname, env = _libpq(sa.make_url("postgresql+psycopg://clinic:s3cr%40t@db.internal:5432/tracker"
                                      "?options=-csearch_path%3Dtracker"))
    assert dbname == "postgresql://clinic@db.internal:5432/tracker?options=-csearch_path%3Dtracker"
    assert env["PGPASSWORD"] == "s3cr@t"


# --- verify --------------------------------------------------------------------------------------------------

def test_verify_reports_altered_and_missing_objects_by_photo(app, client, world):
    staff = api_token(client, world["prac_x"].email)
    one = put_photo(client, world["a"].area_id, staff, 3, 0.9, "2026-01-10")
    two = put_photo(client, world["a"].area_id, staff, 4, 0.9, "2026-02-10")
    clean = cli(app, "verify")
    assert clean.exit_code == 0, clean.output
    assert "all match" in clean.output
    store = app.extensions["tracker_storage"]
    with app.app_context():
        first, second = db.session.get(Photo, one["id"]), db.session.get(Photo, two["id"])
        flip_a_byte(store.root / first.key("original"))
        store.delete(second.key("original"))
        store.delete(second.key("thumb"))

    result = cli(app, "verify")
    assert result.exit_code == 1
    assert f"photo {one['id']} original (photos/" in result.output and ": corrupt" in result.output
    assert f"photo {two['id']} original" in result.output and "3 problem(s)" in result.output
    as_json = cli(app, "verify", "--json")
    assert as_json.exit_code == 1
    body = json.loads(as_json.output)
    assert body["ok"] is False and body["photos"] == 2
    assert {(p["photo_id"], p["variant"], p["problem"]) for p in body["problems"]} == {
        (one["id"], "original", "corrupt"), (two["id"], "original", "missing"), (two["id"], "thumb", "missing")}


def test_verify_of_an_empty_deployment_is_clean_json(app):
    result = cli(app, "verify", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == {"ok": True, "photos": 0, "objects_checked": 0, "problems": []}


# --- refusals ------------------------------------------------------------------------------------------------

def test_backup_refuses_a_non_empty_directory(app, world, tmp_path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("keep me")
    result = cli(app, "backup", str(used))
    assert result.exit_code != 0 and "is not empty" in result.output
    assert [p.name for p in used.iterdir()] == ["notes.txt"]
    inside = cli(app, "backup", str(tmp_path / "uploads" / "backup"))
    assert inside.exit_code != 0 and "inside the photo storage" in inside.output


def test_restore_refuses_a_deployment_that_is_not_empty(app, client, world, tmp_path, empty_deployment):
    put_photo(client, world["a"].area_id, api_token(client, world["prac_x"].email), 3, 0.9, "2026-01-10")
    assert cli(app, "backup", str(tmp_path / "backup")).exit_code == 0
    before = records(app), stored(app)

    into_source = cli(app, "restore", str(tmp_path / "backup"))
    assert into_source.exit_code != 0 and "already holds 2 clinic(s)" in into_source.output
    assert (records(app), stored(app)) == before

    empty_deployment.extensions["tracker_storage"].put("photos/stray/original", b"left over")
    stray = cli(empty_deployment, "restore", str(tmp_path / "backup"))
    assert stray.exit_code != 0 and "storage already holds objects" in stray.output
    assert not any(records(empty_deployment).values())


def test_restore_refuses_a_tampered_backup_before_touching_anything(app, client, world, tmp_path,
                                                                   empty_deployment):
    photo = put_photo(client, world["a"].area_id, api_token(client, world["prac_x"].email), 3, 0.9, "2026-01-10")
    target = tmp_path / "backup"
    assert cli(app, "backup", str(target)).exit_code == 0
    with app.app_context():
        key = db.session.get(Photo, photo["id"]).key("original")
    flip_a_byte(target / "objects" / key)

    result = cli(empty_deployment, "restore", str(target))
    assert result.exit_code != 0
    assert "does not match its manifest" in result.output and f"{key} (changed)" in result.output
    assert not any(records(empty_deployment).values()) and stored(empty_deployment) == {}

    manifest = json.loads((target / "manifest.json").read_text())
    manifest["objects"][0]["key"] = "photos/../../../etc/passwd"
    (target / "manifest.json").write_text(json.dumps(manifest))
    climbing = cli(empty_deployment, "restore", str(target))
    assert climbing.exit_code != 0 and "not a backup manifest" in climbing.output

    (target / "manifest.json").unlink()  # an interrupted backup has none
    assert "no manifest.json" in cli(empty_deployment, "restore", str(target)).output


def test_restore_refuses_a_backup_of_another_database_kind(app, world, tmp_path, empty_deployment):
    """Whatever the database under test, a backup of the other kind is refused before anything is written."""
    assert cli(app, "backup", str(tmp_path / "backup")).exit_code == 0
    manifest_path = tmp_path / "backup" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["database"]["dialect"] = "sqlite" if manifest["database"]["dialect"] == "postgresql" else "postgresql"
    manifest_path.write_text(json.dumps(manifest))
    result = cli(empty_deployment, "restore", str(tmp_path / "backup"))
    assert result.exit_code != 0
    assert "not a backup manifest this version can read" in result.output
    with empty_deployment.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Clinic)) == 0


def test_postgresql_restore_refuses_another_schema_and_backup_needs_pg_dump(app, world, tmp_path, monkeypatch):
    if not PG_URL:
        # On SQLite the same refusals are about the file: a backup is never restored over a populated database.
        assert cli(app, "backup", str(tmp_path / "backup")).exit_code == 0
        assert cli(app, "restore", str(tmp_path / "backup")).exit_code != 0
        return
    assert cli(app, "backup", str(tmp_path / "backup")).exit_code == 0
    schema = f"other_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(normalize_database_url(PG_URL))
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        other = make_app(tmp_path / "other", pg=True,
                         SQLALCHEMY_DATABASE_URI=f"{normalize_database_url(PG_URL)}?options=-csearch_path%3D{schema}")
        result = cli(other, "restore", str(tmp_path / "backup"))
        assert result.exit_code != 0 and "schema 'public'" in result.output and schema in result.output
        with other.app_context():
            db.engine.dispose()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    monkeypatch.setattr("tracker.backup.shutil.which", lambda name: None)
    missing = cli(app, "backup", str(tmp_path / "again"))
    assert missing.exit_code != 0 and "pg_dump was not found" in missing.output


# --- consistency under load ----------------------------------------------------------------------------------

def test_backup_while_photos_arrive_is_consistent(app, client, world, tmp_path, empty_deployment, monkeypatch):
    import tracker.backup as backup_module

    staff = api_token(client, world["prac_x"].email)
    area = world["a"].area_id
    put_photo(client, area, staff, 30, 0.9, "2026-01-01")  # certainly in the snapshot
    snapshot_taken, uploaded_after = threading.Event(), threading.Event()
    real_snapshot = backup_module._snapshot_database

    def snapshot_then_let_an_upload_in(directory: Path) -> Any:
        # Force the interesting interleaving: a whole upload between the snapshot and the copy of the objects.
        taken = real_snapshot(directory)
        snapshot_taken.set()
        assert uploaded_after.wait(60), "the upload after the snapshot did not finish"
        return taken

    monkeypatch.setattr(backup_module, "_snapshot_database", snapshot_then_let_an_upload_in)
    errors: list[BaseException] = []

    def uploader() -> None:
        try:
            own_client = app.test_client()
            for month in range(2, 7):  # later dates only: nothing already stored is realigned
                if month == 4:
                    assert snapshot_taken.wait(60)
                put_photo(own_client, area, staff, 30 + month, 0.7, f"2026-{month:02d}-01", (month - 4, 1, 5, 2))
                if month == 4:
                    uploaded_after.set()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            uploaded_after.set()

    thread = threading.Thread(target=uploader)
    thread.start()
    try:
        with app.app_context():
            report = backup(tmp_path / "backup")
    finally:
        thread.join(120)
    assert not errors, errors
    assert report.problems == [] and report.warnings == []
    with app.app_context():
        uploaded = db.session.scalar(sa.select(sa.func.count()).select_from(Photo))
    assert uploaded == 6 and 1 <= report.photos < uploaded, "some uploads landed after the snapshot"

    restored = cli(empty_deployment, "restore", str(tmp_path / "backup"))
    assert restored.exit_code == 0, restored.output
    assert f"Restored {report.photos} photo record(s)" in restored.output
    assert "Every stored object matches" in restored.output, "every row in the snapshot has its bytes"
    with empty_deployment.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Clinic)) == 2
    orphans = cli(empty_deployment, "purge-orphans", "--dry-run", "--grace-minutes", "0")
    assert re.search(r"objects without rows: [1-9]\d* \(would remove\)", orphans.output), \
        "the upload after the snapshot came along as harmless orphans"
