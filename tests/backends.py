"""The three storage backends as app configurations (local files, memory, S3 on a moto server), and a storage
wrapper that counts reads. Import the fixtures into a test module that parametrizes its ``app`` by backend."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

BACKENDS = ("local", "memory", "s3")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def backend_config(kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """App settings for one backend; for S3 a fresh bucket on the moto server."""
    if kind == "local":
        return {"TRACKER_STORAGE": "local"}
    if kind == "memory":
        return {"TRACKER_STORAGE": "memory"}
    import boto3

    endpoint = request.getfixturevalue("moto_server")
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")):
        monkeypatch.setenv(name, value)
    bucket = f"tracker-{os.urandom(4).hex()}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return {"TRACKER_STORAGE": "s3", "TRACKER_S3_BUCKET": bucket, "TRACKER_S3_ENDPOINT_URL": endpoint}


def storage_settings(app: Any) -> dict[str, Any]:
    """The storage part of an app's config, to build a second app on the same stored objects."""
    return {k: app.config[k] for k in ("TRACKER_STORAGE", "TRACKER_S3_BUCKET", "TRACKER_S3_ENDPOINT_URL",
                                       "TRACKER_UPLOAD_DIR")}


class CountingStorage:
    """Wraps the app's storage; ``reads`` lists every key fetched with get()."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.reads: list[str] = []

    def get(self, key: str) -> bytes:
        self.reads.append(key)
        return self.inner.get(key)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def count_reads(app: Any) -> CountingStorage:
    counting = CountingStorage(app.extensions["tracker_storage"])
    app.extensions["tracker_storage"] = counting
    return counting
