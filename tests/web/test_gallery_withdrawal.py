"""When a gallery item stops being public — the patient withdraws gallery consent, declines the proposal, or the
clinic takes it down — its rendered images are deleted from storage (after the commit; never undoing the change
when a delete fails; purge-orphans sweeps what is left) and every URL that served them answers 404 to everyone.
The original photos stay. On every storage backend (local files, memory, S3 on a moto server)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.backends import BACKENDS, backend_config, count_reads, moto_server  # noqa: F401
from tests.factories import login
from tests.web.test_consent_gallery import _published_item
from tracker.extensions import db
from tracker.models import Consent, GalleryItem, Photo
from tracker.storage import StorageError
from tracker.storage_setup import storage


@pytest.fixture(params=BACKENDS)
def app(request, app_factory, monkeypatch):
    return app_factory(**backend_config(request.param, request, monkeypatch))


def _stored(app, keys):
    with app.app_context():
        return {key for key in keys if storage().exists(key)}


def _on_disk(app, keys):
    """For local storage, the files themselves (and their folder) on disk."""
    if app.config["TRACKER_STORAGE"] != "local":
        return set()
    from pathlib import Path

    root = Path(app.config["TRACKER_UPLOAD_DIR"])
    return {key for key in keys if (root / key).exists() or (root / key).parent.exists()}


def _image_keys(app, item_id):
    with app.app_context():
        return db.session.get(GalleryItem, item_id).image_keys()


def _photo_keys(app, *photo_ids):
    with app.app_context():
        return [db.session.get(Photo, pid).key(v) for pid in photo_ids for v in ("original", "display", "thumb")]


def _gallery_consent_id(client, patient):
    return next(c["id"] for c in client.get("/api/v1/me/consents", headers=patient).get_json()
                if c["scope"] == "gallery" and c["status"] == "granted")


def _viewers(app, world):
    """Everyone who could see the images before: the public, the patient, their clinic's staff."""
    viewers = {"anonymous": app.test_client()}
    for key in ("a", "prac_x", "admin_x", "b", "prac_y"):
        viewers[key] = app.test_client()
        login(viewers[key], world[key].email)
    return viewers


def _urls(item):
    return [f"/c/clinic-x/g/{item.public_id}/{side}.jpg" for side in ("before", "after")] + \
           [f"/gallery/items/{item.id}/{side}.jpg" for side in ("before", "after")]


def _assert_all_404(viewers, item, etags=None):
    for name, viewer in viewers.items():
        for url in _urls(item):
            headers = {"If-None-Match": etags[url]} if etags and url in etags else {}
            response = viewer.get(url, headers=headers)
            expected = 302 if name == "anonymous" and url.startswith("/gallery/") else 404
            assert response.status_code == expected, (name, url, response.status_code)


@pytest.mark.parametrize("way", ["api", "consent page"])
def test_withdrawal_deletes_the_rendered_images_and_every_url_is_404(app, client, world, staff, patient, way):
    item, base, after = _published_item(app, client, world, staff, patient)
    keys = _image_keys(app, item.id)
    assert _stored(app, keys) == set(keys)
    viewers = _viewers(app, world)
    etags = {}
    for url in _urls(item):
        viewer = viewers["anonymous"] if url.startswith("/c/") else viewers["prac_x"]
        response = viewer.get(url)
        assert response.status_code == 200, url
        if "ETag" in response.headers:
            etags[url] = response.headers["ETag"]
    assert viewers["a"].get(f"/gallery/items/{item.id}/after.jpg").status_code == 200, "the patient's preview"
    consent_id = _gallery_consent_id(client, patient)
    if way == "api":
        assert client.post(f"/api/v1/me/consents/{consent_id}/withdraw", headers=patient).status_code == 200
    else:
        assert viewers["a"].post(f"/consent/{consent_id}/withdraw").status_code == 302
    assert _stored(app, keys) == set(), "rendered images deleted from storage"
    assert _on_disk(app, keys) == set(), "no file and no folder left on disk"
    originals = _photo_keys(app, base["id"], after["id"])
    assert _stored(app, originals) == set(originals), "the original photos and their derivatives stay"
    _assert_all_404(viewers, item, etags)
    with app.app_context():
        assert db.session.get(GalleryItem, item.id).status.value == "withdrawn"
    staff_page = viewers["prac_x"].get("/gallery/").get_data(as_text=True)
    assert f"/gallery/items/{item.id}/" not in staff_page and "published images are deleted" in staff_page
    patient_page = viewers["a"].get("/gallery/").get_data(as_text=True)
    assert f"/gallery/items/{item.id}/" not in patient_page


def test_a_rolled_back_withdrawal_keeps_the_images(app, client, world, staff, patient, monkeypatch):
    from sqlalchemy.exc import OperationalError

    item, _base, _after = _published_item(app, client, world, staff, patient)
    keys = _image_keys(app, item.id)
    consent_id = _gallery_consent_id(client, patient)
    commit = db.session.commit

    def failing_commit():
        if any(isinstance(obj, Consent) and obj.withdrawn_at is not None for obj in db.session.identity_map.values()):
            raise OperationalError("COMMIT", {}, Exception("database is locked"))
        commit()

    monkeypatch.setattr(db.session, "commit", failing_commit)
    response = client.post(f"/api/v1/me/consents/{consent_id}/withdraw", headers=patient)
    monkeypatch.undo()
    assert response.status_code >= 500
    assert _stored(app, keys) == set(keys), "nothing deleted for a withdrawal that did not happen"
    with app.app_context():
        assert db.session.get(Consent, consent_id).withdrawn_at is None
        assert db.session.get(GalleryItem, item.id).status.value == "published"
    assert app.test_client().get(f"/c/clinic-x/g/{item.public_id}/after.jpg").status_code == 200


def test_a_failed_delete_never_undoes_the_withdrawal_and_the_sweep_removes_the_leftovers(
        app, client, world, staff, patient, monkeypatch):
    from tracker.photos.maintenance import purge_orphans

    item, _base, _after = _published_item(app, client, world, staff, patient)
    keys = _image_keys(app, item.id)
    store = app.extensions["tracker_storage"]

    def unreachable(key):
        raise StorageError(5, f"could not delete {key}: connection reset")

    monkeypatch.setattr(store, "delete", unreachable)
    response = client.post(f"/api/v1/me/consents/{_gallery_consent_id(client, patient)}/withdraw", headers=patient)
    monkeypatch.undo()
    assert response.status_code == 200 and response.get_json()["status"] == "withdrawn"
    assert _stored(app, keys) == set(keys), "the delete failed"
    _assert_all_404(_viewers(app, world), item)
    with app.app_context():
        assert db.session.get(GalleryItem, item.id).status.value == "withdrawn"
        dry = purge_orphans(dry_run=True)
        assert sorted(dry.gallery_images_not_live) == sorted(keys) and not dry.clean
        assert _stored(app, keys) == set(keys)
        report = purge_orphans()  # whatever their age: a withdrawn item's images are never needed again
        assert sorted(report.gallery_images_not_live) == sorted(keys)
    assert _stored(app, keys) == set() and _on_disk(app, keys) == set()
    with app.app_context():
        assert purge_orphans().gallery_images_not_live == []


@pytest.mark.parametrize("ending", ["declined", "unpublished"])
def test_declining_or_taking_down_deletes_the_images_too(app, client, world, staff, patient, ending):
    item, _base, _after = _published_item(app, client, world, staff, patient)
    if ending == "declined":  # a second proposal, declined by the patient
        with app.app_context():
            db.session.get(GalleryItem, item.id).status = "unpublished"
            db.session.commit()
        login(client, world["prac_x"].email)
        first = client.post(f"/gallery/propose/{world['a'].area_id}", data={
            "before_id": item.before_photo_id, "after_id": item.after_photo_id})
        assert first.status_code == 302
        with app.app_context():
            item = db.session.scalars(sa.select(GalleryItem).where(GalleryItem.status == "awaiting_patient")).one()
        owner = app.test_client()
        login(owner, world["a"].email)
        assert owner.post(f"/gallery/items/{item.id}/decide", data={"approve": "0"}).status_code == 302
    else:
        login(client, world["prac_x"].email)
        assert client.post(f"/gallery/items/{item.id}/unpublish").status_code == 302
    keys = _image_keys(app, item.id)
    assert _stored(app, keys) == set() and _on_disk(app, keys) == set()
    with app.app_context():
        assert db.session.get(GalleryItem, item.id).status.value == ending
    _assert_all_404(_viewers(app, world), item)


def test_sweep_keeps_live_images_and_fresh_uploads_and_removes_old_ones_without_a_row(app, client, world, staff,
                                                                                      patient):
    from datetime import timedelta

    from tracker.photos.maintenance import purge_orphans

    item, _base, _after = _published_item(app, client, world, staff, patient)
    keys = _image_keys(app, item.id)
    stray = "gallery/0123456789abcdef0123456789abcdef/before.jpg"  # a proposal whose row never committed
    with app.app_context():
        storage().put(stray, b"\xff\xd8 rendered")
        fresh = purge_orphans(grace=timedelta(hours=1))
        assert stray not in fresh.objects_without_rows, "maybe a proposal still in flight"
        old = purge_orphans(grace=timedelta(0))
        assert stray in old.objects_without_rows and old.gallery_images_not_live == []
    assert _stored(app, keys) == set(keys), "a published item's images stay"
    assert _stored(app, [stray]) == set()


def test_gallery_preview_revalidation_reads_nothing_and_withdrawal_ends_it(app, client, world, staff, patient):
    item, _base, _after = _published_item(app, client, world, staff, patient)
    counting = count_reads(app)
    viewer = app.test_client()
    login(viewer, world["prac_x"].email)
    url = f"/gallery/items/{item.id}/before.jpg"
    first = viewer.get(url)
    assert first.status_code == 200 and len(counting.reads) == 1
    counting.reads.clear()
    again = viewer.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and counting.reads == []
    client.post(f"/api/v1/me/consents/{_gallery_consent_id(client, patient)}/withdraw", headers=patient)
    assert viewer.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 404


def test_other_patients_and_clinics_never_saw_the_preview(app, client, world, staff, patient):
    item, _base, _after = _published_item(app, client, world, staff, patient)
    for key in ("b", "prac_y", "admin_y"):
        viewer = app.test_client()
        login(viewer, world[key].email)
        assert viewer.get(f"/gallery/items/{item.id}/after.jpg").status_code == 404, key
