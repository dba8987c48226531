"""Reading the few metadata facts we keep (orientation, capture time) and auditing outputs for leftovers.

Metadata in uploads is attacker-controlled and often simply broken (blank dates, zero dates, odd types),
so every read here degrades to "unknown" rather than failing the upload. Nothing read here is ever written
back into an output file.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np
from PIL import ExifTags, Image

from .formats import DECODE_ERRORS, sniff_format, tolerant_pillow

_TAG_ORIENTATION = 0x0112
_TAG_DATETIME = 0x0132
_TAG_DATETIME_ORIGINAL = 0x9003

# Pillow's TIFF/EXIF directory parser raises these on garbage in addition to the decoder errors.
_EXIF_ERRORS = (*DECODE_ERRORS, KeyError, IndexError, TypeError)

_EXIF_DATE = re.compile(r"(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
# Clocks reset to 0000:00:00 or to a firmware epoch are common; anything outside this window is not a date
# a clinic photo was taken on.
EARLIEST_PLAUSIBLE_YEAR = 1900
LATEST_PLAUSIBLE_YEAR = 2100

# EXIF orientation -> the array operation that makes the stored pixels upright (the geometry of
# ImageOps.exif_transpose, done by OpenCV, about twice as fast as Pillow's transpose).
# 0, 1 and any invalid value mean "already upright".
_UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: cv2.flip(a, 1),
    3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
    4: lambda a: cv2.flip(a, 0),
    5: cv2.transpose,
    6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    7: lambda a: cv2.rotate(cv2.transpose(a), cv2.ROTATE_180),
    8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
}
_SWAPS_AXES = {5, 6, 7, 8}


@dataclass(frozen=True)
class PhotoFacts:
    """What we take from an upload's metadata."""

    orientation: int
    taken_at: datetime | None

    def upright(self, pixels: np.ndarray) -> np.ndarray:
        operation = _UPRIGHT.get(self.orientation)
        return pixels if operation is None else operation(pixels)

    def upright_size(self, stored: tuple[int, int]) -> tuple[int, int]:
        return (stored[1], stored[0]) if self.orientation in _SWAPS_AXES else stored


def read_facts(im: Image.Image, fmt: str) -> PhotoFacts:
    """Orientation and capture time from an opened (and, for PNG, loaded) image.

    HEIF orientation lives in the container (irot/imir), which pillow-heif has already applied while
    decoding; an EXIF orientation inside a HEIF is ignored, as the HEIF spec requires, so nothing is ever
    rotated twice.
    """
    exif = _exif(im)
    orientation = 1 if fmt == "heif" else _orientation(exif)
    return PhotoFacts(orientation=orientation, taken_at=_taken_at(exif))


def _exif(im: Image.Image) -> Image.Exif:
    try:
        exif = im.getexif()
        exif.get_ifd(ExifTags.IFD.Exif)  # parse the sub-IFD now, so its errors surface inside this guard
        return exif
    except _EXIF_ERRORS:
        return Image.Exif()


def _orientation(exif: Image.Exif) -> int:
    value = exif.get(_TAG_ORIENTATION)
    return value if isinstance(value, int) and value in _UPRIGHT else 1


def _taken_at(exif: Image.Exif) -> datetime | None:
    try:
        original = exif.get_ifd(ExifTags.IFD.Exif).get(_TAG_DATETIME_ORIGINAL)
    except _EXIF_ERRORS:
        original = None
    return parse_exif_datetime(original) or parse_exif_datetime(exif.get(_TAG_DATETIME))


def parse_exif_datetime(value: object) -> datetime | None:
    """'YYYY:MM:DD HH:MM:SS' (as cameras write it, possibly NUL-padded) to a naive datetime, else None."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    match = _EXIF_DATE.match(value.strip("\x00 \t\r\n"))
    if match is None:
        return None
    try:
        parsed = datetime(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    if not EARLIEST_PLAUSIBLE_YEAR <= parsed.year <= LATEST_PLAUSIBLE_YEAR:
        return None
    return parsed


# --- auditing outputs ---------------------------------------------------------------------------------

_JPEG_APP_KINDS = (
    (0xE1, b"Exif\x00", "exif"),
    (0xE1, b"http://ns.adobe.com/xap/1.0/", "xmp"),
    (0xE1, b"http://ns.adobe.com/xmp/extension/", "xmp"),
    (0xE2, b"ICC_PROFILE\x00", "icc"),
    (0xED, b"Photoshop 3.0\x00", "iptc"),
)
_STANDALONE_MARKERS = {0x01, *range(0xD0, 0xD8)}


def strip_check(data: bytes) -> dict[str, bool]:
    """Which kinds of metadata a file carries: exif, gps, xmp, icc, iptc, comment, other_app.

    For JPEG the marker segments are walked directly (so nothing Pillow ignores can hide); other types are
    judged by what Pillow surfaces. ``not any(strip_check(b).values())`` means the file is clean.
    """
    found = dict.fromkeys(("exif", "gps", "xmp", "icc", "iptc", "comment", "other_app"), False)
    if sniff_format(data) == "jpeg":
        found.update(_jpeg_segments(data))
    with tolerant_pillow(), Image.open(io.BytesIO(data)) as im:
        info = im.info
        found["exif"] |= "exif" in info
        found["xmp"] |= "xmp" in info or "XML:com.adobe.xmp" in info
        found["icc"] |= bool(info.get("icc_profile"))
        found["comment"] |= "comment" in info
        found["gps"] = bool(_exif(im).get_ifd(ExifTags.IFD.GPSInfo))
    return found


def _jpeg_segments(data: bytes) -> dict[str, bool]:
    found: dict[str, bool] = {}
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in _STANDALONE_MARKERS or marker == 0xFF:
            pos += 1 if marker == 0xFF else 2
            continue
        if marker == 0xDA:  # start of scan: no more metadata segments before the entropy-coded data
            break
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        _classify_segment(marker, data[pos + 4 : pos + 2 + length], found)
        pos += 2 + length
    return found


def _classify_segment(marker: int, body: bytes, found: dict[str, bool]) -> None:
    if marker == 0xFE:
        found["comment"] = True
        return
    for app, prefix, kind in _JPEG_APP_KINDS:
        if marker == app and body.startswith(prefix):
            found[kind] = True
            return
    if 0xE1 <= marker <= 0xEF:  # APP0 is JFIF, harmless; any other APPn is unexpected in our output
        found["other_app"] = True
