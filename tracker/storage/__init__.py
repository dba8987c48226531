"""Where photo bytes live. One interface, three backends: local filesystem (default), memory (tests), S3.

Keys are made by the server (``photos/<uuid>/original``), never from a client's filename, and checked
against a strict pattern so no key can climb out of the storage root.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

log = logging.getLogger(__name__)

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*(?:/[a-z0-9][a-z0-9_.-]*)*$")


class StorageError(OSError):
    """The store could not durably write or read; callers answer 503 and keep nothing half-written."""


class ObjectMissing(KeyError):
    pass


@dataclass(frozen=True)
class Entry:
    """One object in a listing: enough to tell a fresh in-flight upload from an old orphan."""

    key: str
    size: int
    modified_at: datetime


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str


def check_key(key: str) -> str:
    if not KEY_RE.match(key) or ".." in key or len(key) > 512:
        raise ValueError(f"invalid storage key {key[:80]!r}")
    return key


def describe(key: str, data: bytes) -> StoredObject:
    return StoredObject(key, len(data), hashlib.sha256(data).hexdigest())


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> StoredObject: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def entries(self, prefix: str = "") -> Iterator[Entry]: ...


def delete_quietly(store: Storage, keys: Iterable[str]) -> list[str]:
    """Delete every key, going on past failures; returns the keys left behind (logged; ``purge-orphans``
    sweeps them). For clean-ups after a committed change, which a storage failure must never undo."""
    left = []
    for key in keys:
        try:
            store.delete(key)
        except OSError as exc:  # StorageError included
            log.error("could not delete %s (%s); purge-orphans will", key, type(exc).__name__)
            left.append(key)
    return left
