"""Every command README.md and docs/ show, run as a user runs it: the shipped `flask` entry point (and `make run`)
in a subprocess, on throw-away data (a fresh database and uploads folder per test), never re-wired by the test.

On PostgreSQL runs (TEST_DATABASE_URL) each deployment gets a database of its own, created and dropped here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess  # nosec B404 - the shipped entry points, with fixed argument lists
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_URL
from tracker.config import PROJECT_ROOT, normalize_database_url

BIN = Path(sys.executable).parent
FLASK = str(BIN / "flask")
DOCS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
# The commands this module runs through the real entry point; a new command must be added here and run below.
EXERCISED = {"backup", "create-clinic", "load-demo", "purge-deleted", "purge-orphans", "realign", "requeue-stuck",
             "restore", "verify"}

pytestmark = pytest.mark.slow


@dataclass
class Deployment:
    """One throw-away deployment: a database URL, an uploads folder and an instance folder."""

    root: Path
    database_url: str
    env: dict[str, str] = field(default_factory=dict)

    def flask(self, *args: str, input: str | None = None, check: bool = True,
              timeout: float = 180) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([FLASK, "--app", "tracker", *args], env=self.env, cwd=PROJECT_ROOT, input=input,
                                capture_output=True, text=True, timeout=timeout, check=False)  # nosec B603
        if check:
            assert result.returncode == 0, f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def tracker(self, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return self.flask("tracker", *args, **kw)  # type: ignore[arg-type]

    def scalar(self, sql: str) -> object:
        engine = sa.create_engine(normalize_database_url(self.database_url))
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text(sql)).scalar()
        finally:
            engine.dispose()

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"


def _user_env(root: Path, database_url: str) -> dict[str, str]:
    """The environment a user's shell would give the app: nothing of the test suite's."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TRACKER_", "TEST_", "PYTEST", "FLASK_")) and k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({
        "DATABASE_URL": database_url,
        "TRACKER_UPLOAD_DIR": str(root / "uploads"),
        "TRACKER_INSTANCE_DIR": str(root / "instance"),
        "TRACKER_MAIL_BACKEND": "file",
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    })
    return env


@pytest.fixture
def make_deployment(tmp_path: Path) -> Iterator[object]:
    created: list[str] = []
    server = sa.create_engine(normalize_database_url(PG_URL), isolation_level="AUTOCOMMIT") if PG_URL else None

    def make(name: str) -> Deployment:
        root = tmp_path / name
        root.mkdir()
        if server is None:
            url = f"sqlite:///{root / 'tracker.db'}"
        else:
            database = f"cli_{uuid.uuid4().hex[:12]}"
            with server.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
            created.append(database)
            url = sa.make_url(PG_URL).set(database=database).render_as_string(hide_password=False)
        return Deployment(root, url, _user_env(root, url))

    yield make
    if server is not None:
        with server.connect() as conn:
            for database in created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        server.dispose()


def documented_commands() -> set[str]:
    """`flask [--app tracker] tracker CMD` (and `a | b | c`) wherever README or docs/ show one."""
    found: set[str] = set()
    pattern = re.compile(r"flask (?:--app tracker )?tracker ([a-z][a-z-]*(?:\s*\|\s*[a-z][a-z-]*)*)")
    for path in DOCS:
        for match in pattern.finditer(path.read_text()):
            found.update(word.strip() for word in match.group(1).split("|"))
    return found


def shipped_commands(deployment: Deployment) -> set[str]:
    output = deployment.tracker("--help").stdout
    commands = output.split("Commands:", 1)[1]
    return {line.split()[0] for line in commands.splitlines() if line.strip()}


def test_every_documented_command_is_shipped_and_run_here(make_deployment):
    deployment = make_deployment("help")
    shipped = shipped_commands(deployment)
    documented = documented_commands()
    assert documented, "README shows no `flask tracker` command at all: the pattern above went stale"
    assert documented <= shipped, f"documented but not in the shipped CLI: {sorted(documented - shipped)}"
    assert shipped == EXERCISED, (f"shipped commands not run by this module: {sorted(shipped - EXERCISED)}; "
                                  f"run here but gone: {sorted(EXERCISED - shipped)}")


def test_a_new_clinic_from_the_command_line(make_deployment):
    deployment = make_deployment("clinic")
    deployment.flask("db", "upgrade")
    # As README shows it: the password is asked for (twice) rather than given on the command line.
    result = deployment.tracker("create-clinic", "--name", "Skin & Co", "--slug", "skin-co",
                                "--admin-email", "boss@skin.example", "--admin-name", "Boss",
                                input="a long boss passphrase\na long boss passphrase\n")
    assert "Created clinic 'Skin & Co' (/c/skin-co) with admin boss@skin.example." in result.stdout
    assert deployment.scalar("SELECT role FROM users WHERE email = 'boss@skin.example'") == "clinic_admin"
    # Bad input: a clear message, a non-zero exit, nothing stored.
    refused = deployment.tracker("create-clinic", "--name", "X", "--slug", "Bad Slug!", "--admin-email",
                                 "x@x.example", "--admin-name", "X", "--admin-password", "good passphrase",
                                 check=False)
    assert refused.returncode != 0 and "lowercase letters" in refused.stderr
    again = deployment.tracker("create-clinic", "--name", "Again", "--slug", "skin-co", "--admin-email",
                               "other@skin.example", "--admin-name", "O", "--admin-password", "good passphrase",
                               check=False)
    assert again.returncode != 0 and "already exists" in again.stderr
    assert deployment.scalar("SELECT count(*) FROM clinics") == 1
    assert deployment.scalar("SELECT count(*) FROM users") == 1
    # The demo is not loaded over a real clinic.
    assert "not loaded" in deployment.tracker("load-demo", "--if-empty").stdout


def test_maintenance_and_backup_commands_on_the_demo(make_deployment):
    """The README's maintenance commands on a deployment that `make run` would make, then a backup round trip."""
    source = make_deployment("source")
    source.flask("db", "upgrade")
    assert "Demo clinics loaded." in source.tracker("load-demo", "--if-empty").stdout
    assert "not loaded" in source.tracker("load-demo", "--if-empty").stdout
    photos = source.scalar("SELECT count(*) FROM photos WHERE status = 'ready'")
    assert isinstance(photos, int) and photos >= 5

    orphan = source.uploads / "photos" / "not-a-photo-of-ours" / "original"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"left by a crash")
    dry = source.tracker("purge-orphans", "--dry-run", "--grace-minutes", "0").stdout
    assert "objects without rows: 1 (would remove)" in dry and orphan.exists()
    assert "photos/not-a-photo-of-ours/original" in dry
    assert "repaired" in source.tracker("purge-orphans", "--grace-minutes", "0").stdout
    assert not orphan.exists()
    assert source.tracker("purge-orphans", "--grace-minutes", "0").stdout.strip().endswith("clean")

    assert "requeued 0 photo(s)" in source.tracker("requeue-stuck").stdout
    realigned = source.tracker("realign").stdout
    assert re.search(r"\d+ aligned", realigned) and "baseline" in realigned, realigned
    assert "purged 0 deleted photo(s)" in source.tracker("purge-deleted", "--days", "30").stdout
    verified = json.loads(source.tracker("verify", "--json").stdout)
    assert verified["ok"] is True and verified["photos"] == photos
    assert "all match." in source.tracker("verify").stdout

    backup_dir = source.root / "backup"
    result = source.tracker("backup", str(backup_dir))
    assert f"Backed up {photos} photo record(s)" in result.stdout
    assert "store it encrypted" in result.stdout
    assert (backup_dir / "manifest.json").exists()
    assert oct(backup_dir.stat().st_mode & 0o777) == "0o700"
    refused = source.tracker("backup", str(backup_dir), check=False)
    assert refused.returncode != 0 and "Error:" in refused.stderr

    target = make_deployment("target")
    target.flask("db", "upgrade")
    restored = target.tracker("restore", str(backup_dir))
    assert f"Restored {photos} photo record(s)" in restored.stdout
    assert "Every stored object matches" in restored.stdout
    assert target.scalar("SELECT count(*) FROM photos WHERE status = 'ready'") == photos
    assert target.scalar("SELECT count(*) FROM users") == source.scalar("SELECT count(*) FROM users")
    assert "all match." in target.tracker("verify").stdout
    # A restore into a deployment that is not empty is refused, and changes nothing.
    again = target.tracker("restore", str(backup_dir), check=False)
    assert again.returncode != 0 and "empty" in again.stderr
    assert target.scalar("SELECT count(*) FROM photos") == photos

    # verify finds an altered original, names it, and exits 1.
    key = target.scalar("SELECT storage_id FROM photos ORDER BY id LIMIT 1")
    original = target.uploads / "photos" / str(key) / "original"
    original.write_bytes(original.read_bytes()[:-10] + b"0123456789")
    broken = target.tracker("verify", check=False)
    assert broken.returncode == 1 and "PROBLEM" in broken.stdout and str(key) in broken.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # nosec B310 - our own local server
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_make_run_migrates_loads_the_demo_and_serves(make_deployment):
    """`make run` as README says, on an empty database: it migrates, loads the demo and serves on 127.0.0.1:PORT."""
    deployment = make_deployment("run")
    port = _free_port()
    venv = Path(sys.executable).parent.parent
    process = subprocess.Popen(["make", "-s", "-C", str(PROJECT_ROOT), "run", f"VENV={venv}", f"PORT={port}"],
                               env=deployment.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)  # nosec B603 B607
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 150
        status = 0
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status, _ = _get(f"{base}/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert status == 200, f"make run did not serve /healthz in time:\n{_stop(process)}"
        status, body = _get(f"{base}/api/v1/clinics/demo/gallery")
        assert status == 200 and len(json.loads(body)["items"]) == 1
        status, body = _get(f"{base}/api/v1/tokens", json.dumps(
            {"email": "practitioner@example.com", "password": "demo-practitioner-pass"}).encode(),
            {"Content-Type": "application/json"})
        assert status == 201, body
        token = json.loads(body)["token"]
        status, body = _get(f"{base}/api/v1/patients", headers={"Authorization": f"Bearer {token}"})
        assert status == 200 and {p["full_name"] for p in json.loads(body)} >= {"Alex Morgan", "Sam Rivera"}
    finally:
        _stop(process)
    if not PG_URL:
        database = deployment.root / "tracker.db"
        with sqlite3.connect(database) as conn:
            assert conn.execute("SELECT count(*) FROM clinics").fetchone()[0] == 2


def _stop(process: subprocess.Popen[str]) -> str:
    """Stop `make run` and everything it started (the dev server is its grandchild); return the end of its output."""
    if process.returncode is None:
        os.killpg(process.pid, signal.SIGTERM)
    out, _ = process.communicate(timeout=20)
    return out[-4000:]


BENCH_KEYS = {"normalize_ratio", "normalize_ratio_heic", "align_median_px", "align_false_accept", "metrics_ms",
              "timeline_queries_500", "crash_lost_confirmed_photos", "crash_invariant_violations"}


def test_make_bench_runs_and_prints_figures(make_deployment):
    """`make bench` as README says, in its quick mode (same code, fewer repeats): every line is a figure or a
    comment, the headline figures are there, and the crash campaign loses nothing."""
    deployment = make_deployment("bench")
    venv = Path(sys.executable).parent.parent
    result = subprocess.run(["make", "-s", "-C", str(PROJECT_ROOT), "bench", f"VENV={venv}"],
                            env={**deployment.env, "TRACKER_BENCH_QUICK": "1"}, capture_output=True, text=True,
                            timeout=600, check=False)  # nosec B603 B607
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures = {}
    for line in result.stdout.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        match = re.fullmatch(r"([a-z0-9_]+)=(-?[0-9.]+(?:e[+-]?[0-9]+)?)", line)
        assert match, f"not a name=value line: {line!r}"
        figures[match.group(1)] = float(match.group(2))
    assert BENCH_KEYS <= set(figures), sorted(BENCH_KEYS - set(figures))
    assert figures["crash_lost_confirmed_photos"] == 0 and figures["crash_invariant_violations"] == 0
    assert figures["timeline_queries_500"] == figures["timeline_queries_5"]
