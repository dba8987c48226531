"""Pick the storage backend from the app's settings: the Flask side of tracker.storage, which knows no Flask."""

from __future__ import annotations

from flask import Flask, current_app

from tracker.storage import Storage
from tracker.storage.local import LocalStorage
from tracker.storage.memory import MemoryStorage
from tracker.storage.s3 import S3Storage


def init_storage(app: Flask) -> None:
    kind = app.config["TRACKER_STORAGE"]
    backend: Storage
    if kind == "local":
        backend = LocalStorage(app.config["TRACKER_UPLOAD_DIR"])
    elif kind == "memory":
        backend = MemoryStorage()
    elif kind == "s3":
        if not app.config["TRACKER_S3_BUCKET"]:
            raise RuntimeError("TRACKER_STORAGE=s3 needs TRACKER_S3_BUCKET.")
        backend = S3Storage(app.config["TRACKER_S3_BUCKET"], endpoint_url=app.config["TRACKER_S3_ENDPOINT_URL"],
                            region=app.config["TRACKER_S3_REGION"])
    else:
        raise RuntimeError(f"Unknown TRACKER_STORAGE {kind!r} (local, s3 or memory).")
    app.extensions["tracker_storage"] = backend


def storage() -> Storage:
    return current_app.extensions["tracker_storage"]  # type: ignore[no-any-return]
