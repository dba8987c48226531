"""Crash testing with real processes: run the app in a child that is SIGKILLed in the middle of uploads.

"A photo once accepted is never lost" is checked here the hard way. A real server process (werkzeug, the real
app, a real database and the local storage) receives real HTTP uploads and is killed with SIGKILL at a random
moment: before the request arrives, while the body is read, before or after the original's fsync and rename,
before or after the commit, while derivatives are made or the photo is aligned, while the response is sent, or
when idle. Kills of a quarter of the rounds are timed from the moment the server creates the photo's folder, to
land around the fsync, the rename and the commit. Nothing in the app is patched. Afterwards, and after the
operator's ``flask tracker purge-orphans --grace-minutes 0`` and ``flask tracker requeue-stuck
--older-than-minutes 0``:

1. every live photo row has its original, whose SHA-256 equals the row's;
2. every photo is ready, and its display and thumb match ``display_sha256``/``thumb_sha256`` (a row committed
   but killed before its derivatives stays ``processing``: the scan reports it, and requeue-stuck must finish it);
3. no stored object lacks a row and no interrupted temp file is left;
4. every upload the client saw answered 201 has its row (the client saw success => it was committed).

Beyond those four, the check reports (apart) aligned images that do not match their rows and rows not aligned
to their group's current baseline: a crash in the middle of a group realign leaves both (see
:func:`run_realign_crash`).

The file is both a script, whose modes run in child processes, and the harness that drives them
(:func:`run_campaign` and :func:`run_realign_crash`, used by ``tests/services/test_crash.py`` and
``bench/bench_crash.py``):

``python tests/crash_server.py setup``   create the tables, a world (care consent granted), a long-lived API token
                                        and a baseline photo; print them as JSON.
``python tests/crash_server.py serve``   start the app on 127.0.0.1:<free port>, print the port, serve forever.
``python tests/crash_server.py zygote``  load the app once, then fork one server per ``spawn`` line read on stdin
                                        (as ``gunicorn --preload`` does): each child is a real process that is
                                        killed for real, without paying the ~2 s of imports each time.
                                        Protocol: ``spawn`` -> ``PID PORT``; ``reap PID`` -> wait status;
                                        ``scan PATH`` / ``check PATH`` -> the JSON of those modes; ``quit``.
``python tests/crash_server.py scan ATTEMPTS.json``   read-only, before the sweep: where did each killed upload
                                        stop (nothing stored, orphaned original, committed but unprocessed, ...)?
``python tests/crash_server.py check ATTEMPTS.json``  after the sweeps: check the invariants above (a photo
                                        still processing is finished, and flagged); print a JSON report.

Settings come from the environment (``DATABASE_URL``, ``TRACKER_UPLOAD_DIR``, ``TRACKER_INSTANCE_DIR``; see
:func:`child_env`), so ``flask --app tracker tracker purge-orphans`` run with the same environment sees the same
database and storage.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
BASELINE_SEED = 1  # the striae follow-ups are new shots of the baseline's anatomy, so alignment really runs
IMAGE_SIZE = (320, 240)
TAKEN_ON = "2026-02-01"  # later than the baseline's: only "rebaseline" rounds send older photos
REQUEST_TIMEOUT = 60.0
REALIGN_SECONDS_PER_PHOTO = 0.05  # a rough bound: rebaseline kills land up to this long per photo into a realign
WRITE_WINDOW = 0.012  # "at_write" kills land up to this long after the photo's folder appears


# --- the child side ------------------------------------------------------------------------------------------

def child_env(database_url: str, upload_dir: Path, instance_dir: Path) -> dict[str, str]:
    """The environment of every child (server, sweep, checks): one database, one storage root."""
    env = dict(os.environ)
    env.pop("TEST_DATABASE_URL", None)
    env.update({
        "TRACKER_ENV": "testing",
        "DATABASE_URL": database_url,
        "TRACKER_UPLOAD_DIR": str(upload_dir),
        "TRACKER_INSTANCE_DIR": str(instance_dir),
        "TRACKER_STORAGE": "local",
        "REDIS_URL": "",  # inline processing: the server process itself makes the derivatives
        "TRACKER_MAIL_BACKEND": "memory",
        "TRACKER_PASSWORD_HASH": "argon2id-fast",
        "TRACKER_UPLOAD_LIMIT": "100000 per minute",
        "TRACKER_LOGIN_LIMIT": "100000 per minute",
        "TRACKER_ACCOUNT_LIMIT": "100000 per minute",
        "TRACKER_RATELIMIT_STORAGE_URI": "memory://",
        "TRACKER_API_TOKEN_HOURS": "48",
        "FLASK_APP": "tracker",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _make_app() -> Any:
    sys.path.insert(0, str(ROOT))
    from tracker import create_app

    return create_app({"WTF_CSRF_ENABLED": False})


def _setup() -> dict[str, Any]:
    app = _make_app()  # first: importing tracker.photos before the app is built is a circular import
    from datetime import date

    from tests.factories import PASSWORD, build_world, striae
    from tracker.auth.services import issue_api_token
    from tracker.extensions import db
    from tracker.models import TreatmentArea, User
    from tracker.photos.services import upload_photo

    with app.app_context():
        db.create_all()
        world = build_world()
        token, _expires = issue_api_token(world["prac_x"].email, PASSWORD)
        area = db.session.get(TreatmentArea, world["a"].area_id)
        uploader = db.session.get(User, world["prac_x"].user_id)
        with app.test_request_context():
            baseline = upload_photo(uploader, area, striae(BASELINE_SEED, 0.9, size=IMAGE_SIZE),
                                    taken_on=date(2026, 1, 1)).photo
        info = {"token": token, "area_id": area.id, "baseline_id": baseline.id,
                "baseline_status": baseline.status.value}
        db.session.remove()
        db.engine.dispose()
    return info


def _serve_on(app: Any, sock: socket.socket | None) -> None:
    from werkzeug.serving import make_server

    if sock is None:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        print(server.server_port, flush=True)
    else:
        server = make_server("127.0.0.1", sock.getsockname()[1], app, threaded=True, fd=sock.fileno())
        sock.close()  # the server holds its own duplicate
    server.serve_forever()


def _serve() -> None:
    _serve_on(_make_app(), None)


def _zygote() -> None:
    """Load once; fork a server per ``spawn``; ``reap PID`` waits for a (killed) child and answers its status."""
    app = _make_app()
    # Warm what the first upload would import lazily; run nothing (no thread pools before fork, no connection).
    import PIL.Image

    import tracker.imaging  # noqa: F401
    import tracker.photos.alignment  # noqa: F401
    import tracker.photos.services  # noqa: F401
    from tracker.extensions import db

    PIL.Image.init()
    with app.app_context():
        db.engine.dispose()
    out = sys.stdout
    print("ready", file=out, flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "spawn":
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sock.listen(128)
            port = sock.getsockname()[1]
            pid = os.fork()
            if pid == 0:  # the server: stdin and stdout belong to the zygote's protocol
                try:
                    null = os.open(os.devnull, os.O_RDWR)
                    os.dup2(null, 0)
                    os.dup2(2, 1)
                    with app.app_context():
                        db.engine.dispose(close=False)
                    _serve_on(app, sock)
                except BaseException:
                    traceback.print_exc()
                finally:
                    os._exit(70)  # never back into the zygote's loop; the harness reports the exit status
            sock.close()  # only the child listens: once it is killed, connections are refused
            print(f"{pid} {port}", file=out, flush=True)
        elif words[0] == "reap":
            _pid, status = os.waitpid(int(words[1]), 0)
            print(status, file=out, flush=True)
        elif words[0] in ("scan", "check"):  # once every server is gone: saves starting another interpreter
            report = (_scan if words[0] == "scan" else _check)(Path(words[1]), app)
            print(json.dumps(report), file=out, flush=True)
        elif words[0] == "quit":
            break


def _scan(attempts_path: Path, app: Any = None) -> dict[str, Any]:
    """Read-only, before the sweep: the state each upload was left in, found by the SHA-256 of its bytes."""
    app = app or _make_app()
    import sqlalchemy as sa

    from tracker.extensions import db
    from tracker.models import Photo
    from tracker.storage_setup import storage
    from tracker.storage.local import LocalStorage

    attempts = json.loads(attempts_path.read_text())
    with app.app_context():
        rows = db.session.execute(sa.select(Photo.storage_id, Photo.sha256, Photo.status, Photo.alignment,
                                            Photo.deleted_at)).all()
        by_sid = {r.storage_id: r for r in rows}
        rows_by_sha: dict[str, list[Any]] = {}
        for r in rows:
            if r.deleted_at is None:
                rows_by_sha.setdefault(r.sha256, []).append(r)
        store = storage()
        orphan_originals: dict[str, int] = {}
        orphan_other: list[str] = []
        for entry in store.entries("photos/"):
            sid = entry.key.split("/")[1]
            if sid in by_sid:
                continue
            if entry.key.endswith("/original"):
                sha = hashlib.sha256(store.get(entry.key)).hexdigest()
                orphan_originals[sha] = orphan_originals.get(sha, 0) + 1
            else:
                orphan_other.append(entry.key)
        temp_paths = [p for p, _ in store.temp_entries()] if isinstance(store, LocalStorage) else []
        temp_files = [str(p.relative_to(store.root)) for p in temp_paths]
        temp_shas = {hashlib.sha256(p.read_bytes()).hexdigest() for p in temp_paths}
        temp_in_orphan_dirs = sum(1 for t in temp_files if t.split("/")[1] not in by_sid)
        states: dict[str, str] = {}
        for sha in {a["sha256"] for a in attempts}:
            live = rows_by_sha.get(sha, [])
            if len(live) > 1:
                states[sha] = "duplicate_rows"
            elif live:
                row = live[0]
                if row.status.value == "processing":
                    states[sha] = "committed_unprocessed"
                elif row.status.value == "ready" and row.alignment.value == "pending":
                    states[sha] = "ready_unaligned"
                else:
                    states[sha] = f"{row.status.value}"
            elif sha in orphan_originals:
                states[sha] = "stored_not_committed"
            elif sha in temp_shas:
                states[sha] = "written_not_renamed"  # the whole original in a temp file (fsynced or not)
            else:
                states[sha] = "nothing_stored"
        db.session.remove()
        db.engine.dispose()
    return {"states": states, "orphan_originals": sum(orphan_originals.values()),
            "orphan_non_originals": orphan_other, "temp_files": len(temp_files),
            "temp_files_in_orphan_dirs": temp_in_orphan_dirs, "rows": len(rows)}


def _check(attempts_path: Path, app: Any = None) -> dict[str, Any]:
    """After the sweeps: check every invariant (finishing, and flagging, photos still processing)."""
    app = app or _make_app()
    import sqlalchemy as sa

    from tracker.extensions import db
    from tracker.models import AlignmentStatus, Photo, PhotoStatus
    from tracker.photos.alignment import baseline_for
    from tracker.photos.maintenance import purge_orphans
    from tracker.photos.services import process_photo
    from tracker.storage import ObjectMissing
    from tracker.storage_setup import storage
    from tracker.storage.local import LocalStorage

    attempts = json.loads(attempts_path.read_text())
    violations: list[str] = []
    aligned_mismatches: list[str] = []
    with app.app_context():
        store = storage()

        def sha_of(key: str) -> str | None:
            try:
                return hashlib.sha256(store.get(key)).hexdigest()
            except ObjectMissing:
                return None

        live = sa.select(Photo).where(Photo.deleted_at.is_(None)).order_by(Photo.id)
        # (1) before anything else touches them: every live row's original is there, byte for byte.
        for photo in db.session.scalars(live):
            got = sha_of(photo.key("original"))
            if got != photo.sha256:
                violations.append(f"photo {photo.id} ({photo.status.value}): original "
                                  f"{'missing' if got is None else 'sha256 mismatch'}")
        # (2) a row committed but killed before its derivatives stays processing until requeue-stuck (run by the
        # harness after purge-orphans) processes it again; anything still processing is finished here, and said.
        stuck = [p.id for p in db.session.scalars(live.where(Photo.status == PhotoStatus.PROCESSING))]
        unaligned = [p.id for p in db.session.scalars(live.where(Photo.status == PhotoStatus.READY,
                                                                 Photo.alignment == AlignmentStatus.PENDING))]
        reprocessed: dict[int, str] = {}
        for photo_id in stuck:  # requeue-stuck ran before this: none should be left
            reprocessed[photo_id] = process_photo(photo_id)
            violations.append(f"photo {photo_id}: still processing after requeue-stuck; process_photo gave "
                              f"{reprocessed[photo_id]!r}")
        db.session.expire_all()
        photos = list(db.session.scalars(live))
        statuses = Counter(p.status.value for p in photos)
        for photo in photos:
            if photo.status is PhotoStatus.FAILED:
                violations.append(f"photo {photo.id}: failed: {photo.failure_reason}")
            if photo.status is not PhotoStatus.READY:
                continue
            for variant, expected in (("display", photo.display_sha256), ("thumb", photo.thumb_sha256)):
                got = sha_of(photo.key(variant))
                if got is None or got != expected:
                    violations.append(f"photo {photo.id}: {variant} "
                                      f"{'missing' if got is None else 'sha256 mismatch'}")
            if photo.alignment is AlignmentStatus.ALIGNED:
                for variant, expected in (("aligned", photo.aligned_sha256), ("adjusted", photo.adjusted_sha256)):
                    got = sha_of(photo.key(variant))
                    if got != expected:
                        aligned_mismatches.append(f"photo {photo.id}: {variant} "
                                                  f"{'missing' if got is None else 'does not match its sha256'}")
        # Outside the four invariants, reported apart: is each row aligned to its group's current baseline?
        out_of_date: list[str] = []
        for area_id, view_key in {(p.area_id, p.view_key) for p in photos if p.status is PhotoStatus.READY}:
            baseline = baseline_for(area_id, view_key)
            for photo in photos:
                if (photo.area_id, photo.view_key) != (area_id, view_key) or not photo.is_ready \
                        or photo.alignment is AlignmentStatus.PENDING:
                    continue
                if baseline is not None and photo.id == baseline.id:
                    if photo.alignment is not AlignmentStatus.BASELINE:
                        out_of_date.append(f"photo {photo.id} is the baseline but says {photo.alignment.value}"
                                           f" (to photo {photo.aligned_to_id})")
                elif baseline is None or photo.aligned_to_id != baseline.id:
                    out_of_date.append(f"photo {photo.id} says {photo.alignment.value} (to photo "
                                       f"{photo.aligned_to_id}); the baseline is photo "
                                       f"{baseline.id if baseline else None}")
        # (3) after the sweep: no object without a row, no temp file.
        sids = {sid for (sid,) in db.session.execute(sa.select(Photo.storage_id))}
        keys = [e.key for e in store.entries("photos/")]
        for key in keys:
            if key.split("/")[1] not in sids:
                violations.append(f"object without a row: {key}")
        temps = [str(p.relative_to(store.root)) for p, _ in store.temp_entries()] \
            if isinstance(store, LocalStorage) else []
        violations.extend(f"temp file left: {t}" for t in temps)
        # (4) the client saw 201 or 200 => the row is there, with the bytes the client sent; and no photo twice.
        lost: list[str] = []
        by_id = {p.id: p for p in photos}
        for attempt in attempts:
            if attempt["outcome"] in ("confirmed", "replayed"):
                photo = by_id.get(attempt["photo_id"])
                if photo is None or photo.sha256 != attempt["sha256"]:
                    code = 201 if attempt["outcome"] == "confirmed" else 200
                    lost.append(f"upload {attempt['label']} was answered {code} (photo {attempt['photo_id']}) "
                                f"but {'no live row has that id' if photo is None else 'the row has other bytes'}")
            if attempt["outcome"] == "duplicate" and attempt["photo_id"] not in by_id:
                lost.append(f"upload {attempt['label']} was answered 409 (photo {attempt['photo_id']}) "
                            "but that photo is gone")
        shas = Counter(p.sha256 for p in photos)
        violations.extend(f"{n} live rows with sha256 {sha[:12]}" for sha, n in shas.items() if n > 1)
        attempted = {a["sha256"] for a in attempts}
        final = purge_orphans(grace=__import__("datetime").timedelta(0), dry_run=True)
        if not final.clean:
            violations.append(f"a second sweep is not clean: {final}")
        report = {
            "rows": len(photos), "statuses": dict(statuses), "objects": len(keys),
            "stuck_processing": stuck, "reprocessed": reprocessed, "ready_unaligned": unaligned,
            "uploaded_rows": sum(1 for p in photos if p.sha256 in attempted),
            "violations": violations, "lost_confirmed": lost,
            "aligned_mismatches": aligned_mismatches, "alignment_out_of_date": sorted(out_of_date),
        }
        db.session.remove()
        db.engine.dispose()
    return report


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else ""
    if mode == "setup":
        print(json.dumps(_setup()), flush=True)
    elif mode == "serve":
        _serve()
    elif mode == "zygote":
        _zygote()
    elif mode == "scan":
        print(json.dumps(_scan(Path(argv[2]))), flush=True)
    elif mode == "check":
        print(json.dumps(_check(Path(argv[2]))), flush=True)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


# --- the harness ---------------------------------------------------------------------------------------------

@dataclass
class Attempt:
    label: str
    iteration: int
    sha256: str
    kind: str          # "flat" (tiny uniform JPEG) or "striae" (a synthetic skin shot that gets aligned)
    size: int
    mode: str          # "random" (killed after a random delay), "at_write", "early", "idle", "rebaseline", ...
    retry_of: str | None = None
    taken_on: str = TAKEN_ON
    key: str = ""      # the Idempotency-Key: the first attempt's label (the default), kept by every retry of it
    outcome: str = ""  # confirmed (201), replayed (200: a retry of one saved), duplicate (409), killed (connection
    #                    died), refused, http_<n>, timeout
    photo_id: int | None = None
    seconds: float = 0.0
    detail: str = ""

    def __post_init__(self) -> None:
        self.key = self.key or self.label


@dataclass
class CampaignResult:
    iterations: int
    attempts: list[Attempt]
    kill_delays: list[float]
    request_seconds: float
    scan: dict[str, Any]
    purge_output: str
    requeue_output: str
    check: dict[str, Any]
    seconds: float
    child_anomalies: list[str] = field(default_factory=list)

    def count(self, outcome: str, *, calibration: bool = False) -> int:
        return sum(1 for a in self.attempts if a.outcome == outcome and (calibration or a.mode != "calibrate"))

    @property
    def outcomes(self) -> Counter[str]:
        return Counter(a.outcome for a in self.attempts if a.mode != "calibrate")

    @property
    def orphans_removed(self) -> int:
        match = re.search(r"objects without rows: (\d+)", self.purge_output)
        return int(match.group(1)) if match else -1

    @property
    def temp_files_removed(self) -> int:
        match = re.search(r"interrupted temp files: (\d+)", self.purge_output)
        return int(match.group(1)) if match else -1

    @property
    def requeued(self) -> int:
        match = re.search(r"requeued (\d+)", self.requeue_output)
        return int(match.group(1)) if match else -1

    @property
    def lost_confirmed(self) -> list[str]:
        return list(self.check.get("lost_confirmed", []))

    @property
    def violations(self) -> list[str]:
        return list(self.check.get("violations", [])) + self.child_anomalies

    def kill_phases(self) -> Counter[str]:
        """Where the uploads that were cut off had got to (attempts whose bytes were never sent again)."""
        later = {a.retry_of for a in self.attempts if a.retry_of}
        states = self.scan.get("states", {})
        return Counter(states.get(a.sha256, "?") for a in self.attempts
                       if a.outcome in ("killed", "refused", "timeout") and a.label not in later)

    def summary(self) -> dict[str, Any]:
        return {"outcomes": dict(self.outcomes), "kill_phases": dict(self.kill_phases()),
                "scan": {k: v for k, v in self.scan.items() if k != "states"}, "purge": self.purge_output,
                "requeue": self.requeue_output,
                "check": self.check, "anomalies": self.child_anomalies, "request_seconds": self.request_seconds}


class _ServerFactory:
    """Servers to kill: forked from a preloaded zygote (fast), or fresh ``serve`` processes."""

    def __init__(self, env: dict[str, str], log: Any, fork: bool) -> None:
        self.env, self.log, self.fork = env, log, fork
        self.zygote: subprocess.Popen[str] | None = None
        self.fresh: dict[int, subprocess.Popen[str]] = {}
        if fork:
            self.zygote = subprocess.Popen([sys.executable, str(SCRIPT), "zygote"], cwd=ROOT, env=env, text=True,
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
            line = self._read()
            if line != "ready":
                raise RuntimeError(f"the zygote did not start: {line!r} (see the server log)")

    def _read(self) -> str:
        assert self.zygote is not None and self.zygote.stdout is not None
        line = self.zygote.stdout.readline()
        if not line:
            raise RuntimeError("the zygote died (see the server log)")
        return line.strip()

    def _send(self, line: str) -> str:
        assert self.zygote is not None and self.zygote.stdin is not None
        self.zygote.stdin.write(line + "\n")
        self.zygote.stdin.flush()
        return self._read()

    def spawn(self) -> tuple[int, int]:
        if self.zygote is not None:
            pid, port = self._send("spawn").split()
            return int(pid), int(port)
        proc = subprocess.Popen([sys.executable, str(SCRIPT), "serve"], cwd=ROOT, env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=self.log)
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        self.fresh[proc.pid] = proc
        return proc.pid, port

    def report(self, mode: str, attempts_path: Path) -> dict[str, Any]:
        """``scan`` or ``check``, in the zygote when there is one (no server is left by then)."""
        if self.zygote is not None:
            return json.loads(self._send(f"{mode} {attempts_path}"))  # type: ignore[no-any-return]
        return _run_json([mode, str(attempts_path)], self.env, self.log)

    def reap(self, pid: int) -> int:
        """Wait for the killed server; the raw wait status."""
        if self.zygote is not None:
            return int(self._send(f"reap {pid}"))
        proc = self.fresh.pop(pid)
        code = proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()
        return -code if code < 0 else code << 8  # back to a wait status, as the zygote reports it

    def close(self) -> None:
        for pid, proc in list(self.fresh.items()):
            proc.kill()
            self.reap(pid)
        if self.zygote is not None:
            assert self.zygote.stdin is not None and self.zygote.stdout is not None
            try:
                self.zygote.stdin.write("quit\n")
                self.zygote.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self.zygote.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.zygote.kill()
                self.zygote.wait()
            self.zygote.stdout.close()
            self.zygote = None


def _folder_state(path: Path) -> tuple[int, int]:
    """Changes when a folder is created in ``path`` (ext4 counts subfolders in st_nlink)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return (0, 0)
    return info.st_mtime_ns, info.st_nlink


def _multipart(data: bytes, fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    chunks = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
              for name, value in fields.items()]
    chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.jpg"\r\n'
                  "Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def _post(port: int, token: str, area_id: int, data: bytes, attempt: Attempt) -> None:
    """One upload over a real socket; the outcome is written into ``attempt`` (never raises)."""
    body, content_type = _multipart(data, {"taken_on": attempt.taken_on})
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request("POST", f"/api/v1/areas/{area_id}/photos", body=body,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": content_type,
                              "Accept": "application/json", "Idempotency-Key": attempt.key})
        response = conn.getresponse()
        raw = response.read()
        status = response.status
    except ConnectionRefusedError:
        attempt.outcome = "refused"
    except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected,
            http.client.IncompleteRead) as exc:
        attempt.outcome, attempt.detail = "killed", type(exc).__name__
    except TimeoutError:
        attempt.outcome = "timeout"
    except Exception as exc:  # noqa: BLE001 - any other transport error is a cut-off too, but say which
        attempt.outcome, attempt.detail = "killed", f"{type(exc).__name__}: {exc}"
    else:
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = {}
        if status == 201:
            attempt.outcome, attempt.photo_id = "confirmed", payload.get("id")
        elif status == 200:
            attempt.outcome, attempt.photo_id = "replayed", payload.get("id")
        elif status == 409:
            attempt.outcome, attempt.photo_id = "duplicate", payload.get("error", {}).get("photo_id")
        else:
            attempt.outcome, attempt.detail = f"http_{status}", raw[:300].decode("utf-8", "replace")
    finally:
        conn.close()
        attempt.seconds = time.perf_counter() - started


class _Payloads:
    """Unique photos (every one a different SHA-256), half tiny flat JPEGs, half skin shots that get aligned."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()
        self.serial = 0

    def make(self, kind: str | None = None) -> tuple[bytes, str]:
        from tests.factories import small_jpeg, striae

        rng = self.rng
        while True:
            self.serial += 1
            if (kind or ("flat" if rng.random() < 0.5 else "striae")) == "flat":
                data = small_jpeg(self.serial, (rng.randint(48, 240), rng.randint(36, 180)))
                kind = "flat"
            else:
                pose = (rng.uniform(-4, 4), rng.uniform(0.95, 1.05), rng.uniform(-8, 8), rng.uniform(-8, 8))
                data = striae(BASELINE_SEED, rng.uniform(0.2, 0.9), pose=pose, size=IMAGE_SIZE)
                kind = "striae"
            sha = hashlib.sha256(data).hexdigest()
            if sha not in self.seen:
                self.seen.add(sha)
                return data, kind


def _flask(command: list[str], env: dict[str, str], log: Any) -> str:
    """An operator's command, as run in production: ``flask --app tracker tracker ...``; its output."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "tracker", "tracker", *command], cwd=ROOT,
                          env=env, stdout=subprocess.PIPE, stderr=log, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"flask tracker {command[0]} failed ({done.returncode}); see the server log")
    return done.stdout


def _run_json(args: list[str], env: dict[str, str], log: Any, timeout: float = 600) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=log, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"crash_server {args[0]} failed ({done.returncode}); see the server log")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_campaign(workdir: Path, iterations: int, *, database_url: str | None = None, seed: int = 20260201,
                 fork: bool = True, rebaseline_every: int = 50,
                 say: Callable[[str], None] = lambda _line: None) -> CampaignResult:
    """Kill a real server ``iterations`` times in the middle of uploads, sweep, and check the invariants.

    Every ``rebaseline_every`` rounds (0: never) one round uploads an older photo, which becomes the baseline
    and makes the upload realign the whole group; that round's kill is timed to land in the realign.

    ``database_url`` defaults to a SQLite file in ``workdir``; for PostgreSQL pass a URL whose tables do not
    exist yet (a fresh schema: see :func:`dedicated_pg_schema`). The server log is ``workdir/server.log``.
    """
    started = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    photos_dir = workdir / "uploads" / "photos"
    env = child_env(database_url or f"sqlite:///{workdir / 'crash.db'}", workdir / "uploads", workdir / "instance")
    rng = random.Random(seed)
    payloads = _Payloads(rng)
    attempts: list[Attempt] = []
    delays: list[float] = []
    anomalies: list[str] = []
    with open(workdir / "server.log", "a") as log:
        world = _run_json(["setup"], env, log)
        token, area_id = world["token"], world["area_id"]
        say(f"# setup: area {area_id}, baseline photo {world['baseline_id']} ({world['baseline_status']})")
        servers = _ServerFactory(env, log, fork)
        try:
            def round_(iteration: int, mode: str, jobs: list[tuple[bytes, Attempt]], delay: float | None) -> None:
                pid, port = servers.spawn()
                try:
                    threads = [threading.Thread(target=_post, args=(port, token, area_id, data, attempt),
                                                daemon=True) for data, attempt in jobs]
                    if mode == "early":  # killed before the request can be served (often before it is sent)
                        os.kill(pid, signal.SIGKILL)
                    t0 = time.perf_counter()
                    for thread in threads:
                        thread.start()
                    if mode == "at_write":
                        # Wait (polling, nothing patched) until the server creates the photo's folder, just
                        # before it writes the original; the kill then lands around fsync, rename and commit.
                        before = _folder_state(photos_dir)
                        while _folder_state(photos_dir) == before and any(t.is_alive() for t in threads) \
                                and time.perf_counter() - t0 < REQUEST_TIMEOUT:
                            time.sleep(0.0002)
                        assert delay is not None
                        delay += time.perf_counter() - t0
                    if delay is not None:
                        time.sleep(max(0.0, delay - (time.perf_counter() - t0)))
                        os.kill(pid, signal.SIGKILL)
                        delays.append(delay)
                    for thread in threads:
                        thread.join(REQUEST_TIMEOUT + 5)
                finally:
                    os.kill(pid, signal.SIGKILL)  # "idle" and "calibrate" rounds: now; others: again, harmlessly
                    status = servers.reap(pid)
                if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
                    anomalies.append(f"iteration {iteration}: server {pid} ended with wait status {status} "
                                     "before it was killed")

            # Calibrate: how long does an upload to a fresh server take? Kills then land across that window.
            # The first aligned upload also caches the baseline's features, so it is left out of the window.
            timings = []
            for index, kind in enumerate(("striae", "flat", "striae", "flat")):
                data, kind = payloads.make(kind)
                attempt = Attempt(f"c{index}", -1, hashlib.sha256(data).hexdigest(), kind, len(data), "calibrate")
                attempts.append(attempt)
                round_(-1, "calibrate", [(data, attempt)], None)
                if attempt.outcome != "confirmed":
                    raise RuntimeError(f"calibration upload failed: {attempt.outcome} {attempt.detail}")
                timings.append(attempt.seconds)
            window = max(timings[1:])
            say(f"# calibration: uploads to fresh servers took {', '.join(f'{t * 1000:.0f}' for t in timings)} ms; "
                f"kills land 0-{1.25 * window * 1000:.0f} ms after an upload starts")

            unconfirmed: list[tuple[bytes, Attempt]] = []
            rebaselines = 0
            for iteration in range(iterations):
                roll = rng.random()
                mode = "early" if roll < 0.08 else "idle" if roll < 0.16 else "at_write" if roll < 0.4 else "random"
                jobs = []
                if rebaseline_every and iteration % rebaseline_every == rebaseline_every // 2:
                    # An older photo arrives (a clinic back-filling its records): it becomes the baseline, and
                    # the upload realigns the whole group. The kill lands during that realign, most often.
                    mode, rebaselines = "rebaseline", rebaselines + 1
                    data, kind = payloads.make("striae")
                    jobs.append((data, Attempt(f"{iteration}.0", iteration, hashlib.sha256(data).hexdigest(), kind,
                                               len(data), mode, taken_on=f"2025-12-{29 - rebaselines:02d}")))
                for slot in range(0 if jobs else 2 if rng.random() < 0.25 else 1):
                    if unconfirmed and rng.random() < 0.3:  # the client retries a cut-off upload
                        data, first = unconfirmed.pop(rng.randrange(len(unconfirmed)))
                        kind, retry_of, taken_on, key = first.kind, first.label, first.taken_on, first.key
                    else:
                        (data, kind), retry_of, taken_on, key = payloads.make(), None, TAKEN_ON, ""
                    jobs.append((data, Attempt(f"{iteration}.{slot}", iteration, hashlib.sha256(data).hexdigest(),
                                               kind, len(data), mode, retry_of, taken_on, key)))
                delay = rng.uniform(0, 1.25 * window) if mode == "random" else \
                    rng.uniform(0, WRITE_WINDOW) if mode == "at_write" else \
                    window + rng.uniform(0, REALIGN_SECONDS_PER_PHOTO * len(attempts)) if mode == "rebaseline" \
                    else None
                round_(iteration, mode, jobs, delay)
                for data, attempt in jobs:
                    attempts.append(attempt)
                    if attempt.outcome not in ("confirmed", "replayed", "duplicate"):
                        unconfirmed.append((data, attempt))
                if (iteration + 1) % 50 == 0:
                    say(f"# {iteration + 1} iterations: {dict(Counter(a.outcome for a in attempts))}")
            attempts_path = workdir / "attempts.json"
            attempts_path.write_text(json.dumps([asdict(a) for a in attempts]))
            scan = servers.report("scan", attempts_path)
            sweep = _flask(["purge-orphans", "--grace-minutes", "0"], env, log)
            requeue = _flask(["requeue-stuck", "--older-than-minutes", "0"], env, log)
            check = servers.report("check", attempts_path)
        finally:
            servers.close()
    return CampaignResult(iterations, attempts, delays, window, scan, sweep, requeue, check,
                          time.perf_counter() - started, anomalies)


def run_realign_crash(workdir: Path, *, database_url: str | None = None, followups: int = 6) -> dict[str, Any]:
    """SIGKILL a server in the middle of a group realign, at a moment found by watching, not guessed.

    ``followups`` aligned photos are uploaded, then an older photo, which becomes the baseline: the upload
    realigns the group, rewriting each follow-up's ``aligned.jpg`` in place. The server is killed as soon as the
    first of those files changes (the realign commits only at the end). Then both sweeps run; the result is the
    ``check`` report, with ``upload`` (the older photo's outcome) and ``seconds``.
    """
    from tests.factories import striae

    started = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    env = child_env(database_url or f"sqlite:///{workdir / 'crash.db'}", workdir / "uploads", workdir / "instance")
    attempts: list[Attempt] = []
    with open(workdir / "server.log", "a") as log:
        world = _run_json(["setup"], env, log)
        servers = _ServerFactory(env, log, True)
        try:
            def send(port: int, data: bytes, label: str, taken_on: str) -> Attempt:
                attempt = Attempt(label, 0, hashlib.sha256(data).hexdigest(), "striae", len(data), "realign",
                                  taken_on=taken_on)
                _post(port, world["token"], world["area_id"], data, attempt)
                attempts.append(attempt)
                return attempt

            pid, port = servers.spawn()
            try:
                for index in range(followups):
                    data = striae(BASELINE_SEED, 0.3 + 0.5 * index / followups, pose=(index, 1, 3, -2),
                                  size=IMAGE_SIZE)
                    if send(port, data, f"f{index}", TAKEN_ON).outcome != "confirmed":
                        raise RuntimeError(f"follow-up {index} was not accepted: {attempts[-1]}")
            finally:
                os.kill(pid, signal.SIGKILL)
                servers.reap(pid)
            watched = sorted((workdir / "uploads" / "photos").glob("*/aligned.jpg"))
            if len(watched) != followups:
                raise RuntimeError(f"{len(watched)} aligned images for {followups} follow-ups")
            before = [p.stat().st_mtime_ns for p in watched]
            pid, port = servers.spawn()
            older = striae(BASELINE_SEED, 0.95, pose=(2, 1, 0, 0), size=IMAGE_SIZE)
            thread = threading.Thread(target=send, args=(port, older, "older", "2025-12-01"), daemon=True)
            try:
                thread.start()
                while [p.stat().st_mtime_ns for p in watched] == before and thread.is_alive():
                    time.sleep(0.0002)
            finally:
                os.kill(pid, signal.SIGKILL)
                thread.join(REQUEST_TIMEOUT)
                servers.reap(pid)
            attempts_path = workdir / "attempts.json"
            attempts_path.write_text(json.dumps([asdict(a) for a in attempts]))
            _flask(["purge-orphans", "--grace-minutes", "0"], env, log)
            _flask(["requeue-stuck", "--older-than-minutes", "0"], env, log)
            report = servers.report("check", attempts_path)
        finally:
            servers.close()
    report["upload"] = f"{attempts[-1].outcome} {attempts[-1].detail}".strip()
    report["seconds"] = time.perf_counter() - started
    return report


@contextmanager
def dedicated_pg_schema(url: str) -> Iterator[str]:
    """A fresh schema on the PostgreSQL server, dropped afterwards: the URL puts it first on search_path."""
    import sqlalchemy as sa

    from tracker.config import normalize_database_url

    schema = f"crash_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(normalize_database_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in url else "?"
        yield f"{normalize_database_url(url)}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
