"""The worker as a user runs it: `make worker` (rq worker --with-scheduler) as its own process, against the real
Redis, with the app's environment; photos uploaded through the app (REDIS_URL set) are processed there.

The worker imports our code fresh, the way the suite never does (it imports the app first): these tests are the
ones that would have seen every job fail with an ImportError.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import REDIS_URL
from tests.factories import api_token, build_world, fixture_bytes, striae, upload
from tracker import jobs
from tracker.extensions import db
from tracker.models import Photo

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent  # the virtualenv running the tests: `make worker VENV=…` uses it


@pytest.fixture
def queued_app(app_factory, redis_url):
    return app_factory(REDIS_URL=redis_url)


def worker_env(app: Any, **changes: str) -> dict[str, str]:
    """The environment a deployment gives its worker: the app's database, uploads and instance folder, Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "FLASK_", "DATABASE_URL"))}
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], TRACKER_UPLOAD_DIR=app.config["TRACKER_UPLOAD_DIR"],
               TRACKER_INSTANCE_DIR=app.instance_path, REDIS_URL=REDIS_URL, **changes)
    return env


class Worker:
    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process, self.log = process, log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited ({self.process.returncode}) before {what}:\n{self.output()[-4000:]}")
            time.sleep(0.2)
        pytest.fail(f"not within {timeout} s: {what}\nworker log:\n{self.output()[-4000:]}")


@contextmanager
def make_worker(env: dict[str, str], log: Path) -> Iterator[Worker]:
    """`make worker` exactly as README says, with the test's virtualenv (-o: never reinstall it)."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "-o", f"{VENV}/.installed", "worker", f"VENV={VENV}"],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield Worker(process, log)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # make, rq and any work horse: the whole process group
        process.wait(timeout=10)


def photo_json(client: Any, headers: dict[str, str], photo_id: int) -> dict[str, Any]:
    return client.get(f"/api/v1/photos/{photo_id}", headers=headers).get_json()  # type: ignore[no-any-return]


def test_the_worker_process_processes_uploads_and_realigns(queued_app, tmp_path):
    with queued_app.app_context():
        world = build_world()
    client = queued_app.test_client()
    headers = api_token(client, world["prac_x"].email)
    area = world["a"].area_id
    first = upload(client, area, fixture_bytes("heic/arrow.heic"), headers=headers).get_json()
    series = [upload(client, area, striae(5, severity, pose), headers=headers, taken_on=day, view="front").get_json()
              for severity, pose, day in ((0.9, (0, 1, 0, 0), "2026-01-05"), (0.6, (3, 1.03, 12, -8), "2026-02-05"))]
    assert [p["status"] for p in [first, *series]] == ["processing"] * 3
    with make_worker(worker_env(queued_app), tmp_path / "worker.log") as worker:
        ids = [first["id"]] + [p["id"] for p in series]
        worker.wait_for("every photo ready", lambda: all(
            photo_json(client, headers, i)["status"] == "ready" for i in ids))
        later = worker.wait_for("the later photo aligned (after processing, in the same job)", lambda: (
            (p := photo_json(client, headers, series[1]["id"]))["alignment"]["status"] != "pending" and p))
        assert later["alignment"]["status"] == "aligned" and later["alignment"]["aligned_to"] == series[0]["id"]
        assert client.get(later["images"]["display"], headers=headers).status_code == 200
        # Pinning the later photo as the baseline realigns the view: a realign job, run by the worker.
        assert client.post(f"/api/v1/photos/{series[1]['id']}/baseline", headers=headers).status_code == 200
        worker.wait_for("the earlier photo aligned to the new baseline", lambda: (
            photo_json(client, headers, series[0]["id"])["alignment"]["aligned_to"] == series[1]["id"]))
    assert "ImportError" not in worker.output() and "Traceback" not in worker.output()


def test_a_job_that_cannot_start_fails_its_photo_with_a_reason(queued_app, tmp_path):
    """A worker whose app cannot be built (here: an unknown storage backend) still marks the photo failed, with a
    reason the person sees, and says why in its log; once the worker is fixed, Retry processes the photo."""
    with queued_app.app_context():
        world = build_world()
    client = queued_app.test_client()
    headers = api_token(client, world["prac_x"].email)
    body = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=headers).get_json()
    broken = worker_env(queued_app, TRACKER_STORAGE="nowhere")
    with make_worker(broken, tmp_path / "broken.log") as worker:
        failed = worker.wait_for("the photo marked failed", lambda: (
            (p := photo_json(client, headers, body["id"]))["status"] == "failed" and p))
        assert failed["failure_reason"] == jobs.COULD_NOT_START
        assert "Unknown TRACKER_STORAGE 'nowhere'" in worker.output()
    page = client.get(f"/api/v1/photos/{body['id']}", headers=headers).get_json()
    assert page["status"] == "failed" and "Retry" in page["failure_reason"]
    with make_worker(worker_env(queued_app), tmp_path / "fixed.log") as worker:
        assert client.post(f"/api/v1/photos/{body['id']}/retry", headers=headers).status_code == 200
        worker.wait_for("the retried photo ready", lambda: photo_json(client, headers, body["id"])["status"] == "ready")
    with queued_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 1


def test_a_job_that_fails_is_retried_by_the_worker_scheduler(queued_app, tmp_path):
    """A transient storage fault fails the first attempt (the photo says so); the scheduler of `make worker` runs
    the retry a few seconds later, which succeeds, with nobody pressing Retry."""
    with queued_app.app_context():
        world = build_world()
    client = queued_app.test_client()
    headers = api_token(client, world["prac_x"].email)
    body = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=headers).get_json()
    with queued_app.app_context():
        original = Path(queued_app.config["TRACKER_UPLOAD_DIR"]) / db.session.get(Photo, body["id"]).key("original")
    aside = original.with_name("original.aside")
    original.rename(aside)
    original.mkdir()  # reading it now fails with an OS error (EISDIR): a disk or network share having a bad moment
    with make_worker(worker_env(queued_app), tmp_path / "worker.log") as worker:
        failed = worker.wait_for("the first attempt failed", lambda: (
            (p := photo_json(client, headers, body["id"]))["status"] == "failed" and p))
        assert failed["failure_reason"] == jobs.STOPPED
        original.rmdir()
        aside.rename(original)  # the fault passes
        worker.wait_for("the retry, run by the scheduler, made it ready", lambda: (
            photo_json(client, headers, body["id"])["status"] == "ready"), timeout=30)
    with queued_app.app_context():
        assert db.session.get(Photo, body["id"]).attempts == 2
