"""Small shared helpers for the imaging tests: fixture bytes, tiny generated images, decoding outputs."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def noise_image(width: int = 64, height: int = 48, mode: str = "RGB", seed: int = 0) -> Image.Image:
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)
    return Image.fromarray(pixels[..., 0] if channels == 1 else pixels)


def decoded(data: bytes, mode: str = "RGB") -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert(mode))


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def translation(dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=np.float64)


def camera_move(size, angle_deg=0.0, scale=1.0, shift=(0.0, 0.0), tilt=(0.0, 0.0)) -> np.ndarray:
    """Homography follow-up -> baseline about the canvas centre; shift and tilt as fractions of the canvas."""
    width, height = size
    a = math.radians(angle_deg)
    cos, sin = scale * math.cos(a), scale * math.sin(a)
    similarity = np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]])
    keystone = np.eye(3)
    keystone[2, :2] = (tilt[0] / (width / 2), tilt[1] / (height / 2))
    centre = translation(width / 2, height / 2)
    about_centre = centre @ similarity @ keystone @ np.linalg.inv(centre)
    return translation(shift[0] * width, shift[1] * height) @ about_centre
