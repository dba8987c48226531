"""What the pipeline accepts and refuses, decided from content alone (catalogue UP2-UP8, UP10, UP12, UP17)."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import pytest
from PIL import Image, ImageFile, UnidentifiedImageError

from tracker.imaging import ImageRejected, Limits, formats, normalize, sniff_format, strip_check
from tracker.imaging.formats import open_image

from .helpers import encoded, fixture_bytes, noise_image

UNSUPPORTED = "Unsupported file type. Please upload a JPEG, PNG, WebP or HEIC photo."
CORRUPT = "The image is corrupted or incomplete."


def rejection(data: bytes, limits: Limits = Limits()) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        normalize(data, limits)
    return caught.value


def assert_rejected(data: bytes, code: str, status: int, message: str, limits: Limits = Limits()) -> None:
    error = rejection(data, limits)
    assert (error.code, error.http_status, error.message, str(error)) == (code, status, message, message)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes that declares ``width`` x ``height`` and carries a token IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(1 + 3 * min(width, 64)))
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (encoded(noise_image(), "JPEG"), "jpeg"),
        (encoded(noise_image(), "PNG"), "png"),
        (encoded(noise_image(), "WEBP"), "webp"),
        (fixture_bytes("heic/arrow.heic"), "heif"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", None),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1avif", None),
        (b"\x00\x00\x00\x14ftypmif1\x00\x00\x00\x00heic", "heif"),
        (b"", None),
        (b"\xff\xd8", None),
    ],
)
def test_sniff_format_reads_magic_bytes(data: bytes, expected: str | None) -> None:
    assert sniff_format(data) == expected


NOT_PHOTOS = {
    "text": b"just some text, named photo.jpg\n",
    "html": b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>',
    "pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
    "eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
    "psd": b"8BPS\x00\x01" + bytes(6) + b"\x00\x03\x00\x00\x00\x10\x00\x00\x00\x10\x00\x08\x00\x03",
    "jpeg2000": b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x14ftypjp2 ",
    "zip": b"PK\x03\x04" + bytes(26),
    "tiff": encoded(noise_image(), "TIFF"),
    "gif": encoded(noise_image().convert("P"), "GIF"),
    "bmp": encoded(noise_image(), "BMP"),
    "ico": encoded(noise_image(32, 32), "ICO"),
    "gif bomb fixture": fixture_bytes("malformed/decompression_bomb.gif"),
}


@pytest.mark.parametrize("data", NOT_PHOTOS.values(), ids=NOT_PHOTOS.keys())
def test_anything_but_the_four_photo_types_is_415(data: bytes) -> None:
    assert_rejected(data, "unsupported_type", 415, UNSUPPORTED)


def test_empty_upload_is_400() -> None:
    assert_rejected(b"", "empty", 400, "The file is empty.")


def test_upload_over_the_byte_limit_is_413_with_the_real_limit_in_the_message() -> None:
    assert_rejected(b"\xff\xd8\xff" + bytes(30 * 1024 * 1024), "too_large", 413, "The file is too large (max 30 MB).")
    photo = encoded(noise_image(), "JPEG")
    assert_rejected(photo, "too_large", 413, "The file is too large (max 1000 bytes).", Limits(max_bytes=1000))


def test_pixel_limit_is_checked_from_the_header_before_any_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decoding(*args: object) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    monkeypatch.setattr(formats, "decode_jpeg", no_decoding)
    monkeypatch.setattr(formats, "decode_heif", no_decoding)
    small_limit = Limits(max_pixels=1000)
    message = "Image dimensions too large (max 1000 pixels)."
    for photo in (
        encoded(noise_image(64, 48), "PNG"),
        png_header_only(100, 100),
        encoded(noise_image(64, 48), "JPEG"),
        encoded(noise_image(64, 48), "WEBP"),
        fixture_bytes("heic/xiaomi.heic"),
    ):
        assert_rejected(photo, "too_many_pixels", 400, message, small_limit)


@pytest.mark.parametrize("size", [(100_000, 100_000), (20_000, 20_000), (9_000, 9_000)])
def test_declared_giants_are_refused_by_default(size: tuple[int, int]) -> None:
    """UP7: a few-KB file declaring 10 GP, a legal but huge 400 MP, and 81 MP (between our 60 MP and
    Pillow's own bomb thresholds, where Pillow only warns)."""
    assert_rejected(png_header_only(*size), "too_many_pixels", 400, "Image dimensions too large (max 60 MP).")


def test_huge_jpeg_header_is_refused_before_decoding() -> None:
    photo = bytearray(encoded(noise_image(64, 48), "JPEG"))
    sof = photo.index(b"\xff\xc0")
    photo[sof + 5 : sof + 9] = struct.pack(">HH", 20_000, 20_000)
    assert_rejected(bytes(photo), "too_many_pixels", 400, "Image dimensions too large (max 60 MP).")


def test_bomb_warning_is_refused_even_where_warnings_are_ignored() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        error = rejection(png_header_only(9_000, 9_000), Limits(max_pixels=100_000_000))
    assert error.code == "too_many_pixels"


def test_pillow_bomb_limit_is_not_weaker_than_ours() -> None:
    assert Image.MAX_IMAGE_PIXELS is not None
    assert Image.MAX_IMAGE_PIXELS <= Limits().max_pixels
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize(
    ("fixture", "code"),
    [
        ("malformed/truncated_jpeg.jpg", "corrupt"),
        ("malformed/ultrahdr.jpg", "corrupt"),
        ("malformed/truncated_image.png", "corrupt"),
        ("malformed/png_decompression_dos.png", "corrupt"),
        ("malformed/corrupted.heic", "corrupt"),
        ("malformed/decompression_bomb.gif", "unsupported_type"),  # GIF is never handed to a decoder
    ],
)
def test_every_malformed_fixture_is_refused(fixture: str, code: str) -> None:
    assert rejection(fixture_bytes(fixture)).code == code


def truncated(data: bytes, fraction: float = 0.5) -> bytes:
    return data[: int(len(data) * fraction)]


@pytest.mark.parametrize(
    "data",
    [
        truncated(fixture_bytes("orientation/Landscape_6.jpg")),
        truncated(encoded(noise_image(), "JPEG", progressive=True)),
        truncated(encoded(noise_image(), "PNG")),
        truncated(encoded(noise_image(256, 256), "WEBP")),
        truncated(fixture_bytes("heic/arrow.heic")),
        truncated(fixture_bytes("heic/xiaomi.heic"), 0.95),
    ],
    ids=["jpeg", "progressive jpeg", "png", "webp", "heic", "heic 95%"],
)
def test_truncated_files_are_corrupt(data: bytes) -> None:
    """UP8, UP17. libheif would paint missing HEIC tiles green; the box-structure check refuses it instead."""
    assert_rejected(data, "corrupt", 400, CORRUPT)


def test_magic_bytes_of_an_accepted_type_with_a_broken_body_are_corrupt_not_unsupported() -> None:
    assert rejection(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20).code == "corrupt"
    assert rejection(b"\xff\xd8\xff\xe0" + b"garbage" * 20).code == "corrupt"
    assert rejection(b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"garbage" * 20).code == "corrupt"


def test_polyglot_with_html_after_the_end_of_image_is_accepted_only_as_a_re_encoding() -> None:
    """UP6: the payload after EOI and one inside a JPEG comment segment never reach our outputs."""
    payload = b"<html><script>alert('polyglot')</script></html>"
    photo = encoded(noise_image(320, 240), "JPEG", comment=payload) + payload
    result = normalize(photo)
    for output in (result.display, result.thumb):
        assert payload not in output and b"<script" not in output
        assert not strip_check(output)["comment"]


def test_content_decides_not_the_name_or_declared_type() -> None:
    """UP3: PNG bytes are a PNG whatever they are called; nothing here ever sees a file name."""
    assert normalize(encoded(noise_image(), "PNG")).format == "png"


def test_open_image_only_lets_the_sniffed_plugin_parse() -> None:
    with pytest.raises(UnidentifiedImageError):
        open_image(encoded(noise_image(), "TIFF"), "jpeg", Limits())


def test_rejection_repr_and_attributes() -> None:
    error = rejection(b"")
    assert repr(error) == "ImageRejected('empty', 'The file is empty.', 400)"
    assert isinstance(error, Exception)


def test_accepted_types_come_back_as_jpeg() -> None:
    for fmt, data in {
        "jpeg": encoded(noise_image(), "JPEG"),
        "png": encoded(noise_image(), "PNG"),
        "webp": encoded(noise_image(), "WEBP"),
        "heif": fixture_bytes("heic/xiaomi.heic"),
    }.items():
        result = normalize(data)
        assert result.format == fmt
        for output in (result.display, result.thumb):
            with Image.open(io.BytesIO(output)) as image:
                assert (image.format, image.mode) == ("JPEG", "RGB")
