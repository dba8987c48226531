"""CLI commands (create-clinic, load-demo) and the demo clinics they create."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import login
from tracker.extensions import db
from tracker.models import AlignmentStatus, AuditEvent, Clinic, GalleryItem, Patient, Photo, PhotoStatus, Role, Roi, User


def test_create_clinic_bootstraps_an_admin(app, client):
    result = app.test_cli_runner().invoke(args=[
        "tracker", "create-clinic", "--name", "Skin & Co", "--slug", "skin-co", "--admin-email", "Boss@Skin.example.com",
        "--admin-name", "Boss", "--admin-password", "boss passphrase"])
    assert result.exit_code == 0, result.output
    assert "/c/skin-co" in result.output
    with app.app_context():
        admin = db.session.scalars(sa.select(User)).one()
        assert admin.role is Role.CLINIC_ADMIN and admin.email == "boss@skin.example.com"
        assert admin.password_hash.startswith("$argon2id$")
    assert login(client, "boss@skin.example.com", "boss passphrase").status_code == 302
    assert client.get("/admin/staff").status_code == 200


@pytest.mark.parametrize(("args", "message"), [
    (["--slug", "Bad Slug!"], "lowercase letters"),
    (["--admin-password", "short"], "at least 8"),
    (["--admin-password", "password1"], "most common"),
])
def test_create_clinic_refuses_bad_input_and_stores_nothing(app, args, message):
    base = {"--name": "C", "--slug": "c", "--admin-email": "a@c.example.com", "--admin-name": "A",
            "--admin-password": "good passphrase"}
    base.update(dict(zip(args[::2], args[1::2])))
    argv = ["tracker", "create-clinic"] + [x for kv in base.items() for x in kv]
    result = app.test_cli_runner().invoke(args=argv)
    assert result.exit_code != 0 and message in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Clinic)) == 0


def test_create_clinic_duplicate_slug(app):
    runner = app.test_cli_runner()
    argv = ["tracker", "create-clinic", "--name", "C", "--slug", "c", "--admin-email", "a@c.example.com",
            "--admin-name", "A", "--admin-password", "good passphrase"]
    assert runner.invoke(args=argv).exit_code == 0
    argv[7] = "b@c.example.com"
    result = runner.invoke(args=argv)
    assert result.exit_code != 0 and "already exists" in result.output


def test_demo_loads_once_into_an_empty_database(app):
    runner = app.test_cli_runner()
    assert "Demo clinics loaded." in runner.invoke(args=["tracker", "load-demo", "--if-empty"]).output
    assert "not loaded" in runner.invoke(args=["tracker", "load-demo", "--if-empty"]).output
    with app.app_context():
        alex = db.session.scalars(sa.select(Patient).where(Patient.email == "patient@example.com")).one()
        photos = db.session.scalars(sa.select(Photo).where(Photo.patient_id == alex.id).order_by(Photo.taken_on)).all()
        assert len(photos) >= 5 and all(p.status is PhotoStatus.READY for p in photos)
        assert len({p.taken_on for p in photos}) >= 4, "a dated series"
    with app.app_context():
        assert db.session.scalars(sa.select(Clinic.slug).order_by(Clinic.slug)).all() == ["demo", "other"]
        demo_patients = db.session.scalar(sa.select(sa.func.count()).select_from(Patient).join(Clinic)
                                          .where(Clinic.slug == "demo"))
        assert demo_patients >= 3


def test_demo_is_refused_in_production(app_factory, production_env):
    app = app_factory(TRACKER_ENV="production")
    result = app.test_cli_runner().invoke(args=["tracker", "load-demo", "--if-empty"])
    assert result.exit_code != 0 and "never created by the production configuration" in result.output


DEMO_LOGINS = [
    ("admin@example.com", "demo-admin-pass", "/admin/staff", 200),
    ("practitioner@example.com", "demo-practitioner-pass", "/patients/", 200),
    ("patient@example.com", "demo-patient-pass", "/", 200),
    ("practitioner@other.example.com", "demo-practitioner-pass", "/patients/", 200),
    ("patient@other.example.com", "demo-patient-pass", "/", 200),
]


@pytest.mark.parametrize(("email", "password", "url", "status"), DEMO_LOGINS)
def test_demo_accounts_sign_in(app, client, email, password, url, status):
    app.test_cli_runner().invoke(args=["tracker", "load-demo", "--no-photos"])
    assert login(client, email, password).status_code == 302
    assert client.get(url).status_code == status


def test_demo_shows_isolation(app, client):
    app.test_cli_runner().invoke(args=["tracker", "load-demo", "--no-photos"])
    login(client, "practitioner@other.example.com", "demo-practitioner-pass")
    page = client.get("/patients/").get_data(as_text=True)
    assert "Robin Clarke" in page and "Alex Morgan" not in page
    with app.app_context():
        alex = db.session.scalars(sa.select(Patient).where(Patient.full_name == "Alex Morgan")).one()
    assert client.get(f"/patients/{alex.id}").status_code == 404


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parents[2]
DEMO_PHOTOS = 17  # the series in tracker.demo.DEMO_SERIES


@pytest.mark.slow
def test_demo_loads_with_a_queue_and_a_load_stopped_part_way_is_finished(app_factory):
    """`flask --app tracker tracker load-demo --if-empty` as `make run` runs it, with REDIS_URL set and no worker:
    the demo still loads completely (photos processed in the command). Killed part way, the next run finishes it;
    the run after that leaves it alone."""
    from redis import Redis
    from rq import Queue

    app = app_factory()  # the schema, in the database the command is pointed at
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "FLASK_", "DATABASE_URL"))}
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], TRACKER_UPLOAD_DIR=app.config["TRACKER_UPLOAD_DIR"],
               TRACKER_INSTANCE_DIR=app.instance_path, REDIS_URL=REDIS_URL)
    command = [str(Path(sys.executable).parent / "flask"), "--app", "tracker", "tracker", "load-demo", "--if-empty"]

    def count(model: type) -> int:
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(model))  # type: ignore[no-any-return]

    stopped = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while count(Photo) < 3 and stopped.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    stopped.kill()  # Ctrl-C or a crash while the photos are made
    output = stopped.communicate(timeout=30)[0].decode()
    assert stopped.returncode == -9, output
    assert 3 <= count(Photo) < DEMO_PHOTOS and count(GalleryItem) == 0, "stopped part way"

    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "Demo clinics loaded (finishing a load that had stopped part way)." in finished.stdout
    with app.app_context():
        photos = db.session.scalars(sa.select(Photo)).all()
        assert len(photos) == DEMO_PHOTOS and {p.status for p in photos} == {PhotoStatus.READY}
        assert {p.alignment for p in photos} <= {AlignmentStatus.BASELINE, AlignmentStatus.ALIGNED}
        assert db.session.scalars(sa.select(Clinic.slug).order_by(Clinic.slug)).all() == ["demo", "other"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) == 4
        assert db.session.scalar(sa.select(GalleryItem.status)).value == "published"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Roi)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "demo.loaded")) == 1
    assert Queue("tracker", connection=redis).count == 0, "nothing was left for a worker that may never run"

    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "Database not empty; demo data not loaded." in again.stdout
    assert count(Photo) == DEMO_PHOTOS
    redis.flushdb()
    redis.close()
