"""A photo once accepted is never lost, with real crashes: a real server process is SIGKILLed in mid-upload.

The harness is tests/crash_server.py (bench/bench_crash.py runs it 200 times). Each round forks a fresh server,
sends one or two uploads over a real socket and kills the server at a random moment; after the rounds,
``flask tracker purge-orphans --grace-minutes 0`` and ``requeue-stuck --older-than-minutes 0`` run and the
invariants are checked on the database and the stored bytes. On PostgreSQL the campaign has a schema of its own, so the truncations of the other tests
(which share the database) cannot touch it.
"""

from __future__ import annotations

from contextlib import nullcontext

import pytest

from tests.conftest import PG_URL
from tests.crash_server import dedicated_pg_schema, run_campaign, run_realign_crash

ITERATIONS = 12
KNOWN_STATES = {"nothing_stored", "written_not_renamed", "stored_not_committed", "committed_unprocessed",
                "ready_unaligned", "ready"}


@pytest.mark.slow
def test_sigkill_in_mid_upload_loses_no_accepted_photo_and_the_sweep_leaves_no_orphan(tmp_path):
    with (dedicated_pg_schema(PG_URL) if PG_URL else nullcontext(None)) as database_url:
        result = run_campaign(tmp_path / "crash", ITERATIONS, database_url=database_url, seed=7, rebaseline_every=0)
    summary = result.summary()

    assert result.count("confirmed", calibration=True) >= 4, summary  # the calibration uploads were answered
    assert result.kill_delays and sum(result.outcomes.values()) >= ITERATIONS, summary
    assert result.lost_confirmed == [], summary
    assert result.violations == [], summary
    assert set(result.scan["states"].values()) <= KNOWN_STATES, summary
    assert result.scan["orphan_non_originals"] == [], "only an original can exist before its row"
    # The sweep removed exactly what the crashes left (originals never committed, interrupted writes) and no row.
    assert result.orphans_removed == result.scan["orphan_originals"], summary
    assert result.temp_files_removed == result.scan["temp_files"], summary
    assert result.check["rows"] == result.scan["rows"], summary
    # Rows committed but killed before their derivatives are exactly what requeue-stuck had to finish.
    assert result.requeued == list(result.scan["states"].values()).count("committed_unprocessed"), summary
    assert result.check["statuses"] == {"ready": result.check["rows"]}, summary
    assert result.check["uploaded_rows"] == result.check["rows"] - 1, "every row but the baseline is an upload"


@pytest.mark.slow
def test_sigkill_in_mid_realign_keeps_the_invariants_and_every_aligned_image_matches_its_row(tmp_path):
    """An older photo makes its upload realign the group; the server dies after the first aligned image is rewritten.

    The four invariants must hold, and each aligned image must match the row that describes it (``aligned_sha256``,
    ``aligned_to_id``, the matrix): rows stop pointing at aligned files before they change, each photo commits on
    its own, and ``requeue-stuck`` settles the group a crash left half realigned.
    """
    with (dedicated_pg_schema(PG_URL) if PG_URL else nullcontext(None)) as database_url:
        report = run_realign_crash(tmp_path / "realign", database_url=database_url)

    assert report["upload"].startswith("killed"), report
    assert report["lost_confirmed"] == [] and report["violations"] == [], report
    assert report["statuses"] == {"ready": report["rows"]}, report
    assert report["aligned_mismatches"] == [] and report["alignment_out_of_date"] == [], report
