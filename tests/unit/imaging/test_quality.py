"""Quality warnings are advisory, calibrated on the fixtures, and never refuse a photo."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from tracker.imaging import normalize
from tracker.imaging.quality import BLURRED, OVER_EXPOSED, UNDER_EXPOSED, assess
from tracker.imaging.synthetic import striae_photo

from .helpers import decoded, fixture_bytes

SHARP = [
    "orientation/Landscape_1.jpg",
    "orientation/Portrait_6.jpg",
    "gps/iphone_hdr_NO.jpg",
    "skin/Normal_Epidermis_and_Dermis_with_Intradermal_Nevus_10x.jpg",
    "color/P1133897_sRGB.jpg",
    "color/rgb-to-gbr-test.jpg",
    "heic/arrow.heic",
    "heic/IMG_5195.HEIC",
    "heic/xiaomi.heic",
]


def blurred(data: bytes, sigma: float) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        softened = image.convert("RGB").filter(ImageFilter.GaussianBlur(sigma))
    buffer = io.BytesIO()
    softened.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


@pytest.mark.parametrize("name", SHARP)
def test_sharp_fixture_photos_do_not_warn(name: str) -> None:
    report = normalize(fixture_bytes(name)).quality
    assert report.warnings == ()
    assert report.blur > 50


@pytest.mark.parametrize("name", ["orientation/Landscape_1.jpg", "color/P1133897_sRGB.jpg"])
def test_a_blurred_copy_warns_and_is_still_accepted(name: str) -> None:
    result = normalize(blurred(fixture_bytes(name), 4))
    assert result.quality.warnings == (BLURRED,)
    assert result.display


def test_synthetic_skin_is_sharp_until_blurred() -> None:
    photo = striae_photo(seed=5, severity=0.6, width=1200, height=900)
    assert normalize(photo).quality.warnings == ()
    assert BLURRED in normalize(blurred(photo, 2)).quality.warnings


def test_blur_score_does_not_depend_on_resolution() -> None:
    photo = fixture_bytes("orientation/Landscape_1.jpg")
    with Image.open(io.BytesIO(photo)) as image:
        pixels = np.asarray(image.convert("RGB"))
        half = np.asarray(image.convert("RGB").resize((900, 600), Image.Resampling.BOX))
    full_score, half_score = assess(pixels).blur, assess(half).blur
    assert 0.5 < full_score / half_score < 2


@pytest.mark.parametrize(
    ("level", "warning"),
    [(255, OVER_EXPOSED), (0, UNDER_EXPOSED)],
)
def test_clipped_photos_warn_about_exposure(level: int, warning: str) -> None:
    pixels = np.full((300, 400, 3), 128, np.uint8)
    pixels[:, :200] = level  # half the frame clipped
    report = assess(pixels)
    assert warning in report.warnings
    assert 0.45 < max(report.clipped_highlights, report.clipped_shadows) < 0.55


def test_over_exposed_synthetic_photo_warns_but_is_accepted() -> None:
    result = normalize(striae_photo(seed=1, severity=0.5, width=800, height=600, brightness=1.8))
    assert OVER_EXPOSED in result.quality.warnings


def test_grey_and_rgb_input_score_alike() -> None:
    pixels = decoded(fixture_bytes("color/P1133897_sRGB.jpg"))
    grey = np.asarray(Image.fromarray(pixels).convert("L"))
    assert abs(assess(pixels).blur - assess(grey).blur) / assess(grey).blur < 0.05


def test_warnings_are_plain_language() -> None:
    for message in (BLURRED, OVER_EXPOSED, UNDER_EXPOSED):
        assert message.startswith("This photo looks ") and "retake it" in message
