"""Hostile bytes (catalogue UP9): random and mutated files either give a valid JPEG or an ImageRejected."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tracker.imaging import ImageRejected, Limits, normalize

from .helpers import encoded, noise_image


def _exif_with_orientation() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x0132] = "2020:01:02 03:04:05"
    return exif.tobytes()


SEEDS = [
    encoded(noise_image(48, 32), "JPEG", exif=_exif_with_orientation()),
    encoded(noise_image(48, 32), "JPEG", progressive=True),
    encoded(noise_image(48, 32), "PNG"),
    encoded(noise_image(48, 32, mode="RGBA"), "PNG"),
    encoded(noise_image(48, 32), "WEBP"),
    encoded(noise_image(48, 32), "HEIF", quality=60),
]
# Small limits keep every accepted mutant cheap, so the test stays fast whatever a header claims.
LIMITS = Limits(max_bytes=64 * 1024, max_pixels=4_000_000)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[position:]
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


def assert_valid_outcome(data: bytes) -> None:
    try:
        result = normalize(data, LIMITS)
    except ImageRejected as rejected:
        assert rejected.http_status in (400, 413, 415)
        return
    for output in (result.display, result.thumb):
        with Image.open(io.BytesIO(output)) as image:
            assert image.format == "JPEG"
            image.load()


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_never_crash(data: bytes) -> None:
    assert_valid_outcome(data)


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_photos_never_crash(data: bytes) -> None:
    assert_valid_outcome(data)


@settings(max_examples=50, deadline=None, database=None)
@given(st.sampled_from(SEEDS), st.binary(min_size=1, max_size=64))
def test_magic_bytes_followed_by_garbage_never_crash(seed: bytes, tail: bytes) -> None:
    assert_valid_outcome(seed[:16] + tail)
