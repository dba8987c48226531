"""The production entry point README shows (``gunicorn 'tracker:create_app()'``) run as a real process: it serves
only its own host name, and refuses per-process rate-limit counters when it runs several workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TRACKER_", "TEST_")) and key not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY",
                                                                       "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS")}
    env.update({
        "TRACKER_ENV": "production", "SECRET_KEY": "p" * 40, "TRACKER_BASE_URL": "https://tracker.clinic.example",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'tracker.db'}", "TRACKER_INSTANCE_DIR": str(tmp_path / "instance"),
        "TRACKER_UPLOAD_DIR": str(tmp_path / "uploads"), "TRACKER_RATELIMIT_STORAGE_URI": "memory://",
        "PYTHONPATH": str(ROOT), **extra,
    })
    return env


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    proc = subprocess.Popen([GUNICORN, "--bind", f"127.0.0.1:{port}", "tracker:create_app()"], cwd=ROOT,
                            env=_env(tmp_path, TRACKER_PROXY_HOPS="1"), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # the worker imports the app (OpenCV, numpy) before it answers
        while True:
            try:
                requests.get(url + "/healthz", headers={"Host": "tracker.clinic.example"}, timeout=30)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()
                assert time.monotonic() < deadline, "gunicorn did not answer within a minute"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def test_production_serves_its_own_host_name_only(server):
    ours = requests.get(server + "/auth/login", headers={"Host": "tracker.clinic.example",
                                                         "X-Forwarded-Proto": "https"}, timeout=5)
    assert ours.status_code == 200 and "Sign in" in ours.text
    for host in ("evil.example", "127.0.0.1", "localhost"):
        refused = requests.get(server + "/auth/login", headers={"Host": host}, timeout=5)
        assert refused.status_code == 400 and "does not answer for that host name" in refused.text
        api = requests.post(server + "/api/v1/tokens", json={"email": "a@example.com", "password": "x"},
                            headers={"Host": host}, timeout=5)
        assert api.status_code == 400 and api.json()["error"]["code"] == "untrusted_host"


@pytest.mark.parametrize("several", [{"WEB_CONCURRENCY": "2"}, {"GUNICORN_CMD_ARGS": "--workers 2"}])
def test_production_refuses_per_process_counters_with_several_workers(tmp_path: Path, several):
    port = _free_port()
    done = subprocess.run([GUNICORN, "--bind", f"127.0.0.1:{port}", "tracker:create_app()"], cwd=ROOT,
                          env=_env(tmp_path, **several), capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "TRACKER_RATELIMIT_STORAGE_URI=memory:// keeps counters per process" in done.stdout + done.stderr
