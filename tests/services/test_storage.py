"""The storage backends keep the same contract: local filesystem (atomic, durable), memory, and S3 (moto server)."""

from __future__ import annotations

import errno
import hashlib
import os

import pytest

from tracker.storage import ObjectMissing, StorageError
from tracker.storage.local import LocalStorage
from tracker.storage.memory import MemoryStorage


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["local", "memory", "s3"])
def store(request, tmp_path, monkeypatch):
    if request.param == "local":
        return LocalStorage(tmp_path / "uploads")
    if request.param == "memory":
        return MemoryStorage()
    import boto3

    from tracker.storage.s3 import S3Storage

    endpoint = request.getfixturevalue("moto_endpoint")
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")):
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = f"photos-{os.urandom(4).hex()}"
    client.create_bucket(Bucket=bucket)
    return S3Storage(bucket, client=client, prefix="tracker/")


def test_round_trip_with_checksum(store):
    data = os.urandom(100_000)
    stored = store.put("photos/abc123/original", data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)
    assert store.get("photos/abc123/original") == data
    assert store.exists("photos/abc123/original")
    assert [e.key for e in store.entries("photos/")] == ["photos/abc123/original"]


def test_overwrite_is_atomic_and_delete_is_idempotent(store):
    store.put("photos/abc/display.jpg", b"one")
    store.put("photos/abc/display.jpg", b"two")
    assert store.get("photos/abc/display.jpg") == b"two"
    store.delete("photos/abc/display.jpg")
    store.delete("photos/abc/display.jpg")
    assert not store.exists("photos/abc/display.jpg")
    with pytest.raises(ObjectMissing):
        store.get("photos/abc/display.jpg")


@pytest.mark.parametrize("key", ["../etc/passwd", "photos/../../x", "/abs", "photos/a b", "Photos/X", "", "a/./b",
                                 "photos/abc/..", "photos\\x"])
def test_keys_cannot_escape(store, key):
    with pytest.raises(ValueError):
        store.put(key, b"x")


def test_local_writes_leave_no_temp_file_and_private_mode(tmp_path):
    store = LocalStorage(tmp_path)
    store.put("photos/x1/original", b"data")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.name for p in files] == ["original"]
    assert files[0].stat().st_mode & 0o777 == 0o600


def test_local_disk_full_raises_storage_error_and_cleans_up(tmp_path, monkeypatch):
    store = LocalStorage(tmp_path)

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StorageError):
        store.put("photos/x2/original", b"data")
    monkeypatch.undo()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
