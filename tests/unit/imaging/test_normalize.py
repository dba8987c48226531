"""The ingestion pass on every photo fixture: upright, right size, metadata gone, capture time kept."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime

import numpy as np
import pytest
from PIL import Image

from tracker.imaging import Limits, NormalizedPhoto, normalize, reencode_jpeg, strip_check
from tracker.imaging.normalize import display_size

from .helpers import FIXTURES, decoded, encoded, fixture_bytes, mean_abs_diff, noise_image

ORIENTATIONS = [f"{kind}_{n}" for kind in ("Landscape", "Portrait") for n in range(9)]


@pytest.fixture(scope="module")
def normalized() -> dict[str, NormalizedPhoto]:
    """Every fixture photo that must be accepted, normalized once for the whole module."""
    paths = [p for p in FIXTURES.rglob("*") if p.suffix.lower() in {".jpg", ".png", ".heic"}]
    accepted = [p for p in paths if p.parent.name != "malformed"]
    return {str(p.relative_to(FIXTURES)): normalize(p.read_bytes()) for p in accepted}


def small_grey(data: bytes, size: tuple[int, int]) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L").resize(size, Image.Resampling.BOX))


@pytest.mark.parametrize("name", ORIENTATIONS)
def test_every_exif_orientation_ends_upright(normalized: dict[str, NormalizedPhoto], name: str) -> None:
    result = normalized[f"orientation/{name}.jpg"]
    kind = name.split("_")[0]
    upright = (1800, 1200) if kind == "Landscape" else (1200, 1800)
    assert (result.width, result.height) == upright
    assert result.display_size == upright
    check_size = (180, 120) if kind == "Landscape" else (120, 180)
    reference = small_grey(fixture_bytes(f"orientation/{kind}_1.jpg"), check_size)
    assert mean_abs_diff(small_grey(result.display, check_size), reference) <= 5


def tagged_with_display_p3(name: str) -> bytes:
    """The fixture's stored pixels and EXIF (so its orientation), re-saved with a Display P3 profile."""
    with Image.open(FIXTURES / "heic/arrow.heic") as heic:
        p3 = heic.info["icc_profile"]
    with Image.open(FIXTURES / name) as image:
        return encoded(image, "JPEG", quality=90, exif=image.info["exif"], icc_profile=p3)


@pytest.mark.parametrize("name", ORIENTATIONS)
def test_orientation_is_also_right_on_the_fast_colour_path(name: str) -> None:
    """Wide-gamut photos take the fast colour path before the rotation: same geometry, same result."""
    kind = name.split("_")[0]
    result = normalize(tagged_with_display_p3(f"orientation/{name}.jpg"))
    reference = normalize(tagged_with_display_p3(f"orientation/{kind}_1.jpg"))
    assert result.source_profile == "Display P3"
    assert result.display_size == reference.display_size
    check_size = (180, 120) if kind == "Landscape" else (120, 180)
    assert mean_abs_diff(small_grey(result.display, check_size), small_grey(reference.display, check_size)) <= 5


@pytest.mark.parametrize(
    ("name", "original", "display"),
    [
        ("heic/arrow.heic", (3024, 4032), (1512, 2016)),
        ("heic/IMG_5195.HEIC", (2566, 3313), (1586, 2048)),
        ("heic/xiaomi.heic", (2592, 1944), (2048, 1536)),
    ],
)
def test_heic_sizes_follow_the_container_rotation_once(
    normalized: dict[str, NormalizedPhoto], name: str, original: tuple[int, int], display: tuple[int, int]
) -> None:
    result = normalized[name]
    assert (result.format, (result.width, result.height), result.display_size) == ("heif", original, display)


def test_the_heic_arrow_points_up(normalized: dict[str, NormalizedPhoto]) -> None:
    """irot applied once: the arrowhead (wide) is at the top and the shaft (narrow) at the bottom."""
    grey = decoded(normalized["heic/arrow.heic"].thumb, "L")
    rows, columns = np.nonzero(grey < 90)
    height = grey.shape[0]

    def ink_width(selected: np.ndarray) -> int:
        return int(columns[selected].max() - columns[selected].min())

    assert grey.shape[0] > grey.shape[1]
    assert ink_width(rows < 0.4 * height) > 1.5 * ink_width(rows > 0.6 * height)


GPS_CARRIERS = ["gps/iphone_hdr_NO.jpg", "gps/67-0_length_string.jpg", "heic/IMG_5195.HEIC", "heic/xiaomi.heic"]


@pytest.mark.parametrize("name", GPS_CARRIERS)
def test_gps_tagged_uploads_leave_no_metadata_in_derivatives(
    normalized: dict[str, NormalizedPhoto], name: str
) -> None:
    """UP13, CG3: the originals do carry GPS (the checker sees it); neither derivative carries anything."""
    assert strip_check(fixture_bytes(name))["gps"]
    result = normalized[name]
    for output in (result.display, result.thumb):
        assert strip_check(output) == dict.fromkeys(strip_check(output), False)
        with Image.open(io.BytesIO(output)) as image:
            assert not {"exif", "xmp", "icc_profile", "comment", "photoshop"} & set(image.info)


def test_no_derivative_of_any_fixture_carries_metadata(normalized: dict[str, NormalizedPhoto]) -> None:
    for name, result in normalized.items():
        for output in (result.display, result.thumb):
            assert not any(strip_check(output).values()), name


@pytest.mark.parametrize(
    ("name", "taken_at"),
    [
        ("color/P1133897_AdobeRGB.jpg", datetime(2020, 3, 19, 17, 40, 54)),
        ("color/pil_sample_cmyk.jpg", datetime(2009, 3, 6, 22, 15, 0)),  # DateTime fallback
        ("color/rgb-to-gbr-test.jpg", datetime(2018, 5, 15, 23, 4, 0)),  # DateTime fallback
        ("gps/67-0_length_string.jpg", datetime(2016, 9, 12, 10, 5, 31)),  # DateTime fallback
        ("gps/iphone_hdr_NO.jpg", datetime(2015, 4, 10, 20, 12, 23)),
        ("heic/IMG_5195.HEIC", datetime(2021, 4, 11, 15, 47, 53)),
        ("heic/arrow.heic", datetime(2018, 7, 31, 14, 52, 7)),
        ("heic/xiaomi.heic", datetime(2023, 4, 27, 19, 44, 18)),
        # DateTimeOriginal is "0000:00:00 00:00:00" here: garbage, so DateTime is used.
        ("skin/Normal_Epidermis_and_Dermis_with_Intradermal_Nevus_10x.jpg", datetime(2015, 12, 30, 3, 47, 47)),
        ("orientation/Landscape_6.jpg", None),
        ("bitdepth/i_trns.png", None),
    ],
)
def test_capture_time_is_read_as_the_camera_recorded_it(
    normalized: dict[str, NormalizedPhoto], name: str, taken_at: datetime | None
) -> None:
    assert normalized[name].taken_at == taken_at


def test_sha256_is_of_the_untouched_original(normalized: dict[str, NormalizedPhoto]) -> None:
    name = "gps/iphone_hdr_NO.jpg"
    assert normalized[name].sha256 == hashlib.sha256(fixture_bytes(name)).hexdigest()


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((4032, 3024), ((2016, 1512), 2)),  # half: a 1/2 DCT decode needs no resampling
        ((3024, 4032), ((1512, 2016), 2)),
        ((4000, 3000), ((2000, 1500), 2)),
        ((3840, 2160), ((1920, 1080), 2)),
        ((8064, 6048), ((2016, 1512), 4)),
        ((4096, 3072), ((2048, 1536), 2)),
        ((3264, 2448), ((2048, 1536), 1)),  # half would be 1632, too far below 2048: exact resize
        ((5712, 4284), ((2048, 1536), 2)),  # decode at 1/2 (2856), then resize
        ((2048, 1536), ((2048, 1536), 1)),
        ((1800, 1200), ((1800, 1200), 1)),  # never upscaled
        ((4033, 3025), ((2017, 1513), 2)),
    ],
)
def test_display_size_rule(size: tuple[int, int], expected: tuple[tuple[int, int], int]) -> None:
    assert display_size(size, 2048) == expected


def test_derivative_sizes_for_a_12_mp_photo() -> None:
    photo = encoded(noise_image(4032, 3024), "JPEG", quality=80)
    result = normalize(photo)
    assert (result.display_size, result.thumb_size) == ((2016, 1512), (480, 360))
    assert decoded(result.display).shape == (1512, 2016, 3)
    assert decoded(result.thumb).shape == (360, 480, 3)


def test_sizes_and_quality_are_arguments() -> None:
    photo = encoded(noise_image(1000, 800), "PNG")
    small = normalize(photo, Limits(), display_long_side=500, thumb_long_side=100, jpeg_quality=60)
    assert (small.display_size, small.thumb_size) == ((500, 400), (100, 80))
    assert len(small.display) < len(normalize(photo, display_long_side=500, jpeg_quality=95).display)


def test_sixteen_bit_grey_is_scaled_not_clipped_and_its_trns_key_is_flattened_white() -> None:
    """Policy: 16-bit samples / 257 -> 8 bit. i_trns.png only uses 0-255 of 65535, so it is nearly black;
    the pixels equal to its tRNS key (255) are transparent and become white."""
    with Image.open(FIXTURES / "bitdepth/i_trns.png") as image:
        samples = np.asarray(image)
    out = decoded(normalize(fixture_bytes("bitdepth/i_trns.png")).display, "L")
    expected = np.where(samples == 255, 255, np.round(samples / 257)).astype(np.uint8)
    assert mean_abs_diff(out, expected) < 4
    assert out[samples != 255].mean() < 6
    assert out[samples == 255].mean() > 200


def test_animated_png_keeps_only_its_first_frame() -> None:
    """apng_mode_16bit.png: frame 0 is opaque red, frames 1 and 2 black and translucent navy."""
    result = normalize(fixture_bytes("bitdepth/apng_mode_16bit.png"))
    assert result.display_size == (128, 64)
    assert np.abs(decoded(result.display).reshape(-1, 3).mean(axis=0) - (254, 0, 0)).max() < 3


def test_animated_webp_keeps_only_its_first_frame() -> None:
    frames = [Image.new("RGB", (64, 48), colour) for colour in ("blue", "yellow", "black")]
    webp = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    pixels = decoded(normalize(webp).display)
    assert np.abs(pixels.reshape(-1, 3).mean(axis=0) - (0, 0, 255)).max() < 4


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGBA", (40, 30), (255, 0, 0, 0)),
        Image.new("LA", (40, 30), (0, 0)),
        Image.new("P", (40, 30), 0),
    ],
    ids=["RGBA", "LA", "P with tRNS"],
)
def test_transparency_is_flattened_onto_white(image: Image.Image) -> None:
    options = {"transparency": 0} if image.mode == "P" else {}
    pixels = decoded(normalize(encoded(image, "PNG", **options)).display)
    assert pixels.min() >= 250


def test_half_transparent_red_becomes_pink() -> None:
    pixels = decoded(normalize(encoded(Image.new("RGBA", (40, 30), (255, 0, 0, 128)), "PNG")).display)
    assert np.abs(pixels.reshape(-1, 3).mean(axis=0) - (255, 127, 127)).max() < 4


def test_webp_with_alpha_is_flattened() -> None:
    pixels = decoded(normalize(encoded(Image.new("RGBA", (40, 30), (0, 0, 255, 0)), "WEBP", lossless=True)).display)
    assert pixels.min() >= 250


def test_grey_photo_comes_out_as_rgb_grey() -> None:
    result = normalize(encoded(noise_image(mode="L"), "JPEG"))
    pixels = decoded(result.display).astype(int)
    assert np.abs(pixels[..., 0] - pixels[..., 1]).max() <= 2


def test_orientation_zero_and_garbage_mean_upright() -> None:
    image = noise_image(60, 40)
    for value in (0, 9, 65535):
        exif = Image.Exif()
        exif[0x0112] = value
        assert normalize(encoded(image, "JPEG", exif=exif.tobytes())).display_size == (60, 40)


def test_png_and_webp_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    for fmt in ("PNG", "WEBP"):
        result = normalize(encoded(noise_image(60, 40), fmt, exif=exif.tobytes()))
        assert (result.width, result.height, result.display_size) == (40, 60, (40, 60))


def test_garbage_exif_is_ignored_not_fatal() -> None:
    garbage = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03\xff\xff\xff\xff" + bytes(7)
    result = normalize(encoded(noise_image(), "JPEG", exif=garbage))
    assert (result.taken_at, result.display_size) == (None, (64, 48))


def test_reencode_jpeg_makes_a_smaller_clean_copy() -> None:
    display = normalize(fixture_bytes("gps/iphone_hdr_NO.jpg")).display
    again = reencode_jpeg(display, max_long_side=1000, quality=80)
    assert decoded(again).shape == (750, 1000, 3)
    assert not any(strip_check(again).values())
    assert decoded(reencode_jpeg(display)).shape == decoded(display).shape


def test_reencode_jpeg_of_an_original_is_still_upright_and_stripped() -> None:
    original = fixture_bytes("orientation/Portrait_8.jpg")
    again = reencode_jpeg(original, max_long_side=300)
    assert decoded(again).shape == (300, 200, 3)
    assert not any(strip_check(again).values())


def test_normalized_photo_is_frozen(normalized: dict[str, NormalizedPhoto]) -> None:
    result = normalized["orientation/Landscape_1.jpg"]
    with pytest.raises(AttributeError):
        result.width = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        result.quality.blur = 0.0  # type: ignore[misc]


def test_heic_with_alpha_is_flattened() -> None:
    heic = encoded(Image.new("RGBA", (64, 48), (0, 0, 255, 0)), "HEIF", quality=90)
    result = normalize(heic)
    assert (result.format, result.display_size) == ("heif", (64, 48))
    assert decoded(result.display).min() >= 245
