"""Background jobs, run by an RQ worker: ``make worker`` (``rq worker --with-scheduler tracker``).

Use cases never import this module: they enqueue through ``tracker.background`` by dotted name. Jobs take ids,
never ORM objects. A job may run twice (a retried or re-enqueued job, a worker killed mid-way): ``process_photo``
is idempotent.

A job that cannot even start (our code does not import, the app cannot be built from the worker's environment)
must still leave its photo ``failed`` with a reason, never ``processing`` in silence. So this module imports
nothing of the app at its top, and each job loads the code and builds the app inside its ``try``; when even the app
cannot be built, the failure is written with a plain connection to the configured database. The RQ failure
callback (``processing_failed``) records what happens outside our function: a work horse killed by the system or
by the job timeout, a job function that could not be loaded.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

COULD_NOT_START = "Processing could not start on the server. Retry, or upload the photo again."
STOPPED = "Processing stopped unexpectedly. Retry, or upload the photo again."

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


def realign_job(area_id: int, view_key: str) -> int:
    from tracker.photos.alignment import realign_group

    with _app().app_context():
        return len(realign_group(area_id, view_key))


def process_photo_job(photo_id: int) -> str:
    """Entry point in the worker process."""
    try:
        # Loaded here, the way a fresh worker meets it (not after the app has imported everything), and inside
        # the try: an import or configuration error is a failure of this photo, recorded below.
        from tracker.photos.services import mark_failed, process_photo

        app = _app()
    except Exception:
        log.exception("processing photo %s could not start", photo_id)
        record_failure(photo_id, COULD_NOT_START)
        raise
    with app.app_context():
        try:
            return process_photo(photo_id)
        except Exception:
            log.exception("processing photo %s failed", photo_id)
            mark_failed(photo_id, STOPPED)
            raise


def processing_failed(job: Any, connection: Any, exc_type: type[BaseException] | None, *_exc: Any) -> None:
    """RQ failure callback of processing jobs (also after our own handling, which makes this a no-op)."""
    photo_id = job.args[0] if job.args else None
    if not isinstance(photo_id, int):
        return
    from rq.exceptions import AbandonedJobError
    from rq.timeouts import JobTimeoutException

    died = exc_type is not None and issubclass(exc_type, (AbandonedJobError, JobTimeoutException))
    record_failure(photo_id, STOPPED if died else COULD_NOT_START)


def record_failure(photo_id: int, reason: str) -> None:
    """Mark a photo that is still ``processing`` as failed: through the app, or directly when it cannot be built."""
    try:
        from tracker.photos.services import mark_failed

        with _app().app_context():
            mark_failed(photo_id, reason)
        return
    except Exception:
        log.exception("could not record the failure of photo %s through the app; writing it directly", photo_id)
    _mark_failed_directly(photo_id, reason)


def _database_url() -> str:
    """The database the worker's app uses, found without the app (building it may be what failed)."""
    if _worker_app is not None:
        return str(_worker_app.config["SQLALCHEMY_DATABASE_URI"])
    from tracker.config import PROJECT_ROOT, normalize_database_url

    # The same rule as tracker.config.load_config, without the checks that may be what stopped the app.
    instance = Path(os.environ.get("TRACKER_INSTANCE_DIR") or PROJECT_ROOT / "instance")
    return normalize_database_url(os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'tracker.db'}")


def _mark_failed_directly(photo_id: int, reason: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(_database_url())
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE photos SET status = 'failed', failure_reason = :reason "
                                       "WHERE id = :id AND status = 'processing'"),
                               {"id": photo_id, "reason": reason[:500]})
    finally:
        engine.dispose()
