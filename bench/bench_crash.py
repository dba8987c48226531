"""Crash benchmark: SIGKILL a real server at random points of real uploads, then check nothing accepted was lost.

Run from the repository root: ``.venv/bin/python bench/bench_crash.py [--iterations 200] [--database-url URL]``.
Stdout is ``name=value`` lines plus ``#`` comments only, so a script can parse it; the exit status is 1 when
an invariant was broken.

Each iteration forks a fresh server process (werkzeug, the real app, inline processing, local storage) from a
preloaded parent, starts one upload (a quarter of the time two at once) of a photo no one sent before over a
real socket, and kills the server with SIGKILL: after a random delay in 0-1.25x the time a whole upload takes
(measured first on fresh servers; 60 %), or 0-12 ms after the server creates the photo's folder, just before
it writes the original ("at_write", 24 %: around the fsync, the rename and the commit), or at once ("early", 8 %),
or only once the answer arrived ("idle", 8 %).
A cut-off upload is sometimes sent again by the next iteration, as a client would retry, with the same
Idempotency-Key (201 when the first never committed, 200 "replayed" when it did; 409 only if the bytes arrived
under another key). Then the operator's ``flask tracker purge-orphans --grace-minutes 0`` and ``flask tracker
requeue-stuck --older-than-minutes 0`` run, and ``tests/crash_server.py check`` checks: every live row's
original has the row's SHA-256; every photo is ready and its display and thumb match their recorded SHA-256; no
stored object lacks a row; no temp file is left; every upload answered 201 has its row with the bytes sent.
See tests/crash_server.py.

Keys: crash_uploads_confirmed counts uploads answered 201; crash_killed_in_flight those whose connection died
with the server; crash_rows the live photo rows at the end (the baseline and four calibration uploads
included); crash_orphans_removed the originals the sweep removed (stored, never committed);
crash_lost_confirmed_photos and crash_invariant_violations must be 0. crash_phase_* say where the cut-off
uploads (never re-sent) had got to: nothing_stored (killed before the whole original was in a temp file),
written_not_renamed (all of it in a temp file), stored_not_committed (original durable, no row),
committed_unprocessed (row committed, no derivatives: "processing" until requeue-stuck), ready_unaligned
(killed while aligning: shown "not aligned yet" until ``flask tracker realign``), ready (killed while answering).
crash_requeued is what requeue-stuck processed; crash_ready_unaligned all ready photos never aligned.

Every 50th round (crash_rebaselines) uploads an older photo instead: it becomes the baseline and its upload
realigns the whole group, and the kill is timed to land in that realign. Outside the four invariants, and not
counted as violations, crash_aligned_mismatches counts aligned/adjusted images whose bytes do not match the
row's aligned_sha256/adjusted_sha256, and crash_alignment_out_of_date rows not aligned to their group's current
baseline: a realign rewrites those images in place and commits once at the end (see tests/services/test_crash.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICK = os.environ.get("TRACKER_BENCH_QUICK") == "1"  # a smoke run (tests): same code, fewer repeats
sys.path.insert(0, str(ROOT))

from tests.crash_server import dedicated_pg_schema, run_campaign  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--iterations", type=int, default=5 if QUICK else 200)
    parser.add_argument("--seed", type=int, default=20260201)
    parser.add_argument("--database-url", default="",
                        help="PostgreSQL server to use (a fresh schema is made and dropped); default: a SQLite file")
    parser.add_argument("--fresh-processes", action="store_true",
                        help="start every server with a new interpreter instead of forking a preloaded one (slow)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the database, storage and logs here")
    parser.add_argument("--verbose", action="store_true", help="a '#' line per upload")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-crash-"))
    schema = dedicated_pg_schema(args.database_url) if args.database_url else nullcontext(None)
    try:
        with schema as database_url:
            result = run_campaign(workdir, args.iterations, database_url=database_url, seed=args.seed,
                                  fork=not args.fresh_processes, say=print)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    check = result.check
    if args.verbose:
        for a in result.attempts:
            print(f"# upload {a.label} ({a.mode}, {a.kind}, {a.size} B{', retry of ' + a.retry_of if a.retry_of else ''}"
                  f"): {a.outcome} {a.detail} after {a.seconds * 1000:.0f} ms, "
                  f"state before the sweep: {result.scan['states'].get(a.sha256)}")
    print(f"# database: {'PostgreSQL' if args.database_url else 'SQLite'}; "
          f"{'fresh processes' if args.fresh_processes else 'servers forked from a preloaded parent'}")
    print(f"# outcomes: {dict(result.outcomes)}")
    print(f"# before the sweep: {result.scan['orphan_originals']} originals without rows, "
          f"{result.scan['temp_files']} temp files ({result.scan['temp_files_in_orphan_dirs']} beside no row)")
    for line in result.purge_output.splitlines():
        if not line.startswith(" "):  # the removed keys themselves are left out
            print(f"# purge-orphans: {line}")
    print(f"# requeue-stuck: {result.requeue_output.strip()}")
    print(f"# after the sweeps: {check['rows']} live rows {check['statuses']}, {check['objects']} objects; "
          f"still processing: {check['stuck_processing']}; ready but never aligned: {check['ready_unaligned']}")
    for line in [*result.lost_confirmed, *result.violations]:
        print(f"# ! {line}")
    alignment = [*check["aligned_mismatches"], *check["alignment_out_of_date"]]
    for line in alignment[:12]:
        print(f"# alignment: {line}")
    if len(alignment) > 12:
        print(f"# alignment: ... {len(alignment) - 12} more")
    retries = [a for a in result.attempts if a.retry_of]
    print(f"crash_iterations={result.iterations}")
    print(f"crash_uploads={sum(1 for a in result.attempts if a.mode != 'calibrate')}")
    print(f"crash_uploads_confirmed={result.count('confirmed')}")
    print(f"crash_killed_in_flight={result.count('killed') + result.count('timeout')}")
    print(f"crash_refused={result.count('refused')}")
    print(f"crash_retries={len(retries)}")
    print(f"crash_retries_replayed={sum(1 for a in retries if a.outcome == 'replayed')}")
    print(f"crash_retries_duplicate={sum(1 for a in retries if a.outcome == 'duplicate')}")
    print(f"crash_other_answers={sum(n for k, n in result.outcomes.items() if k.startswith('http_'))}")
    for phase, count in sorted(result.kill_phases().items()):
        print(f"crash_phase_{phase}={count}")
    print(f"crash_rows={check['rows']}")
    print(f"crash_orphans_removed={result.orphans_removed}")
    print(f"crash_temp_files_removed={result.temp_files_removed}")
    print(f"crash_requeued={result.requeued}")
    print(f"crash_ready_unaligned={len(check['ready_unaligned'])}")
    print(f"crash_rebaselines={sum(1 for a in result.attempts if a.mode == 'rebaseline')}")
    print(f"crash_aligned_mismatches={len(check['aligned_mismatches'])}")
    print(f"crash_alignment_out_of_date={len(check['alignment_out_of_date'])}")
    print(f"crash_upload_ms={result.request_seconds * 1000:.0f}")
    print(f"crash_lost_confirmed_photos={len(result.lost_confirmed)}")
    print(f"crash_invariant_violations={len(result.violations)}")
    print(f"crash_seconds={result.seconds:.1f}")
    return 1 if result.lost_confirmed or result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
