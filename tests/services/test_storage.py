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


def test_local_delete_removes_the_folders_it_leaves_empty_but_never_the_root(tmp_path):
    root = tmp_path / "uploads"
    store = LocalStorage(root)
    store.put("photos/aa11/original", b"one")
    store.put("photos/aa11/display.jpg", b"two")
    store.put("photos/bb22/original", b"three")
    store.delete("photos/aa11/original")
    assert (root / "photos/aa11").is_dir(), "still holds display.jpg"
    store.delete("photos/aa11/display.jpg")
    assert not (root / "photos/aa11").exists() and (root / "photos/bb22/original").is_file()
    store.delete("photos/bb22/original")
    assert root.is_dir() and list(root.iterdir()) == [], "every folder below the root went; the root stays"
    store.delete("photos/never/original")  # deleting what is not there is still fine
    assert root.is_dir()


def test_local_put_survives_its_folder_being_removed_by_a_concurrent_delete(tmp_path, monkeypatch):
    """A delete may find the folder empty in the instant between a put's mkdir and its temp file, and remove it:
    the put makes the folder again instead of failing."""
    import tracker.storage.local as local

    store = LocalStorage(tmp_path)
    real = local.write_atomic
    calls = []

    def racing(path, data):
        calls.append(path)
        if len(calls) == 1:
            path.parent.rmdir()  # the concurrent delete's clean-up wins the race once
        real(path, data)

    monkeypatch.setattr(local, "write_atomic", racing)
    store.put("photos/cc33/original", b"data")
    assert store.get("photos/cc33/original") == b"data" and len(calls) == 2


def test_local_sweep_of_empty_folders_spares_fresh_ones_and_the_root(tmp_path):
    from datetime import UTC, datetime, timedelta

    root = tmp_path / "uploads"
    store = LocalStorage(root)
    store.put("photos/live/original", b"x")
    old = datetime.now(UTC) - timedelta(hours=2)
    for folder in ("photos/left1", "photos/left2", "gallery/abc", "gallery"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for folder in ("photos/left1", "photos/left2", "gallery/abc", "gallery"):
        os.utime(root / folder, (old.timestamp(), old.timestamp()))
    (root / "photos/fresh").mkdir()  # an upload in flight may have just made it
    cutoff = datetime.now(UTC) - timedelta(hours=1)
    assert sorted(store.remove_empty_folders(older_than=cutoff, dry_run=True)) == [
        "gallery/abc", "photos/left1", "photos/left2"]
    assert (root / "photos/left1").is_dir()
    assert sorted(store.remove_empty_folders(older_than=cutoff)) == [
        "gallery", "gallery/abc", "photos/left1", "photos/left2"]
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "photos", "photos/fresh", "photos/live", "photos/live/original"]
