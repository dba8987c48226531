"""Keeping stored bytes and rows in step: the orphan sweep, and purging photos deleted long ago.

Invariant: every live photo row has its original with the recorded SHA-256, and (after a sweep) every stored
object belongs to a row. An upload writes its bytes before its row commits, so a crash in between leaves an
object without a row; the sweep removes such objects once they are older than a grace period, so an upload
still in flight is never touched.

Rendered gallery images exist only while their item is live (awaiting the patient or published): withdrawal,
a decline and a take-down delete them after their commit, and the sweep removes any a failed delete (or an older
version) left behind, whatever their age — those states are final. Empty folders (older versions left them
after failed uploads) are removed too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa

from tracker.background import enqueue_processing, queue_configured
from tracker.extensions import db
from tracker.models import GalleryItem, GalleryStatus, Photo, PhotoStatus, utcnow
from tracker.models.photo import DERIVED_KEYS
from tracker.photos.alignment import settle
from tracker.photos.services import process_photo
from tracker.storage_setup import storage
from tracker.storage.local import LocalStorage


@dataclass
class OrphanReport:
    objects_without_rows: list[str] = field(default_factory=list)
    temp_files: list[str] = field(default_factory=list)
    rows_without_original: list[int] = field(default_factory=list)
    rows_missing_derivatives: list[int] = field(default_factory=list)
    gallery_images_not_live: list[str] = field(default_factory=list)
    empty_folders: list[str] = field(default_factory=list)
    cleaned: bool = False

    @property
    def clean(self) -> bool:
        return not (self.objects_without_rows or self.temp_files or self.rows_without_original
                    or self.rows_missing_derivatives or self.gallery_images_not_live or self.empty_folders)


def _storage_id(key: str) -> str | None:
    parts = key.split("/")
    return parts[1] if len(parts) == 3 and parts[0] == "photos" else None


def _gallery_id(key: str) -> str | None:
    parts = key.split("/")
    return parts[1] if len(parts) == 3 and parts[0] == "gallery" else None


def purge_orphans(*, grace: timedelta = timedelta(hours=1), dry_run: bool = False) -> OrphanReport:
    store = storage()
    report = OrphanReport(cleaned=not dry_run)
    cutoff = utcnow() - grace
    known = {sid: (pid, status, deleted) for sid, pid, status, deleted in db.session.execute(
        sa.select(Photo.storage_id, Photo.id, Photo.status, Photo.deleted_at))}
    present: set[str] = set()
    for entry in store.entries("photos/"):
        present.add(entry.key)
        sid = _storage_id(entry.key)
        if (sid is None or sid not in known) and entry.modified_at < cutoff:
            report.objects_without_rows.append(entry.key)
    items: dict[str, GalleryStatus] = {public_id: status for public_id, status in db.session.execute(
        sa.select(GalleryItem.public_id, GalleryItem.status))}
    for entry in store.entries("gallery/"):
        status = items.get(_gallery_id(entry.key) or "")
        if status is None:
            if entry.modified_at < cutoff:  # a proposal writes its images just before its row commits
                report.objects_without_rows.append(entry.key)
        elif not status.is_live:
            report.gallery_images_not_live.append(entry.key)
    if isinstance(store, LocalStorage):
        for path, modified in store.temp_entries():
            if modified < cutoff:
                report.temp_files.append(str(path.relative_to(store.root)))
                if not dry_run:
                    store.remove_temp(path)  # its folder too, when emptied (a second sweep finds nothing)
    for sid, (photo_id, status, deleted) in known.items():
        if deleted is not None:
            continue
        if f"photos/{sid}/original" not in present:
            report.rows_without_original.append(photo_id)
        elif status is PhotoStatus.READY and not {f"photos/{sid}/display.jpg", f"photos/{sid}/thumb.jpg"} <= present:
            report.rows_missing_derivatives.append(photo_id)
    if not dry_run:
        _repair(report)
    if isinstance(store, LocalStorage):
        report.empty_folders = store.remove_empty_folders(older_than=cutoff, dry_run=dry_run)
    return report


def _repair(report: OrphanReport) -> None:
    for key in report.objects_without_rows + report.gallery_images_not_live:
        storage().delete(key)
    for photo_id in report.rows_without_original:
        photo = db.session.get(Photo, photo_id)
        if photo is not None:
            # Never delete the record that a photo existed: flag it for a restore from backup.
            photo.status = PhotoStatus.FAILED
            photo.failure_reason = "The original file is missing from storage; restore it from a backup."
    db.session.commit()
    for photo_id in report.rows_missing_derivatives:
        process_photo(photo_id)  # derivatives are reproducible from the original


def purge_deleted(*, older_than: timedelta) -> int:
    """Remove the bytes and rows of photos deleted more than ``older_than`` ago. Returns how many."""
    cutoff = utcnow() - older_than
    photos = db.session.scalars(sa.select(Photo).where(Photo.deleted_at.is_not(None), Photo.deleted_at < cutoff)).all()
    for photo in photos:
        for variant in DERIVED_KEYS:
            storage().delete(photo.key(variant))
        db.session.delete(photo)
    db.session.commit()
    return len(photos)


def requeue_stuck(*, older_than: timedelta) -> int:
    """Photos left 'processing' (a worker killed mid-job) are processed again; the job is idempotent.

    Alignments a dead process left unsettled are finished too (``alignment.settle``).
    """
    cutoff = utcnow() - older_than
    stuck = db.session.scalars(sa.select(Photo.id).where(Photo.status == PhotoStatus.PROCESSING,
                                                         Photo.deleted_at.is_(None), Photo.created_at < cutoff)).all()
    for photo_id in stuck:
        if queue_configured():
            enqueue_processing(photo_id)
        else:
            process_photo(photo_id)
    settle()
    return len(stuck)
