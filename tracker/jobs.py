"""Background work. Jobs take ids, never ORM objects, and run inline when no queue is configured.

With ``REDIS_URL`` set, photo processing goes to the ``tracker`` RQ queue (``make worker``). A job may run
twice (a retried or re-enqueued job, a worker killed mid-way): ``process_photo`` is idempotent.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app

log = logging.getLogger(__name__)

QUEUE_NAME = "tracker"
_worker_app: Flask | None = None


def bind_app(app: Flask | None) -> None:
    """The app a worker process runs jobs in (tests bind theirs; a real worker builds one from the env)."""
    global _worker_app
    _worker_app = app


def _app() -> Flask:
    global _worker_app
    if _worker_app is None:
        from tracker import create_app

        _worker_app = create_app()
    return _worker_app


def queue() -> Any:
    from redis import Redis
    from rq import Queue

    return Queue(QUEUE_NAME, connection=Redis.from_url(current_app.config["REDIS_URL"]))


def enqueue_processing(photo_id: int) -> None:
    from rq import Retry

    # job_timeout bounds a hung decode; Retry re-runs a job that raised (the job itself is idempotent).
    queue().enqueue(process_photo_job, photo_id, job_timeout=300, retry=Retry(max=2, interval=[5, 30]),
                    description=f"process photo {photo_id}")


def enqueue_realign(area_id: int, view_key: str) -> None:
    queue().enqueue(realign_job, area_id, view_key, job_timeout=900, description=f"realign area {area_id}")


def realign_job(area_id: int, view_key: str) -> int:
    from tracker.photos.alignment import realign_group

    with _app().app_context():
        return len(realign_group(area_id, view_key))


def process_photo_job(photo_id: int) -> str:
    """Entry point in the worker process."""
    from tracker.photos.services import mark_failed, process_photo

    with _app().app_context():
        try:
            return process_photo(photo_id)
        except Exception:
            log.exception("processing photo %s failed", photo_id)
            mark_failed(photo_id, "Processing stopped unexpectedly. Retry, or upload the photo again.")
            raise
