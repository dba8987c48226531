"""Backups: a consistent copy of the database and every stored object, a restore into an empty deployment, and a
check of every stored object against the SHA-256 its row recorded.

``flask tracker backup <dir>`` writes::

    <dir>/database.sqlite3 | database.pgdump   the database, as of one consistent snapshot
    <dir>/objects/<key>                          every stored object, byte for byte
    <dir>/manifest.json                          SHA-256 of all of the above; written last, so a directory
                                                 without it is an interrupted backup

The database is snapshotted first and the objects are copied afterwards. An upload stores its original before
its row commits, so every photo row in the snapshot already has its bytes when the copy starts; objects written
later are orphans without a row in the snapshot, harmless (``purge-orphans`` removes them after a restore).
Originals are checked against their rows as they are copied, and any that is missing or altered is reported.

A backup is plaintext health data: the directory is 0700, its files 0600, and it must be kept encrypted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess  # pg_dump and pg_restore only, never through a shell # nosec B404
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tracker.extensions import db
from tracker.models import Clinic, utcnow
from tracker.models.photo import DERIVED_KEYS
from tracker.storage import ObjectMissing, StorageError, check_key
from tracker.storage_setup import storage
from tracker.storage.local import TEMP_PREFIX, LocalStorage, fsync_path, write_atomic

FORMAT = 1
MANIFEST = "manifest.json"
OBJECTS = "objects"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
# The variants a photo row vouches for, with the column holding each one's SHA-256 ("features" is a cache and
# has none). Only the original is irreplaceable: derivatives are made again from it by processing or realign.
CHECKSUM_COLUMNS = {"original": "sha256", "display": "display_sha256", "thumb": "thumb_sha256",
                    "aligned": "aligned_sha256", "adjusted": "adjusted_sha256"}
# Plain SQL, because it is also run on a SQLite snapshot file through the sqlite3 module. The checksum columns
# come in CHECKSUM_COLUMNS' order (a test holds the two together).
PHOTO_REFS_SQL = ("SELECT id, storage_id, deleted_at IS NOT NULL, sha256, display_sha256, thumb_sha256, "
                  "aligned_sha256, adjusted_sha256 FROM photos ORDER BY id")
# pg_restore --list lines for the schema itself (and its comment and grants); see _restore_postgresql.
SCHEMA_TOC_LINE = re.compile(r"^\d+; \d+ \d+ (?:SCHEMA - |(?:COMMENT|ACL) - SCHEMA )")
UNREADABLE = "unreadable"  # what _check is told for an object the store could not read


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why and what to do, and nothing was damaged."""


@dataclass(frozen=True)
class PhotoRef:
    """One photo row's promise: these objects exist with these SHA-256s."""

    id: int
    storage_id: str
    checksums: dict[str, str]

    def key(self, variant: str) -> str:
        return f"photos/{self.storage_id}/{DERIVED_KEYS[variant]}"


@dataclass(frozen=True)
class Problem:
    photo_id: int
    variant: str
    key: str
    problem: str  # "missing", "corrupt" (bytes differ from the recorded SHA-256) or "unreadable"

    def __str__(self) -> str:
        return f"photo {self.photo_id} {self.variant} ({self.key}): {self.problem}"


@dataclass
class BackupReport:
    directory: Path
    photos: int
    objects: int
    size: int
    problems: list[Problem] = field(default_factory=list)  # originals: cannot be made again
    warnings: list[Problem] = field(default_factory=list)  # derivatives: processing/realign remakes them
    unreadable: list[str] = field(default_factory=list)  # listed but could not be read: not in the backup


@dataclass
class VerifyReport:
    photos: int
    objects: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "photos": self.photos, "objects_checked": self.objects,
                "problems": [asdict(p) for p in self.problems]}


@dataclass
class RestoreReport:
    photos: int
    objects: int
    size: int
    problems: list[Problem] = field(default_factory=list)


# --- backup --------------------------------------------------------------------------------------------------

def backup(directory: Path) -> BackupReport:
    """Snapshot the database, then copy every object, then write the manifest (the mark of a complete backup)."""
    directory = _new_private_dir(directory)
    database, refs = _snapshot_database(directory)
    objects, unreadable = _copy_objects(directory / OBJECTS)
    found = _check(refs, {obj["key"]: obj["sha256"] for obj in objects}.get)
    report = BackupReport(directory, len(refs), len(objects), sum(obj["size"] for obj in objects),
                          problems=[p for p in found if p.variant == "original"],
                          warnings=[p for p in found if p.variant != "original"], unreadable=unreadable)
    manifest = {"format": FORMAT, "created_at": utcnow().isoformat(), "database": database, "photos": len(refs),
                "objects": objects, "problems": [asdict(p) for p in report.problems + report.warnings],
                "unreadable": unreadable}
    _write_atomic(directory / MANIFEST, json.dumps(manifest, indent=1).encode())
    return report


def _new_private_dir(path: Path) -> Path:
    path = path.resolve()
    if path.exists():
        if not path.is_dir():
            raise BackupError(f"{path} is not a directory.")
        if any(path.iterdir()):
            # Never mix two backups (or a backup and anything else): a manifest describes its whole directory.
            raise BackupError(f"{path} is not empty; back up into a new or empty directory.")
    store = storage()
    if isinstance(store, LocalStorage) and (path == store.root or store.root in path.parents):
        raise BackupError(f"{path} is inside the photo storage ({store.root}); choose a directory outside it.")
    _private_dir(path)
    path.chmod(0o700)  # also when it existed (empty): it is about to hold health data
    return path


def _snapshot_database(directory: Path) -> tuple[dict[str, Any], list[PhotoRef]]:
    dialect = db.engine.dialect.name
    if dialect == "sqlite":
        return _snapshot_sqlite(directory / DATABASE_FILES[dialect])
    if dialect == "postgresql":
        return _snapshot_postgresql(directory / DATABASE_FILES[dialect])
    raise BackupError(f"Backups support SQLite and PostgreSQL, not {dialect}.")


def _snapshot_sqlite(path: Path) -> tuple[dict[str, Any], list[PhotoRef]]:
    """Copy through SQLite's online backup API: never the live file, which may be mid-write or spread over a WAL."""
    tmp = _private_file(path.with_name(TEMP_PREFIX + path.name))
    try:
        raw, copy = db.engine.raw_connection(), sqlite3.connect(tmp)
        try:
            # One step (pages=-1) reads in one transaction: one consistent state, while WAL lets the app write on.
            raw.driver_connection.backup(copy)
            # The copy inherits WAL mode; leave it a single self-contained file.
            copy.execute("PRAGMA journal_mode=DELETE")
            _require_integrity(copy, "The database snapshot")
            refs = _photo_refs(copy.execute(PHOTO_REFS_SQL))
        finally:
            copy.close()
            raw.close()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _commit_file(tmp, path)
    return {"dialect": "sqlite", "file": path.name, "size": path.stat().st_size, "sha256": _file_sha256(path)}, refs


def _snapshot_postgresql(path: Path) -> tuple[dict[str, Any], list[PhotoRef]]:
    """pg_dump, sharing the snapshot of our own transaction so the photo rows we read are exactly those dumped."""
    pg_dump = _pg_tool("pg_dump")
    dbname, env = _libpq(db.engine.url)
    tmp = _private_file(path.with_name(TEMP_PREFIX + path.name))
    try:
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
                schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
                refs = _photo_refs(conn.execute(sa.text(PHOTO_REFS_SQL)))
                # Only the app's schema: other schemas in the same database belong to someone else.
                _run([pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}",
                      f"--schema={_pattern(schema)}", f"--file={tmp}", f"--dbname={dbname}"], env)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _commit_file(tmp, path)
    return {"dialect": "postgresql", "file": path.name, "schema": schema, "size": path.stat().st_size,
            "sha256": _file_sha256(path)}, refs


def _copy_objects(root: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Every object as it is now. Returns the copies and the keys that could not be read."""
    store = storage()
    copied, unreadable = [], []
    for entry in store.entries(""):
        try:
            data = store.get(check_key(entry.key))
        except ObjectMissing:
            continue  # deleted since the listing; if a row in the snapshot needs it, _check reports it
        except StorageError:
            unreadable.append(entry.key)  # one bad object must not cost the backup of all the others
            continue
        except ValueError:
            raise BackupError(f"The storage holds an object the app did not write ({entry.key[:80]!r}); move it "
                              "out of the way and back up again.") from None
        _write_atomic(root / entry.key, data)
        copied.append({"key": entry.key, "size": len(data), "sha256": _sha256(data)})
    return sorted(copied, key=lambda obj: obj["key"]), unreadable


# --- verify --------------------------------------------------------------------------------------------------

def verify_store() -> VerifyReport:
    """Read every object a photo row vouches for and compare it with the SHA-256 the row recorded."""
    refs = _photo_refs(db.session.execute(sa.text(PHOTO_REFS_SQL)))
    store = storage()

    def stored_sha256(key: str) -> str | None:
        try:
            return _sha256(store.get(key))
        except ObjectMissing:
            return None
        except StorageError:
            return UNREADABLE

    problems = _check(refs, stored_sha256)
    db.session.rollback()  # end the read transaction: a long check must not hold a snapshot open
    return VerifyReport(len(refs), sum(len(ref.checksums) for ref in refs), problems)


def _photo_refs(rows: Iterable[Sequence[Any]]) -> list[PhotoRef]:
    refs = []
    for photo_id, storage_id, deleted, *sums in rows:
        checksums = {variant: sha for variant, sha in zip(CHECKSUM_COLUMNS, sums) if sha}
        if deleted:
            # A deleted photo keeps only its original (for an undo until purge-deleted); its derivatives may
            # already be gone on purpose, and processing makes them again if it comes back.
            checksums = {"original": checksums["original"]}
        refs.append(PhotoRef(photo_id, storage_id, checksums))
    return refs


def _check(refs: list[PhotoRef], sha256_of: Callable[[str], str | None]) -> list[Problem]:
    """``sha256_of(key)`` gives an object's SHA-256, None when it is missing, or UNREADABLE."""
    problems = []
    for ref in refs:
        for variant, expected in ref.checksums.items():
            key = ref.key(variant)
            actual = sha256_of(key)
            if actual != expected:
                kind = "missing" if actual is None else UNREADABLE if actual == UNREADABLE else "corrupt"
                problems.append(Problem(ref.id, variant, key, kind))
    return problems


# --- restore -------------------------------------------------------------------------------------------------

def restore(directory: Path) -> RestoreReport:
    """Check every byte of the backup, then the target, and only then write: objects first, the database last.

    The database goes last because its rows are what make photos visible: a failure part-way leaves no row
    pointing at an object that was not restored.
    """
    directory = directory.resolve()
    manifest = _read_manifest(directory)
    _verify_backup(directory, manifest)
    _check_target(manifest)
    size = _restore_objects(directory, manifest)
    try:
        _restore_database(directory / manifest["database"]["file"], manifest["database"]["dialect"])
    except BackupError as exc:
        raise BackupError(f"{exc}\nThe objects were restored but the database was not: empty the storage before "
                          "running the restore again.") from None
    check = verify_store()
    return RestoreReport(check.photos, len(manifest["objects"]), size, check.problems)


def _read_manifest(directory: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((directory / MANIFEST).read_bytes())
    except FileNotFoundError:
        raise BackupError(f"{directory} has no {MANIFEST}: not a backup, or one that was interrupted.") from None
    except ValueError:
        raise BackupError(f"{directory / MANIFEST} is not valid JSON.") from None
    unreadable = BackupError(f"{directory / MANIFEST} is not a backup manifest this version can read.")
    database = manifest.get("database") if isinstance(manifest, dict) else None
    if not (isinstance(database, dict) and manifest.get("format") == FORMAT
            and isinstance(manifest.get("objects"), list)
            and DATABASE_FILES.get(database.get("dialect")) == database.get("file")):
        raise unreadable
    try:
        for obj in manifest["objects"]:
            check_key(obj["key"])  # a key from a file must not climb out of the storage root either
    except (ValueError, KeyError, TypeError):
        raise unreadable from None
    return manifest  # type: ignore[no-any-return]


def _verify_backup(directory: Path, manifest: dict[str, Any]) -> None:
    """Every file against the manifest, before anything is written: a damaged backup changes nothing."""
    bad = []
    database = directory / manifest["database"]["file"]
    if not database.is_file() or _file_sha256(database) != manifest["database"]["sha256"]:
        bad.append(database.name)
    reader = LocalStorage(directory / OBJECTS)
    for obj in manifest["objects"]:
        try:
            if _sha256(reader.get(obj["key"])) != obj["sha256"]:
                bad.append(f"{obj['key']} (changed)")
        except ObjectMissing:
            bad.append(f"{obj['key']} (missing)")
    if bad:
        listed = ", ".join(bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise BackupError(f"The backup does not match its manifest: {listed}. Nothing was restored.")


def _check_target(manifest: dict[str, Any]) -> None:
    dialect, wanted = db.engine.dialect.name, manifest["database"]["dialect"]
    if dialect != wanted:
        raise BackupError(f"This is a {wanted} backup but the configured database is {dialect}.")
    if dialect == "postgresql":
        _pg_tool("pg_restore")
        schema = db.session.scalar(sa.text("SELECT current_schema()"))
        # A dump names its schema in every statement: it can only go back into a schema of the same name.
        if schema != manifest["database"]["schema"]:
            raise BackupError(f"The backup is of schema {manifest['database']['schema']!r} but the configured "
                              f"database's schema is {schema!r}; point DATABASE_URL at an empty database (or an "
                              "empty schema of that name).")
    if sa.inspect(db.engine).has_table(Clinic.__tablename__):
        clinics = db.session.scalar(sa.select(sa.func.count()).select_from(Clinic))
        if clinics:
            raise BackupError(f"The configured database already holds {clinics} clinic(s). Restore only into an "
                              "empty deployment (a new database and empty storage); nothing was changed.")
    if next(iter(storage().entries("")), None) is not None:
        raise BackupError("The configured storage already holds objects. Restore only into an empty deployment "
                          "(a new database and empty storage); nothing was changed.")
    db.session.remove()  # let go of our connection before the database is replaced under it


def _restore_objects(directory: Path, manifest: dict[str, Any]) -> int:
    reader, store, size = LocalStorage(directory / OBJECTS), storage(), 0
    for obj in manifest["objects"]:
        data = reader.get(obj["key"])
        if _sha256(data) != obj["sha256"]:  # read again: the disk could have changed since _verify_backup
            raise BackupError(f"{obj['key']} changed while restoring; the restore stopped before the database. "
                              "Empty the storage before running it again.")
        try:
            store.put(obj["key"], data)
        except StorageError as exc:
            raise BackupError(f"Could not store {obj['key']} ({exc}); the restore stopped before the database. "
                              "Empty the storage before running it again.") from None
        size += len(data)
    return size


def _restore_database(path: Path, dialect: str) -> None:
    if dialect == "sqlite":
        _restore_sqlite(path)
    else:
        _restore_postgresql(path)
    db.session.remove()
    db.engine.dispose()  # pooled connections must not carry anything over from the database that was replaced


def _restore_sqlite(path: Path) -> None:
    """The backup API again, into the configured database: it replaces every page, schema included."""
    snapshot = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    raw = db.engine.raw_connection()
    try:
        snapshot.backup(raw.driver_connection)
        _require_integrity(raw.driver_connection, "The restored database")
    finally:
        raw.close()
        snapshot.close()


def _restore_postgresql(path: Path) -> None:
    pg_restore = _pg_tool("pg_restore")
    dbname, env = _libpq(db.engine.url)
    # The schema already exists (_check_target saw it). Restoring its own entry with --clean would DROP it, which
    # fails on anything else in it (and public is not ours to drop), so the table of contents leaves it out.
    toc = _run([pg_restore, "--list", str(path)], env)
    entries = "\n".join(line for line in toc.splitlines() if not SCHEMA_TOC_LINE.match(line))
    db.engine.dispose()  # no connection of ours may hold a lock on a table about to be replaced
    with tempfile.NamedTemporaryFile("w", suffix=".list") as listing:
        listing.write(entries)
        listing.flush()
        # One transaction: either the whole database is restored, or nothing is.
        _run([pg_restore, "--no-owner", "--no-privileges", "--clean", "--if-exists", "--single-transaction",
              "--exit-on-error", "--no-password", f"--use-list={listing.name}", f"--dbname={dbname}", str(path)], env)


# --- helpers -------------------------------------------------------------------------------------------------

def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} was not found on PATH; install the PostgreSQL client tools (the server's major "
                          "version or newer) and try again.")
    return path


def _libpq(url: sa.URL) -> tuple[str, dict[str, str]]:
    """A libpq URL for the pg_* tools, and their environment: the password goes in PGPASSWORD, never in argv
    (visible to every user in the process list) or in a message."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    conninfo = url._replace(drivername="postgresql", password=None)  # query (options=-csearch_path=…) kept
    return conninfo.render_as_string(hide_password=False), env


def _pattern(name: str) -> str:
    """A pg_dump --schema pattern matching exactly this name (quoted: no wildcards, case kept)."""
    return '"' + name.replace('"', '""') + '"'


def _run(command: list[str], env: dict[str, str]) -> str:
    # An argument list, no shell; the program is pg_dump/pg_restore from PATH and the arguments are ours.
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # nosec B603
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")
    return result.stdout


def _require_integrity(conn: sqlite3.Connection, what: str) -> None:
    result = conn.execute("PRAGMA integrity_check").fetchall()
    if result != [("ok",)]:
        raise BackupError(f"{what} failed SQLite's integrity check: {result[:5]}")


def _private_dir(path: Path) -> None:
    """Create ``path`` and any missing parent 0700 (makedirs' mode reaches the last one only). Folders that
    already exist are left as they are: they are not ours."""
    if not path.is_dir():
        _private_dir(path.parent)
        path.mkdir(mode=0o700, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode passes through the umask


def _private_file(path: Path) -> Path:
    """An empty 0600 file, created before any bytes go in, so no one else can ever have opened it."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    path.chmod(0o600)
    return path


def _write_atomic(path: Path, data: bytes) -> None:
    _private_dir(path.parent)
    write_atomic(path, data)


def _commit_file(tmp: Path, path: Path) -> None:
    fsync_path(tmp)
    os.replace(tmp, path)
    fsync_path(path.parent)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
