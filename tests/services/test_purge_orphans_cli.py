"""`flask --app tracker tracker purge-orphans`, run the way an operator runs it (the shipped CLI in a subprocess,
on throw-away data): it removes the empty folders older versions left after failed uploads, and the rendered
images of gallery items that are no longer public; it counts both in its report."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from tests.factories import add_photos
from tracker.extensions import db
from tracker.models import GalleryItem, GalleryStatus, Photo
from tracker.storage_setup import storage

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).with_name("flask")


def _cli(app, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "FLASK_"))}
    env.update({"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                "TRACKER_UPLOAD_DIR": app.config["TRACKER_UPLOAD_DIR"],
                "TRACKER_INSTANCE_DIR": str(Path(app.config["TRACKER_UPLOAD_DIR"]).parent / "instance"),
                "TRACKER_ENV": "testing", "TRACKER_MAIL_BACKEND": "memory"})
    env.pop("REDIS_URL", None)
    done = subprocess.run([str(FLASK), "--app", "tracker", "tracker", "purge-orphans", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _item(photo: Photo, status: GalleryStatus, public_id: str) -> GalleryItem:
    item = GalleryItem(clinic_id=photo.area.patient.clinic_id, patient_id=photo.patient_id, area_id=photo.area_id,
                       public_id=public_id, before_photo_id=photo.id, after_photo_id=photo.id, caption="c",
                       modality="topical", body_region="abdomen", status=status)
    db.session.add(item)
    return item


def test_purge_orphans_cli_removes_old_empty_folders_and_images_of_items_no_longer_public(app, world):
    uploads = Path(app.config["TRACKER_UPLOAD_DIR"])
    with app.app_context():
        add_photos(world)
        photo = db.session.get(Photo, world["a"].photo_id)
        live = _item(photo, GalleryStatus.PUBLISHED, "a" * 32)
        ended = [_item(photo, status, ch * 32) for status, ch in (
            (GalleryStatus.WITHDRAWN, "b"), (GalleryStatus.DECLINED, "c"), (GalleryStatus.UNPUBLISHED, "d"))]
        db.session.commit()
        for item in [live, *ended]:  # as an older version left them: rendered images of every item still stored
            for key in item.image_keys():
                storage().put(key, b"\xff\xd8 rendered")
        live_keys = live.image_keys()
        ended_keys = sorted(key for item in ended for key in item.image_keys())
        kept = sorted(e.key for e in storage().entries("photos/"))
    old = time.time() - 3 * 3600
    left_behind = ["photos/0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f", "photos/1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e"]
    for name in left_behind:  # failed uploads of an older version left these
        (uploads / name).mkdir(parents=True)
        os.utime(uploads / name, (old, old))
    (uploads / "photos/2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d").mkdir()  # an upload in flight just made this one

    dry = _cli(app, "--dry-run")
    assert f"gallery images of items no longer public: {len(ended_keys)} (would remove)" in dry
    assert "empty folders: 2 (would remove)" in dry and "issues found" in dry
    assert all((uploads / name).is_dir() for name in left_behind)

    out = _cli(app)
    assert f"gallery images of items no longer public: {len(ended_keys)} (removed)" in out
    assert all(f"  {key}" in out for key in ended_keys)
    assert "empty folders: 2 (removed)" in out and "repaired" in out
    assert not any((uploads / name).exists() for name in left_behind)
    assert not any((uploads / key).parent.exists() for key in ended_keys), "deleting an image takes its folder"
    assert (uploads / "photos/2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d").is_dir(), "young: maybe an upload in flight"
    assert uploads.is_dir()
    with app.app_context():
        assert sorted(e.key for e in storage().entries("photos/")) == kept, "every photo's files stay"
        assert sorted(e.key for e in storage().entries("gallery/")) == sorted(live_keys), "live images stay"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(GalleryItem)) == 4, "rows stay"

    again = _cli(app)
    assert "gallery images of items no longer public: 0" in again and "empty folders: 0" in again
    assert again.rstrip().endswith("clean")
