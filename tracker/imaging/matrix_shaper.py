"""A fast exact path from an RGB matrix/TRC ICC profile (Display P3, Adobe RGB, most camera profiles) to sRGB.

LittleCMS through Pillow costs 15-30 ns per pixel even for an identity transform, which at display size is
as much as the whole JPEG decode. A matrix/TRC profile is just three tone curves and a 3x3 matrix, so the
same maths runs as three vectorised steps: curves into 16-bit linear light (cv2.LUT), the matrix to sRGB
primaries with clipping (cv2.transform), and the sRGB encoding through a 65536-entry table (cv2.LUT again).

The curves are read from the profile's rTRC/gTRC/bTRC tags (types 'curv' and 'para'); the colorants come
from LittleCMS. Callers must check the result against LittleCMS on a colour grid before trusting it
(:mod:`.srgb` does): a profile whose tags cannot be read, or that LittleCMS would treat differently
(e.g. one that also carries A2B0 tables), then simply keeps the LittleCMS path.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import ImageCms

_MAX_TAGS = 200
_PARAMETRIC_COUNTS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}
_LEVELS = np.arange(256, dtype=np.float64) / 255.0


def _srgb_encode_table() -> np.ndarray:
    linear = np.arange(65536, dtype=np.float64) / 65535.0
    encoded = np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.round(encoded * 255).astype(np.uint8).reshape(65536, 1)


# OpenCV 5's LUT takes 16-bit input with a 65536-entry table; it is ~5x faster than numpy indexing here.
_ENCODE_SRGB = _srgb_encode_table()


# Rows converted per step: a block's 16-bit intermediates stay in the CPU cache, which makes the
# conversion about 1.5x as fast as three full-image passes.
_BLOCK_ROWS = 256


@dataclass(frozen=True, eq=False)
class MatrixShaper:
    curves: np.ndarray  # uint16 stored level -> linear light: (256, 1) shared, or (1, 256, 3) per channel
    matrix: np.ndarray  # (3, 3) float32: source linear RGB -> sRGB linear RGB

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 in the source space -> the same in sRGB; out-of-gamut colours are clipped."""
        out = np.empty(rgb.shape, dtype=np.uint8)
        for top in range(0, rgb.shape[0], _BLOCK_ROWS):
            rows = slice(top, top + _BLOCK_ROWS)
            linear = cv2.transform(cv2.LUT(rgb[rows], self.curves), self.matrix)
            cv2.LUT(linear, _ENCODE_SRGB, dst=out[rows])
        return out


def build(icc: bytes, profile: ImageCms.ImageCmsProfile, srgb: ImageCms.ImageCmsProfile) -> MatrixShaper | None:
    """The fast converter for ``icc``, or None when it is not a readable matrix/TRC RGB profile."""
    try:
        tags = _tag_table(icc)
        curves = [_curve(icc, *tags[sig]) for sig in (b"rTRC", b"gTRC", b"bTRC")]
        source = _colorant_matrix(profile)
        target = _colorant_matrix(srgb)
    except (KeyError, ValueError, struct.error, TypeError, IndexError):
        return None
    stacked = np.stack(curves, axis=-1)
    if source is None or target is None or not np.isfinite(stacked).all():
        return None
    matrix = np.linalg.solve(target, source)
    lut = np.round(np.clip(stacked, 0, 1) * 65535).astype(np.uint16)
    # One shared curve (the usual case) lets OpenCV take its single-table path, twice as fast.
    lut = np.ascontiguousarray(lut[:, :1]) if (lut == lut[:, :1]).all() else lut.reshape(1, 256, 3)
    return MatrixShaper(curves=lut, matrix=matrix.astype(np.float32))


def _colorant_matrix(profile: ImageCms.ImageCmsProfile) -> np.ndarray | None:
    core = profile.profile
    if not core.is_matrix_shaper:
        return None
    colorants = (core.red_colorant, core.green_colorant, core.blue_colorant)
    if any(c is None for c in colorants):
        return None
    matrix = np.array([c[0] for c in colorants], dtype=np.float64).T
    if not np.isfinite(matrix).all() or abs(np.linalg.det(matrix)) < 1e-6:
        return None
    return matrix


def _tag_table(icc: bytes) -> dict[bytes, tuple[int, int]]:
    (count,) = struct.unpack_from(">I", icc, 128)
    if count > _MAX_TAGS:
        raise ValueError("implausible ICC tag count")
    table = {}
    for index in range(count):
        signature, offset, size = struct.unpack_from(">4sII", icc, 132 + 12 * index)
        if offset + size > len(icc):
            raise ValueError("ICC tag outside the profile")
        table[signature] = (offset, size)
    return table


def _curve(icc: bytes, offset: int, size: int) -> np.ndarray:
    kind = icc[offset : offset + 4]
    if kind == b"curv":
        return _sampled_curve(icc, offset, size)
    if kind == b"para":
        return _parametric_curve(icc, offset)
    raise ValueError("unknown ICC curve type")


def _sampled_curve(icc: bytes, offset: int, size: int) -> np.ndarray:
    (count,) = struct.unpack_from(">I", icc, offset + 8)
    if count == 0:
        return _LEVELS.copy()
    if count == 1:
        (gamma,) = struct.unpack_from(">H", icc, offset + 12)
        return _LEVELS ** (gamma / 256.0)
    if 12 + 2 * count > size:
        raise ValueError("ICC curve table longer than its tag")
    table = np.frombuffer(icc, dtype=">u2", count=count, offset=offset + 12) / 65535.0
    return np.interp(_LEVELS, np.linspace(0.0, 1.0, count), table)


def _parametric_curve(icc: bytes, offset: int) -> np.ndarray:
    (function,) = struct.unpack_from(">H", icc, offset + 8)
    count = _PARAMETRIC_COUNTS[function]
    raw = struct.unpack_from(f">{count}i", icc, offset + 12)
    g, a, b, c, d, e, f = (*(v / 65536.0 for v in raw), *([0.0] * (7 - count)))
    x = _LEVELS
    with np.errstate(all="ignore"):
        power = np.clip(a * x + b, 0, None) ** g
        if function == 0:
            return x**g
        if function == 1:
            return np.where(a * x + b >= 0, power, 0.0)
        if function == 2:
            return np.where(a * x + b >= 0, power + c, c)
        if function == 3:
            return np.where(x >= d, power, c * x)
        return np.where(x >= d, power + e, c * x + f)
