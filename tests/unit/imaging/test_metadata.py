"""Capture-time parsing and the metadata audit used on our outputs."""

from __future__ import annotations

from datetime import datetime

import pytest
from PIL import Image

from tracker.imaging import strip_check
from tracker.imaging.metadata import parse_exif_datetime

from .helpers import encoded, fixture_bytes, noise_image


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020:03:19 17:40:54", datetime(2020, 3, 19, 17, 40, 54)),
        ("2020:03:19 17:40:54\x00", datetime(2020, 3, 19, 17, 40, 54)),
        (" 2020:03:19 17:40:54 ", datetime(2020, 3, 19, 17, 40, 54)),
        (b"2021:04:11 15:47:53", datetime(2021, 4, 11, 15, 47, 53)),
        ("2020-03-19T17:40:54", datetime(2020, 3, 19, 17, 40, 54)),
        ("2020:03:19 17:40:54.123+02:00", datetime(2020, 3, 19, 17, 40, 54)),
        ("0000:00:00 00:00:00", None),
        ("    :  :     :  :  ", None),
        ("2020:13:01 00:00:00", None),
        ("2020:02:30 00:00:00", None),
        ("2020:01:01 25:00:00", None),
        ("1850:01:01 00:00:00", None),
        ("9999:01:01 00:00:00", None),
        ("<script>alert(1)</script>", None),
        (b"\xff\xfe\x00", None),
        ("", None),
        (None, None),
        (20200319, None),
        ((2020, 3, 19), None),
    ],
)
def test_exif_dates_are_parsed_defensively(value: object, expected: datetime | None) -> None:
    assert parse_exif_datetime(value) == expected


def test_strip_check_sees_each_kind_of_metadata() -> None:
    exif = Image.Exif()
    exif[0x010E] = "<script>"  # ImageDescription
    exif.get_ifd(0x8825)[2] = (40.0, 26.0, 49.1)  # GPSLatitude
    photo = encoded(
        noise_image(),
        "JPEG",
        exif=exif.tobytes(),
        icc_profile=b"\x00" * 128,
        comment=b"hello",
        xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>",
    )
    assert strip_check(photo) == {
        "exif": True, "gps": True, "xmp": True, "icc": True, "iptc": False, "comment": True, "other_app": False,
    }


def test_strip_check_on_real_files() -> None:
    assert strip_check(fixture_bytes("gps/iphone_hdr_NO.jpg"))["gps"]
    assert strip_check(fixture_bytes("color/P1133897_AdobeRGB.jpg"))["iptc"]  # Photoshop APP13
    assert strip_check(fixture_bytes("heic/IMG_5195.HEIC"))["xmp"]
    assert not any(strip_check(encoded(noise_image(), "JPEG")).values())
