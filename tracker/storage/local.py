"""Local filesystem storage: atomic, durable writes (temp file in the same folder, fsync, rename, fsync dir)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from tracker.storage import KEY_RE, Entry, ObjectMissing, StorageError, StoredObject, check_key, describe

TEMP_PREFIX = ".tmp-"
PUT_ATTEMPTS = 5


class LocalStorage:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise ValueError("storage key escapes the root")
        return path

    def put(self, key: str, data: bytes) -> StoredObject:
        path = self._path(key)
        try:
            for attempt in range(PUT_ATTEMPTS):
                try:
                    self._make_dirs(path.parent)
                    write_atomic(path, data)
                    break
                except FileNotFoundError:
                    # A folder was empty for an instant and a delete (or the sweep) removed it between our
                    # mkdir and our temp file: make it again. Storage ids are random per photo, so this is rare.
                    if attempt == PUT_ATTEMPTS - 1:
                        raise
        except OSError as exc:
            raise StorageError(exc.errno, f"could not store {key}: {exc.strerror}") from exc
        return describe(key, data)

    def _make_dirs(self, folder: Path) -> None:
        """Create missing folders, fsyncing each parent so a new folder's entry survives a power cut too."""
        missing = []
        while not folder.exists() and folder != self.root.parent:
            missing.append(folder)
            folder = folder.parent
        for created in reversed(missing):
            created.mkdir(exist_ok=True)
            fsync_path(created.parent)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        except OSError as exc:
            raise StorageError(exc.errno, f"could not read {key}") from exc

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(exc.errno, f"could not delete {key}") from exc
        self._remove_empty_parents(path.parent)

    def remove_temp(self, path: Path) -> None:
        """Remove an interrupted temp file (from ``temp_entries``) and the folders it leaves empty."""
        path.unlink(missing_ok=True)
        self._remove_empty_parents(path.parent)

    def _remove_empty_parents(self, folder: Path) -> None:
        """Remove folders left empty, upwards, stopping below the root. ``rmdir`` only ever removes an empty
        folder (atomically), so a file written meanwhile is never touched: the folder simply stays."""
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except FileNotFoundError:
                pass  # removed by a concurrent delete: go on with its parent
            except OSError:
                return  # not empty (or not ours to remove): stop here
            folder = folder.parent

    def remove_empty_folders(self, *, older_than: datetime, dry_run: bool = False) -> list[str]:
        """Empty folders (left by older versions, which did not remove them) untouched since ``older_than`` —
        a fresh one may belong to an upload in flight — are removed, deepest first; returns them."""
        found: list[str] = []
        if not self.root.exists():
            return found
        emptied: set[Path] = set()
        for dirpath, _dirs, _files in os.walk(self.root, topdown=False):
            folder = Path(dirpath)
            if folder == self.root:
                continue
            try:
                if any(folder.iterdir()):
                    continue
                young = datetime.fromtimestamp(folder.stat().st_mtime, UTC) >= older_than
                if young and folder not in emptied:  # a parent is "young" when we just emptied it
                    continue
                if not dry_run:
                    folder.rmdir()
                    emptied.add(folder.parent)
            except OSError:
                continue  # gone or refilled meanwhile
            found.append(folder.relative_to(self.root).as_posix())
        return found

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def entries(self, prefix: str = "") -> Iterator[Entry]:
        if not self.root.exists():
            return
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(dirpath, name)
                rel = path.relative_to(self.root).as_posix()
                if rel.startswith(prefix) and not name.startswith(TEMP_PREFIX) and KEY_RE.match(rel):
                    yield _entry(rel, path)

    def temp_entries(self) -> Iterator[tuple[Path, datetime]]:
        """Leftovers of writes interrupted by a crash (cleaned by purge-orphans)."""
        if self.root.exists():
            # Listed first: the caller may remove them (and their emptied folders) while going through the list.
            for path in list(self.root.rglob(f"{TEMP_PREFIX}*")):
                try:
                    yield path, _entry(path.name, path).modified_at
                except FileNotFoundError:
                    continue  # finished (renamed) or removed meanwhile


def _entry(key: str, path: Path) -> Entry:
    info = path.stat()
    return Entry(key, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC))


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file in the same folder (0600, from mkstemp), fsync, rename, fsync the folder: a crash leaves the
    old file or the new one, never half of one. The folder must exist."""
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_path(path.parent)


def fsync_path(path: Path) -> None:
    """fsync a file or folder by name (a folder's fsync makes a new or renamed entry in it durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
