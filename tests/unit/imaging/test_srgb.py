"""Colour: every source ends up in sRGB through its embedded profile, and the fast path equals LittleCMS."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms

from tracker.imaging import matrix_shaper, normalize, srgb
from tracker.imaging.srgb import source_colour

from .helpers import FIXTURES, decoded, encoded, fixture_bytes, mean_abs_diff, noise_image

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def stored_rgb(name: str) -> np.ndarray:
    with Image.open(FIXTURES / name) as image:
        return np.asarray(image.convert("RGB"))


def icc_of(name: str) -> bytes:
    with Image.open(FIXTURES / name) as image:
        return image.info["icc_profile"]


def test_adobe_rgb_moves_towards_its_srgb_twin() -> None:
    """Untransformed the Adobe RGB file is 5.83 from its sRGB twin; converted (and re-encoded) it is closer."""
    ours = decoded(normalize(fixture_bytes("color/P1133897_AdobeRGB.jpg")).display)
    twin = stored_rgb("color/P1133897_sRGB.jpg")
    assert mean_abs_diff(ours, twin) < 4.5 < mean_abs_diff(stored_rgb("color/P1133897_AdobeRGB.jpg"), twin)


def test_channel_swapping_profile_is_honoured() -> None:
    """RGB-to-GBR: the output equals the stored channels permuted to (B, R, G)."""
    result = normalize(fixture_bytes("color/rgb-to-gbr-test.jpg"))
    ours = decoded(result.display)
    raw = stored_rgb("color/rgb-to-gbr-test.jpg")
    assert result.source_profile == "RGB-to-GBR"
    assert mean_abs_diff(ours, raw[..., [2, 0, 1]]) < 3
    assert mean_abs_diff(ours, raw) > 100
    patch = ours[95:106, 95:106].reshape(-1, 3).mean(axis=0)  # raw (197, 0, 255) at (100, 100)
    assert np.abs(patch - (255, 198, 0)).max() < 6


def test_cmyk_without_profile_is_converted_to_rgb() -> None:
    result = normalize(fixture_bytes("color/pil_sample_cmyk.jpg"))
    with Image.open(io.BytesIO(result.display)) as image:
        assert image.mode == "RGB"
    reference = stored_rgb("color/pil_sample_cmyk.jpg")
    assert mean_abs_diff(decoded(result.display), reference) < 10
    assert mean_abs_diff(decoded(result.display), 255 - reference) > 100


def test_display_p3_heic_is_converted_like_littlecms_at_full_size() -> None:
    result = normalize(fixture_bytes("heic/IMG_5195.HEIC"))
    with Image.open(FIXTURES / "heic/IMG_5195.HEIC") as image:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
        exact = ImageCms.profileToProfile(image, profile, SRGB).resize(result.display_size, Image.Resampling.BOX)
        untransformed = image.convert("RGB").resize(result.display_size, Image.Resampling.BOX)
    ours = decoded(result.display)
    assert result.source_profile == "Display P3"
    assert mean_abs_diff(ours, np.asarray(exact)) < 0.75 * mean_abs_diff(np.asarray(untransformed), np.asarray(exact))


@pytest.mark.parametrize(
    "name", ["heic/arrow.heic", "color/P1133897_AdobeRGB.jpg", "color/rgb-to-gbr-test.jpg"]
)
def test_fast_matrix_path_matches_littlecms(name: str) -> None:
    icc = icc_of(name)
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    fast = matrix_shaper.build(icc, profile, SRGB)
    assert fast is not None
    pixels = np.asarray(noise_image(300, 200, seed=3))
    transform = ImageCms.buildTransform(profile, SRGB, "RGB", "RGB")
    reference = np.asarray(ImageCms.applyTransform(Image.fromarray(pixels), transform))
    difference = np.abs(fast.apply(pixels).astype(int) - reference)
    assert difference.max() <= 1 and difference.mean() < 0.05
    assert isinstance(getattr(source_colour(icc, "RGB").convert, "__self__", None), matrix_shaper.MatrixShaper)


def test_littlecms_fallback_gives_the_same_picture(monkeypatch: pytest.MonkeyPatch) -> None:
    photo = fixture_bytes("color/P1133897_AdobeRGB.jpg")
    fast = decoded(normalize(photo).display)
    srgb._CACHE.clear()
    monkeypatch.setattr(matrix_shaper, "build", lambda *args: None)
    try:
        assert mean_abs_diff(decoded(normalize(photo).display), fast) < 0.5
    finally:
        srgb._CACHE.clear()


def test_recipes_are_built_once_per_distinct_profile() -> None:
    icc = icc_of("heic/arrow.heic")
    assert source_colour(icc, "RGB") is source_colour(bytes(icc), "RGB")
    assert source_colour(icc, "RGB") is not source_colour(icc_of("color/P1133897_AdobeRGB.jpg"), "RGB")


def test_srgb_profiles_are_recognised_and_skipped() -> None:
    recipe = source_colour(icc_of("color/P1133897_sRGB.jpg"), "RGB")
    assert recipe.description == "sRGB IEC61966-2.1"
    pixels = np.asarray(noise_image())
    assert recipe.convert(pixels) is pixels


@pytest.mark.parametrize(
    ("icc", "mode"),
    [
        (b"not an icc profile at all", "RGB"),
        (b"\x00" * 200, "RGB"),
        (ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(), "L"),  # RGB profile, grey pixels
        (ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(), "RGB"),
    ],
    ids=["garbage", "zeros", "mismatched space", "lab"],
)
def test_unusable_profiles_are_ignored(icc: bytes, mode: str) -> None:
    recipe = source_colour(icc, mode)
    assert recipe.description is None
    pixels = np.asarray(noise_image(mode=mode))
    assert recipe.convert(pixels).shape == (48, 64, 3)


def test_photo_with_a_broken_profile_is_still_accepted() -> None:
    result = normalize(encoded(noise_image(), "JPEG", icc_profile=b"\x00\x00\x02\x30garbage" * 20))
    assert (result.source_profile, result.display_size) == (None, (64, 48))


def test_profile_description_is_shortened_and_printable() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    assert srgb._description(profile) == "sRGB built-in"


# --- the ICC curve reader -----------------------------------------------------------------------------

LEVELS = np.arange(256) / 255.0


def curv(*entries: int) -> bytes:
    return b"curv" + bytes(4) + struct.pack(f">I{len(entries)}H", len(entries), *entries)


def para(function: int, *params: float) -> bytes:
    return b"para" + bytes(4) + struct.pack(">HH", function, 0) + b"".join(
        struct.pack(">i", round(p * 65536)) for p in params
    )


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        (curv(), LEVELS),
        (curv(563), LEVELS ** (563 / 256)),
        (curv(0, 65535), LEVELS),
        (para(0, 2.2), LEVELS**2.2),
        (para(3, 2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045),
         np.where(LEVELS <= 0.04045, LEVELS / 12.92, ((LEVELS + 0.055) / 1.055) ** 2.4)),
        (para(4, 1.0, 0.5, 0.0, 0.0, 0.0, 0.25, 0.0), 0.5 * LEVELS + 0.25),
    ],
    ids=["identity", "gamma", "table", "para 0", "para 3 (sRGB)", "para 4"],
)
def test_icc_curves_are_read(tag: bytes, expected: np.ndarray) -> None:
    padded = tag + bytes(8)
    assert np.allclose(matrix_shaper._curve(padded, 0, len(tag)), expected, atol=2e-4)


@pytest.mark.parametrize("icc", [b"", b"\x00" * 131, b"\x00" * 128 + b"\xff\xff\xff\xff"])
def test_curve_reader_refuses_broken_tables(icc: bytes) -> None:
    with pytest.raises((ValueError, struct.error)):
        matrix_shaper._tag_table(icc)
