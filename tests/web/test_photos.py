"""Photo upload, storage and serving, end to end through the API and the pages, on real fixture files."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image, ImageChops, ExifTags

from tests.factories import api_token, fixture_bytes, login, upload
from tracker.extensions import db
from tracker.imaging import strip_check
from tracker.models import Photo

ACCEPTED = [
    "orientation/Landscape_6.jpg", "orientation/Portrait_3.jpg", "heic/arrow.heic", "heic/IMG_5195.HEIC",
    "heic/xiaomi.heic", "gps/iphone_hdr_NO.jpg", "gps/67-0_length_string.jpg", "color/P1133897_AdobeRGB.jpg",
    "color/pil_sample_cmyk.jpg", "color/rgb-to-gbr-test.jpg", "bitdepth/i_trns.png", "bitdepth/apng_mode_16bit.png",
    "skin/Normal_Epidermis_and_Dermis_with_Intradermal_Nevus_10x.jpg",
]
MALFORMED = {
    "malformed/truncated_jpeg.jpg": (400, "corrupt"),
    "malformed/ultrahdr.jpg": (400, "corrupt"),
    "malformed/truncated_image.png": (400, "corrupt"),
    "malformed/decompression_bomb.gif": (415, "unsupported_type"),
    "malformed/png_decompression_dos.png": (400, "corrupt"),
    "malformed/corrupted.heic": (400, "corrupt"),
}


def stored_files(app) -> list[str]:
    root = Path(app.config["TRACKER_UPLOAD_DIR"])
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def photo_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Photo))


def image_of(response) -> Image.Image:
    return Image.open(io.BytesIO(response.data))


@pytest.mark.parametrize("name", ACCEPTED)
def test_every_good_fixture_is_accepted_upright_and_stripped(app, client, world, staff, name):
    data = fixture_bytes(name)
    response = upload(client, world["a"].area_id, data, headers=staff, taken_on="2026-01-10", filename=Path(name).name)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "ready" and body["sha256"] == __import__("hashlib").sha256(data).hexdigest()
    original = client.get(body["images"]["original"], headers=staff)
    assert original.data == data, "the original is kept byte for byte"
    for variant in ("display", "thumb"):
        served = client.get(body["images"][variant], headers=staff)
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        assert not any(strip_check(served.data).values()), strip_check(served.data)
        im = image_of(served)
        assert im.mode == "RGB"
        assert (im.width >= im.height) == (body["width"] >= body["height"]), "orientation kept"


def test_orientation_6_ends_upright(app, client, world, staff):
    body = upload(client, world["a"].area_id, fixture_bytes("orientation/Landscape_6.jpg"), headers=staff,
                  taken_on="2026-01-10").get_json()
    assert (body["width"], body["height"]) == (1800, 1200)
    display = image_of(client.get(body["images"]["display"], headers=staff)).convert("L").resize((180, 120))
    reference = Image.open(io.BytesIO(fixture_bytes("orientation/Landscape_1.jpg"))).convert("L").resize((180, 120))
    diff = ImageChops.difference(display, reference)
    assert sum(diff.get_flattened_data()) / (180 * 120) < 5


def test_iphone_heic_rotates_once_and_loses_gps(app, client, world, staff):
    body = upload(client, world["a"].area_id, fixture_bytes("heic/arrow.heic"), headers=staff,
                  filename="IMG_0001.HEIC", content_type="image/heic").get_json()
    assert (body["width"], body["height"]) == (3024, 4032)
    assert body["taken_on"] == "2018-07-31" and body["taken_on_source"] == "exif"
    gps = upload(client, world["a"].area_id, fixture_bytes("heic/IMG_5195.HEIC"), headers=staff).get_json()
    display = client.get(gps["images"]["display"], headers=staff)
    assert not image_of(display).getexif().get_ifd(ExifTags.IFD.GPSInfo)


@pytest.mark.parametrize(("name", "expected"), MALFORMED.items())
def test_malformed_files_are_refused_and_nothing_is_stored(app, client, world, staff, name, expected):
    before = stored_files(app)
    response = upload(client, world["a"].area_id, fixture_bytes(name), headers=staff, taken_on="2026-01-10")
    assert (response.status_code, response.get_json()["error"]["code"]) == expected
    assert photo_count(app) == 0 and stored_files(app) == before


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


@pytest.mark.parametrize(("data", "filename", "content_type"), [
    (b"just some text, honestly a jpeg", "photo.jpg", "image/jpeg"),
    (HTML, "photo.jpg", "image/jpeg"),
    (SVG, "photo.svg", "image/svg+xml"),
    (SVG, "photo.jpg", "image/jpeg"),
    (b"%PDF-1.7\n1 0 obj<<>>endobj", "scan.pdf", "application/pdf"),
    (b"%!PS-Adobe-3.0 EPSF-3.0\n", "x.eps", "image/jpeg"),
    (b"8BPS\x00\x01" + b"\x00" * 40, "x.psd", "image/jpeg"),
])
def test_non_images_get_415_naming_the_formats(app, client, world, staff, data, filename, content_type):
    response = upload(client, world["a"].area_id, data, headers=staff, filename=filename, content_type=content_type)
    assert response.status_code == 415
    assert "JPEG, PNG, WebP or HEIC" in response.get_json()["error"]["message"]
    assert photo_count(app) == 0 and stored_files(app) == []


def test_tiff_is_refused(app, client, world, staff):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(buffer, "TIFF")
    assert upload(client, world["a"].area_id, buffer.getvalue(), headers=staff).status_code == 415


def test_empty_file_is_400(app, client, world, staff):
    response = upload(client, world["a"].area_id, b"", headers=staff)
    assert response.status_code == 400 and response.get_json()["error"]["message"] == "The file is empty."


def test_too_large_is_413(app_factory, world_factory=None):
    app = app_factory(TRACKER_MAX_UPLOAD_MB=1)
    from tests.factories import build_world

    with app.app_context():
        world = build_world()
    client = app.test_client()
    headers = api_token(client, world["prac_x"].email)
    data = fixture_bytes("gps/iphone_hdr_NO.jpg")  # 1.9 MB
    response = upload(client, world["a"].area_id, data, headers=headers)
    assert response.status_code == 413
    assert response.get_json()["error"]["message"] == "The file is too large (max 1 MB)."
    assert photo_count(app) == 0


def test_patient_storage_quota_is_413_and_touches_nothing(app, client, world, staff):
    """Catalogue UP16 / ASVS 5.2.4: past the record's quota an upload is refused; what is stored stays."""
    first = fixture_bytes("orientation/Landscape_6.jpg")
    second = fixture_bytes("orientation/Portrait_3.jpg")
    app.config["TRACKER_PATIENT_QUOTA_BYTES"] = len(first) + len(second) - 1
    kept = upload(client, world["a"].area_id, first, headers=staff, taken_on="2026-01-10")
    assert kept.status_code == 201
    files_before = stored_files(app)
    refused = upload(client, world["a"].area_id, second, headers=staff, taken_on="2026-02-10")
    assert refused.status_code == 413
    error = refused.get_json()["error"]
    assert error["code"] == "quota_exceeded" and error["message"].startswith("Storage quota reached")
    assert photo_count(app) == 1 and stored_files(app) == files_before
    assert client.get(f"/api/v1/photos/{kept.get_json()['id']}/image/display", headers=staff).status_code == 200
    # another patient's record has its own quota
    assert upload(client, world["b"].area_id, second, headers=staff, taken_on="2026-02-10").status_code == 201
    # deleting a photo frees its share
    assert client.delete(f"/api/v1/photos/{kept.get_json()['id']}", headers=staff).status_code == 204
    assert upload(client, world["a"].area_id, second, headers=staff, taken_on="2026-02-10").status_code == 201


def test_too_many_pixels_is_400_before_decoding(app_factory):
    app = app_factory(TRACKER_MAX_PIXELS=1_000_000)
    from tests.factories import build_world

    with app.app_context():
        world = build_world()
    client = app.test_client()
    headers = api_token(client, world["prac_x"].email)
    response = upload(client, world["a"].area_id, fixture_bytes("gps/iphone_hdr_NO.jpg"), headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "Image dimensions too large (max 1 MP)."


def test_jpeg_with_html_appended_is_stored_and_served_only_reencoded(app, client, world, staff):
    payload = b"<html><script>alert('polyglot')</script></html>"
    data = fixture_bytes("orientation/Landscape_1.jpg") + payload
    body = upload(client, world["a"].area_id, data, headers=staff, taken_on="2026-01-10").get_json()
    for variant in ("display", "thumb"):
        served = client.get(body["images"][variant], headers=staff)
        assert payload not in served.data and served.headers["X-Content-Type-Options"] == "nosniff"
    original = client.get(body["images"]["original"], headers=staff)
    assert original.headers["Content-Disposition"].startswith("attachment;")
    assert original.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.parametrize("filename", ["../../app/config.py", "..\\..\\x.jpg", "/etc/passwd", "a.php\x00.jpg",
                                      "line%0D%0Abreak.jpg", "x" * 10_000 + ".jpg", "x\u202egpj.exe", "CON.jpg"])
def test_hostile_filenames_never_reach_storage(app, client, world, staff, filename):
    response = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=staff,
                      filename=filename)
    assert response.status_code == 201
    files = stored_files(app)
    assert all(f.startswith("photos/") and ".." not in f for f in files)
    with app.app_context():
        photo = db.session.scalars(sa.select(Photo)).one()
        assert len(photo.client_filename) <= 255
        assert not any(ch in photo.client_filename for ch in "/\\\x00\r\n\u202e")
        assert photo.storage_id in files[0]


def test_photo_for_another_patients_area_is_404_and_stores_nothing(app, client, world, patient, staff):
    data = fixture_bytes("color/P1133897_sRGB.jpg")
    assert upload(client, world["b"].area_id, data, headers=patient).status_code == 404
    assert upload(client, world["c"].area_id, data, headers=staff).status_code == 404
    assert photo_count(app) == 0 and stored_files(app) == []


def test_patient_uploads_to_own_area_and_date_comes_from_exif(client, world, patient):
    response = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=patient,
                      view="close_up", note="After the shower")
    body = response.get_json()
    assert response.status_code == 201
    assert body["taken_on"] == "2020-03-19" and body["taken_on_source"] == "exif"
    assert body["view"] == "close_up" and body["note"] == "After the shower"


def test_photo_without_a_date_asks_for_one(app, client, world, staff):
    response = upload(client, world["a"].area_id, fixture_bytes("orientation/Landscape_1.jpg"), headers=staff)
    assert response.status_code == 422
    assert "taken_on" in response.get_json()["error"]["fields"]
    assert photo_count(app) == 0 and stored_files(app) == []


@pytest.mark.parametrize(("taken_on", "status"), [("2999-01-01", 422), ("1989-12-31", 422), ("1980-01-01", 422),
                                                  ("yesterday", 422), ("2026-02-30", 422), ("2025-06-01", 201)])
def test_taken_on_is_validated(app, client, world, staff, taken_on, status):
    response = upload(client, world["a"].area_id, fixture_bytes("orientation/Landscape_1.jpg"), headers=staff,
                      taken_on=taken_on)
    assert response.status_code == status, response.get_json()
    if status != 201:
        assert photo_count(app) == 0 and stored_files(app) == []


def test_view_must_be_one_of_the_areas_views(app, client, world, staff):
    response = upload(client, world["a"].area_id, fixture_bytes("orientation/Landscape_1.jpg"), headers=staff,
                      taken_on="2026-01-10", view="left_oblique")
    assert response.status_code == 422 and "view" in response.get_json()["error"]["fields"]


def test_duplicate_upload_is_409_with_link(app, client, world, staff):
    data = fixture_bytes("color/P1133897_sRGB.jpg")
    first = upload(client, world["a"].area_id, data, headers=staff).get_json()
    again = upload(client, world["a"].area_id, data, headers=staff)
    assert again.status_code == 409
    assert again.get_json()["error"]["photo_id"] == first["id"]
    assert photo_count(app) == 1 and len(stored_files(app)) == 3
    other_area = upload(client, world["b"].area_id, data, headers=staff)
    assert other_area.status_code == 201, "the same bytes in another area are a different photo"


def test_missing_file_field_is_422(client, world, staff):
    response = client.post(f"/api/v1/areas/{world['a'].area_id}/photos", headers=staff, data={"taken_on": "2026-01-01"},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "file" in response.get_json()["error"]["fields"]


def test_serving_headers_etag_and_304(client, world, staff):
    body = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=staff).get_json()
    response = client.get(body["images"]["display"], headers=staff)
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert response.headers["Content-Disposition"].startswith("inline;")
    etag = response.headers["ETag"]
    again = client.get(body["images"]["display"], headers={**staff, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


def test_images_need_access_on_every_request(client, world, staff):
    body = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=staff).get_json()
    other = api_token(client, world["prac_y"].email)
    patient_b = api_token(client, world["b"].email)
    for variant, url in body["images"].items():
        for headers in (other, patient_b):
            denied = client.get(url, headers={**headers, "Range": "bytes=0-100"})
            assert denied.status_code == 404 and b"\xff\xd8" not in denied.data
            assert client.head(url, headers=headers).status_code == 404
        assert client.get(url).status_code == 401
    assert client.get(f"/photos/{body['id']}/image/display").status_code == 302


def test_uploads_are_never_served_from_a_static_path(app, client, world, staff):
    body = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=staff).get_json()
    with app.app_context():
        photo = db.session.get(Photo, body["id"])
        key = photo.key("original")
    for url in (f"/uploads/{key}", f"/static/../uploads/{key}", f"/static/{key}"):
        assert client.get(url).status_code == 404


def test_patch_and_delete(app, client, world, staff, patient):
    body = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg"), headers=staff).get_json()
    url = f"/api/v1/photos/{body['id']}"
    changed = client.patch(url, headers=patient, json={"taken_on": "2026-02-01", "view": "front", "note": "<b>hi</b>"})
    assert changed.status_code == 200
    assert changed.get_json()["taken_on"] == "2026-02-01" and changed.get_json()["taken_on_source"] == "user"
    for bad in ({"taken_on": "2999-01-01"}, {"view": "left_oblique"}, {"sha256": "0" * 64}, {"area_id": 3},
                {"taken_on": None}):
        assert client.patch(url, headers=staff, json=bad).status_code == 422, bad
    assert client.get(url, headers=staff).get_json()["note"] == "<b>hi</b>"
    assert client.patch(url, headers=api_token(client, world["b"].email), json={"note": "x"}).status_code == 404
    assert client.delete(url, headers=api_token(client, world["prac_y"].email)).status_code == 404
    assert client.delete(url, headers=patient).status_code == 204
    assert client.get(url, headers=staff).status_code == 404
    assert client.get(f"/api/v1/areas/{world['a'].area_id}/photos", headers=staff).get_json() == []
    assert len(stored_files(app)) == 3, "deleting hides the photo; its bytes wait for purge-deleted"


def test_area_listing_is_in_taken_on_order(client, world, staff):
    for name, day in (("color/P1133897_sRGB.jpg", "2026-03-01"), ("orientation/Landscape_1.jpg", "2026-01-01"),
                      ("orientation/Portrait_1.jpg", "2026-02-01")):
        upload(client, world["a"].area_id, fixture_bytes(name), headers=staff, taken_on=day)
    listed = client.get(f"/api/v1/areas/{world['a'].area_id}/photos", headers=staff).get_json()
    assert [p["taken_on"] for p in listed] == ["2026-01-01", "2026-02-01", "2026-03-01"]


def test_concurrent_uploads_to_the_same_area(app, world):
    names = ["orientation/Landscape_1.jpg", "orientation/Landscape_2.jpg", "orientation/Landscape_3.jpg",
             "orientation/Portrait_1.jpg", "orientation/Portrait_2.jpg", "color/P1133897_sRGB.jpg"]
    client = app.test_client()
    headers = api_token(client, world["prac_x"].email)
    results: list[int] = []

    def send(name: str) -> None:
        results.append(upload(app.test_client(), world["a"].area_id, fixture_bytes(name), headers=headers,
                              taken_on="2026-01-10").status_code)

    threads = [threading.Thread(target=send, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] * len(names)
    with app.app_context():
        photos = db.session.scalars(sa.select(Photo)).all()
        assert len({p.storage_id for p in photos}) == len(names)
    files = stored_files(app)
    for photo in photos:
        assert {f"photos/{photo.storage_id}/{name}" for name in ("original", "display.jpg", "thumb.jpg")} <= set(files)


def test_a_retry_with_the_same_idempotency_key_returns_the_saved_photo(app, client, world, staff):
    """Catalogue DL2: the answer to an upload was lost and the phone resends it — one row, one blob, 200 with
    the same id; the key reused for other bytes or another area is refused and stores nothing."""
    data = fixture_bytes("orientation/Landscape_6.jpg")
    key = {"Idempotency-Key": "2b0c8d0e-6c1f-4b4e-9a55-0c3f3f0b7d11"}
    first = upload(client, world["a"].area_id, data, headers={**staff, **key}, taken_on="2026-01-10")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    files = stored_files(app)
    again = upload(client, world["a"].area_id, data, headers={**staff, **key}, taken_on="2026-01-10")
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert photo_count(app) == 1 and stored_files(app) == files
    other_bytes = upload(client, world["a"].area_id, fixture_bytes("orientation/Portrait_3.jpg"),
                         headers={**staff, **key}, taken_on="2026-01-10")
    assert other_bytes.status_code == 422
    assert other_bytes.get_json()["error"]["code"] == "idempotency_key_reused"
    without_key = upload(client, world["a"].area_id, data, headers=staff, taken_on="2026-01-10")
    assert without_key.status_code == 409, "without a key the same bytes are still a duplicate"
    for bad in ("", "x" * 256, "naïve", "tab\there"):
        refused = upload(client, world["a"].area_id, fixture_bytes("orientation/Portrait_3.jpg"),
                         headers={**staff, "Idempotency-Key": bad}, taken_on="2026-01-10")
        assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "bad_idempotency_key", bad
    assert photo_count(app) == 1 and stored_files(app) == files
    # keys belong to one patient's record: the same key for another patient is a new upload
    assert upload(client, world["b"].area_id, data, headers={**staff, **key}, taken_on="2026-01-10").status_code == 201
    # after the photo is deleted, a late retry does not bring it back
    client.delete(f"/api/v1/photos/{first.get_json()['id']}", headers=staff)
    late = upload(client, world["a"].area_id, data, headers={**staff, **key}, taken_on="2026-01-10")
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "deleted"


def test_the_upload_page_replays_too(app, client, world):
    login(client, world["prac_x"].email)
    data = fixture_bytes("orientation/Landscape_6.jpg")
    key = {"Idempotency-Key": "page-upload-1"}
    from werkzeug.datastructures import FileStorage

    def send():
        return client.post(f"/photos/area/{world['a'].area_id}", headers={"Accept": "application/json", **key},
                           data={"file": FileStorage(io.BytesIO(data), filename="a.jpg", content_type="image/jpeg"),
                                 "taken_on": "2026-01-10"}, content_type="multipart/form-data")

    first, again = send(), send()
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["replayed"] is True and again.get_json()["photo"]["id"] == first.get_json()["photo"]["id"]
    assert photo_count(app) == 1


def test_simultaneous_retries_with_one_key_store_one_photo(app, world):
    client = app.test_client()
    headers = {**api_token(client, world["prac_x"].email), "Idempotency-Key": "same-photo-four-times"}
    data = fixture_bytes("orientation/Landscape_6.jpg")
    answers: list[tuple[int, int]] = []

    def send() -> None:
        response = upload(app.test_client(), world["a"].area_id, data, headers=headers, taken_on="2026-01-10")
        answers.append((response.status_code, response.get_json().get("id")))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(code for code, _ in answers) == [200, 200, 200, 201]
    assert len({photo_id for _, photo_id in answers}) == 1
    assert photo_count(app) == 1
    originals = [f for f in stored_files(app) if f.endswith("/original")]
    assert len(originals) == 1, "the losers' bytes are removed"


def test_quality_warning_for_a_blurred_photo(client, world, staff):
    from PIL import ImageFilter

    buffer = io.BytesIO()
    Image.open(io.BytesIO(fixture_bytes("gps/iphone_hdr_NO.jpg"))).filter(ImageFilter.GaussianBlur(12)).save(
        buffer, "JPEG", quality=90)
    response = upload(client, world["a"].area_id, buffer.getvalue(), headers=staff, taken_on="2026-01-10")
    assert response.status_code == 201, "quality never refuses a photo"
    assert any("blur" in w for w in response.get_json()["warnings"])


def test_page_upload_flow_with_progress_json(app, client, world):
    login(client, world["a"].email)
    response = upload(client, world["a"].area_id, fixture_bytes("heic/xiaomi.heic"), filename="IMG.heic")
    assert response.status_code == 201
    body = response.get_json()
    assert body["photo"]["taken_on"] == "2023-04-27" and body["url"] == f"/photos/{body['photo']['id']}"
    page = client.get(f"/patients/{world['a'].patient_id}/areas/{world['a'].area_id}").get_data(as_text=True)
    assert f"/photos/{body['photo']['id']}/image/thumb" in page and 'loading="lazy"' in page
    detail = client.get(body["url"]).get_data(as_text=True)
    assert "date read from the photo" in detail
    refused = upload(client, world["a"].area_id, b"not an image")
    assert refused.status_code == 415 and refused.is_json


def test_page_upload_without_javascript_handles_many_files(app, client, world):
    login(client, world["prac_x"].email)
    files = [(io.BytesIO(fixture_bytes("color/P1133897_sRGB.jpg")), "good.jpg"),
             (io.BytesIO(b"junk"), "bad.jpg"),
             (io.BytesIO(fixture_bytes("orientation/Landscape_8.jpg")), "nodate.jpg")]
    response = client.post(f"/photos/area/{world['a'].area_id}", data={"file": files},
                           content_type="multipart/form-data", follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "good.jpg: saved, taken on 2020-03-19 (date read from the photo)." in text
    assert "bad.jpg: Unsupported file type." in text
    assert "nodate.jpg: This photo carries no date." in text
    assert photo_count(app) == 1


def test_photo_detail_edit_and_delete_pages(app, client, world):
    login(client, world["a"].email)
    body = upload(client, world["a"].area_id, fixture_bytes("color/P1133897_sRGB.jpg")).get_json()
    pid = body["photo"]["id"]
    response = client.post(f"/photos/{pid}/edit", data={"taken_on": "2026-01-02", "view": "front", "note": "ok"})
    assert response.status_code == 302
    bad = client.post(f"/photos/{pid}/edit", data={"taken_on": "2999-01-02"})
    assert bad.status_code == 400 and "cannot be in the future" in bad.get_data(as_text=True)
    other = app.test_client()
    login(other, world["b"].email)
    assert other.get(f"/photos/{pid}").status_code == 404
    assert other.post(f"/photos/{pid}/delete").status_code == 404
    assert client.post(f"/photos/{pid}/delete").status_code == 302
    assert client.get(f"/photos/{pid}").status_code == 404


@pytest.mark.parametrize(("raw", "shown"), [
    ("../../app/config.py", "config.py"), ("..\\..\\x.jpg", "x.jpg"), ("line\r\nbreak.jpg", "linebreak.jpg"),
    ("a.php\x00.jpg", "a.php.jpg"), ("x\u202egpj.exe", "xgpj.exe"), (None, ""), ("y" * 300, "y" * 255),
])
def test_display_filename(raw, shown):
    from tracker.photos.services import display_filename

    assert display_filename(raw) == shown


def test_uploads_are_rate_limited_per_person(app_factory):
    from tests.factories import build_world, small_jpeg

    app = app_factory(TRACKER_UPLOAD_LIMIT="3 per minute")
    with app.app_context():
        world = build_world()
    client = app.test_client()
    headers = api_token(client, world["prac_x"].email)
    statuses = [upload(client, world["a"].area_id, small_jpeg(i), headers=headers, taken_on="2026-01-01").status_code
                for i in range(4)]
    assert statuses == [201, 201, 201, 429]
    other = api_token(client, world["admin_x"].email)
    assert upload(client, world["a"].area_id, small_jpeg(9), headers=other, taken_on="2026-01-01").status_code == 201


def test_explicit_date_overrides_exif_but_page_date_is_only_a_fallback(client, world, staff):
    data = fixture_bytes("color/P1133897_sRGB.jpg")  # EXIF says 2020-03-19
    api = upload(client, world["a"].area_id, data, headers=staff, taken_on="2026-01-05").get_json()
    assert (api["taken_on"], api["taken_on_source"]) == ("2026-01-05", "user")
    login(client, world["prac_x"].email)
    page = upload(client, world["b"].area_id, data, taken_on="2026-01-05").get_json()["photo"]
    assert (page["taken_on"], page["taken_on_source"]) == ("2020-03-19", "exif")
    no_exif = upload(client, world["b"].area_id, fixture_bytes("orientation/Portrait_1.jpg"),
                     taken_on="2026-01-05").get_json()["photo"]
    assert (no_exif["taken_on"], no_exif["taken_on_source"]) == ("2026-01-05", "user")
