"""Procedural skin photos with stretch marks, for demo data and alignment tests (nothing is downloaded).

A photo is rendered in two steps. First the *anatomy*, a function of ``seed`` (and the output size) only:
a skin-toned surface on a canvas 1.5x the output size, with low-frequency body shading, blotchy colour,
fine pore texture, moles and freckles (stable landmarks) and striae (elongated, slightly curved bands).
Then the *shot*: the canvas is warped by ``pose`` into the output frame, exposed by ``brightness``, given
a little sensor noise and encoded as JPEG. ``severity`` only changes how visible the striae are (from
pink-purple, raised-contrast rubra at 1.0 to faint whitish alba near 0.0), never where they are, so a
series with decreasing severity looks like healing, and two poses of one seed show the same anatomy.

Pose ``(angle_deg, scale, dx, dy)``: about the output centre, rotate the scene by ``angle_deg``
(counter-clockwise as seen in the image), scale it by ``scale``, then shift it by ``(dx, dy)`` output pixels.
:func:`pose_matrix` gives the 3x3 map from pose-(0, 1, 0, 0) pixel coordinates to posed ones.
"""

from __future__ import annotations

import hashlib
import math
from io import BytesIO

import cv2
import numpy as np
from PIL import Image

Pose = tuple[float, float, float, float]
IDENTITY_POSE: Pose = (0.0, 1.0, 0.0, 0.0)
CANVAS_MARGIN = 1.5
JPEG_QUALITY = 92

# Skin tones (linear-ish RGB in 0..1) the seed picks from: light to medium-dark.
_SKIN_TONES = np.array(
    [[0.91, 0.78, 0.70], [0.85, 0.70, 0.61], [0.76, 0.60, 0.50], [0.62, 0.47, 0.37], [0.47, 0.35, 0.27]],
    dtype=np.float32,
)
_RUBRA = np.array([0.78, 0.45, 0.52], dtype=np.float32)  # fresh striae: pink-purple
_ALBA = np.array([0.96, 0.91, 0.88], dtype=np.float32)  # old striae: whitish
_MOLE = np.array([0.36, 0.22, 0.15], dtype=np.float32)
_BLOTCH_HUE = np.array([1.0, -0.3, -0.5], dtype=np.float32)


def striae_photo(
    seed: int,
    severity: float,
    width: int = 1600,
    height: int = 1200,
    pose: Pose = IDENTITY_POSE,
    brightness: float = 1.0,
) -> bytes:
    """A deterministic JPEG of skin with stretch marks; see the module docstring for the parameters."""
    if not 0.0 <= severity <= 1.0:
        raise ValueError("severity must be within [0, 1]")
    canvas = _anatomy(seed, severity, width, height)
    shot = cv2.warpAffine(
        canvas,
        _canvas_to_output(pose, canvas.shape[1], canvas.shape[0], width, height),
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )
    noise_rng = np.random.default_rng(_shot_seed(seed, severity, width, height, pose, brightness))
    shot = shot * brightness + noise_rng.normal(0.0, 0.012, shot.shape).astype(np.float32)
    return _encode(shot)


def pose_matrix(pose: Pose, width: int = 1600, height: int = 1200) -> np.ndarray:
    """3x3 matrix taking pixel coordinates of the pose-(0, 1, 0, 0) photo to those of the posed one."""
    angle, scale, dx, dy = pose
    centre = np.array([width / 2.0, height / 2.0])
    rotation = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(angle), float(scale))
    rotation[:, 2] += (dx, dy)
    return np.vstack([rotation, [0.0, 0.0, 1.0]])


def _canvas_to_output(pose: Pose, canvas_w: int, canvas_h: int, width: int, height: int) -> np.ndarray:
    # The pose-identity photo is the centred crop of the canvas; compose that crop with the pose.
    crop = np.array([[1.0, 0.0, -(canvas_w - width) / 2.0], [0.0, 1.0, -(canvas_h - height) / 2.0], [0, 0, 1]])
    return (pose_matrix(pose, width, height) @ crop)[:2]


def _shot_seed(seed: int, *shot: object) -> list[int]:
    digest = hashlib.sha256(repr(shot).encode()).digest()
    return [seed & 0xFFFFFFFF, int.from_bytes(digest[:8], "big")]


def _anatomy(seed: int, severity: float, width: int, height: int) -> np.ndarray:
    """The unposed scene as float32 RGB in 0..1 on a canvas CANVAS_MARGIN times the output size."""
    size = (round(width * CANVAS_MARGIN), round(height * CANVAS_MARGIN))
    rng = np.random.default_rng(seed)
    # Draw every random layout first, in a fixed order, so severity can never shift the anatomy.
    tone = _SKIN_TONES[rng.integers(len(_SKIN_TONES))] * np.float32(rng.uniform(0.94, 1.06))
    shading = _shading(rng, size)
    blotches = _smooth_noise(rng, size, cell=60)
    pores = _pores(rng, size)
    striae = _striae_mask(rng, size)
    spots = _spots(rng, size)

    # Blotches shift colour towards redness (haemoglobin) or brown (melanin); pores darken.
    brightness = shading * (1.0 - 0.15 * pores)
    skin = tone * brightness[..., None] * (1.0 + 0.035 * blotches[..., None] * _BLOTCH_HUE)
    _blend(skin, _stria_colour(severity), striae * np.float32(0.15 + 0.75 * severity))
    _blend(skin, _MOLE, spots)
    return skin


def _stria_colour(severity: float) -> np.ndarray:
    return _ALBA + (_RUBRA - _ALBA) * np.float32(severity)


def _blend(base: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> None:
    """In place: base += alpha * (colour - base)."""
    base += alpha[..., None] * (colour - base)


def _smooth_noise(rng: np.random.Generator, size: tuple[int, int], cell: int) -> np.ndarray:
    """Noise in about -1..1 varying over ``cell`` pixels: random values on a coarse grid, upsampled smoothly."""
    coarse = rng.standard_normal((size[1] // cell + 3, size[0] // cell + 3)).astype(np.float32)
    fine = cv2.resize(coarse, (size[0] + 3 * cell, size[1] + 3 * cell), interpolation=cv2.INTER_CUBIC)
    return np.clip(fine[cell : cell + size[1], cell : cell + size[0]] / 2.0, -1.0, 1.0)


def _shading(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Body curvature lit from one side, plus slow uneven lighting; values around 0.75-1.05."""
    width, height = size
    angle = rng.uniform(0, math.pi)
    x = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
    y = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    across = x * np.float32(math.cos(angle)) + y * np.float32(math.sin(angle))
    curvature = 1.0 - 0.18 * across**2 + 0.06 * across
    return curvature * (1.0 + 0.05 * _smooth_noise(rng, size, cell=240))


def _pores(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Fine skin texture: grain, criss-cross micro-relief and scattered pore dots, roughly 0..1."""
    width, height = size
    grain = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 1.0)
    relief = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 2.5)
    texture = 0.5 + 0.25 * grain + 0.6 * relief
    dots = np.zeros((height, width), np.float32)
    count = int(width * height / 900)
    xs, ys = rng.integers(0, width, count), rng.integers(0, height, count)
    dots[ys, xs] = 1.0
    dots = cv2.GaussianBlur(dots, (0, 0), 1.2) * 9.0
    return np.clip(texture + dots, 0.0, 2.0)


def _striae_mask(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Soft coverage (0..1) of a family of roughly parallel, slightly curved, tapering bands."""
    width, height = size
    mask = np.zeros((height, width), np.float32)
    direction = rng.uniform(0, math.pi)
    normal = np.array([-math.sin(direction), math.cos(direction)])
    along = np.array([math.cos(direction), math.sin(direction)])
    centre = np.array([width / 2, height / 2]) + rng.normal(0, 0.08, 2) * (width, height)
    for _ in range(int(rng.integers(8, 15))):
        start = centre + normal * rng.uniform(-0.35, 0.35) * height + along * rng.uniform(-0.4, 0.0) * width
        length = rng.uniform(0.25, 0.55) * width
        _draw_band(mask, rng, start, along, normal, length, rng.uniform(0.008, 0.02) * width)
    patchy = 0.75 + 0.25 * _smooth_noise(rng, size, cell=50)
    return cv2.GaussianBlur(mask, (0, 0), 0.003 * width) * patchy


def _draw_band(
    mask: np.ndarray,
    rng: np.random.Generator,
    start: np.ndarray,
    along: np.ndarray,
    normal: np.ndarray,
    length: float,
    thickness: float,
) -> None:
    bend = rng.uniform(-0.12, 0.12) * length
    wave = rng.uniform(-0.01, 0.01) * length
    steps = np.linspace(0.0, 1.0, 60)
    offset = 4 * steps * (1 - steps) * bend + wave * np.sin(3 * np.pi * steps)
    points = start + np.outer(steps * length, along) + np.outer(offset, normal)
    taper = np.sin(np.pi * steps) ** 0.3
    for i in range(len(steps) - 1):
        a = tuple(int(v) for v in np.round(points[i]))
        b = tuple(int(v) for v in np.round(points[i + 1]))
        cv2.line(mask, a, b, 1.0, max(1, round(thickness * taper[i])), cv2.LINE_AA)


def _spots(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Moles (few, larger, darker) and freckles (more, small, faint) as opacity 0..1."""
    width, height = size
    spots = np.zeros((height, width), np.float32)
    for count, radius, opacity in ((int(rng.integers(4, 9)), (5, 13), (0.75, 0.95)), (40, (2, 5), (0.2, 0.45))):
        for _ in range(count):
            centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            axes = (int(rng.integers(*radius)), int(rng.integers(*radius)))
            cv2.ellipse(spots, centre, axes, float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(*opacity)), -1)
    return cv2.GaussianBlur(spots, (0, 0), 1.5)


def _encode(shot: np.ndarray) -> bytes:
    pixels = np.clip(shot * 255.0 + 0.5, 0, 255).astype(np.uint8)
    buffer = BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()
