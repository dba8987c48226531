"""The port through which use cases hand work to the background; services import this, never ``tracker.jobs``.

Without ``REDIS_URL`` (or inside :func:`inline`) there is no queue: the caller does the work itself, at once.
With it, the work goes to the ``tracker`` RQ queue and a worker (``make worker``) runs it. Jobs are named here by
their dotted path, so this module imports neither the jobs nor anything they import (no cycle back up from the
services), and the worker resolves the name when it runs the job.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import current_app

QUEUE_NAME = "tracker"
PROCESS_PHOTO_JOB = "tracker.jobs.process_photo_job"
REALIGN_JOB = "tracker.jobs.realign_job"
PROCESSING_FAILED = "tracker.jobs.processing_failed"
# A processing job that raised runs again after 5 s, then 30 s: the worker's scheduler (`rq worker
# --with-scheduler`) moves it back to the queue; without a scheduler a retry never happens.
RETRY_INTERVALS = (5, 30)

_inline: ContextVar[bool] = ContextVar("tracker_inline_work", default=False)


def queue_configured() -> bool:
    """Whether work goes to the queue: ``REDIS_URL`` is set and we are not inside :func:`inline`."""
    return bool(current_app.config.get("REDIS_URL")) and not _inline.get()


@contextmanager
def inline() -> Iterator[None]:
    """Do the work in this process even when a queue is configured (the demo loader: its next steps need the
    photos processed and aligned, and no worker need be running)."""
    token = _inline.set(True)
    try:
        yield
    finally:
        _inline.reset(token)


def queue() -> Any:
    from redis import Redis
    from rq import Queue

    return Queue(QUEUE_NAME, connection=Redis.from_url(current_app.config["REDIS_URL"]))


def enqueue_processing(photo_id: int) -> None:
    from rq import Callback, Retry

    # job_timeout bounds a hung decode; Retry re-runs a job that raised (the job itself is idempotent); the failure
    # callback records a failure outside the job's own code (it could not be loaded, its process was killed).
    queue().enqueue(PROCESS_PHOTO_JOB, photo_id, job_timeout=300, retry=Retry(max=2, interval=list(RETRY_INTERVALS)),
                    on_failure=Callback(PROCESSING_FAILED), description=f"process photo {photo_id}")


def enqueue_realign(area_id: int, view_key: str) -> None:
    queue().enqueue(REALIGN_JOB, area_id, view_key, job_timeout=900, description=f"realign area {area_id}")
