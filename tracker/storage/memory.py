"""In-memory storage for tests (and a model of the interface's contract)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

from tracker.storage import Entry, ObjectMissing, StoredObject, check_key, describe


class MemoryStorage:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.modified: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes) -> StoredObject:
        with self._lock:
            self.objects[check_key(key)] = bytes(data)
            self.modified[key] = datetime.now(UTC)
        return describe(key, data)

    def get(self, key: str) -> bytes:
        try:
            return self.objects[check_key(key)]
        except KeyError:
            raise ObjectMissing(key) from None

    def delete(self, key: str) -> None:
        with self._lock:
            self.objects.pop(check_key(key), None)
            self.modified.pop(key, None)

    def exists(self, key: str) -> bool:
        return check_key(key) in self.objects

    def entries(self, prefix: str = "") -> Iterator[Entry]:
        for key in sorted(k for k in list(self.objects) if k.startswith(prefix)):
            yield Entry(key, len(self.objects[key]), self.modified[key])
