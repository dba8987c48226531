"""Benchmark: rendering a treated area's timeline with 500 photos (and 50 sessions), against 5 photos.

Prints name=value lines: page render times (median of 9), the per-photo cost, and the number of SQL queries for
both sizes (it must not grow with the number of photos).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import make_app  # noqa: E402
from tests.factories import build_world, login, make_photo_row, make_session  # noqa: E402
from tracker.extensions import db  # noqa: E402

QUICK = os.environ.get("TRACKER_BENCH_QUICK") == "1"  # a smoke run (tests): same code, fewer repeats
RUNS = 2 if QUICK else 9


def measure(client, url: str, engine) -> tuple[float, int]:
    queries = 0

    def hit(*args) -> None:
        nonlocal queries
        queries += 1

    times = []
    for run in range(RUNS + 1):
        sa.event.listen(engine, "before_cursor_execute", hit)
        start = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - start
        sa.event.remove(engine, "before_cursor_execute", hit)
        assert response.status_code == 200
        if run:  # the first request warms template and statement caches
            times.append(elapsed)
    return statistics.median(times) * 1000, queries // (RUNS + 1)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), False)
        with app.app_context():
            world = build_world()
            small, large = world["a"], world["b"]
            start = date(2024, 1, 1)
            for i in range(5):
                make_photo_row(small.area_id, start + timedelta(days=7 * i))
            make_session(small.course_id, 1, start + timedelta(days=8))
            for i in range(500):
                make_photo_row(large.area_id, start + timedelta(days=i), view=("front", "close_up")[i % 2])
            for i in range(50):
                make_session(large.course_id, i + 1, start + timedelta(days=10 * i))
            db.session.commit()
            engine = db.engine
        client = app.test_client()
        login(client, world["prac_x"].email)
        small_ms, small_q = measure(client, f"/timeline/area/{small.area_id}", engine)
        large_ms, large_q = measure(client, f"/timeline/area/{large.area_id}", engine)
    print("# timeline page, SQLite, median of 9 requests after one warm-up")
    print(f"timeline_render_5_ms={small_ms:.1f}")
    print(f"timeline_render_500_ms={large_ms:.1f}")
    print(f"timeline_render_ratio_500_vs_5={large_ms / small_ms:.1f}")
    print(f"timeline_ms_per_photo={(large_ms - small_ms) / 495:.3f}")
    print(f"timeline_queries_5={small_q}")
    print(f"timeline_queries_500={large_q}")


if __name__ == "__main__":
    main()
