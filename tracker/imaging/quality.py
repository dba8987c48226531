"""Advisory photo-quality checks: is it sharp, is it exposed sensibly.

These only ever produce warnings for the patient ("retake it if you can"); a photo is never refused for
quality. Everything is measured on a grey copy scaled to a fixed long side (ANALYSIS_LONG_SIDE), so a
12 MP phone photo and a 2 MP webcam frame of the same scene score alike.

``blur`` is the variance of the 3x3 Laplacian of that grey image: high when there is fine detail.
1024 px rather than thumbnail size because blur that is obvious on the 2048-px display image is already
averaged away at 480 px. Known limit: the score also falls with contrast, so a smooth, dim or
low-texture subject can be called blurred although it is sharp (we tried normalising by brightness; it
mostly amplified sensor noise in dark photos). That is acceptable for an advisory warning.

Calibration (pinned by tests/unit/imaging/test_quality.py): the sharp fixture photos score 95-1250 and the
synthetic skin photos 20-35; a Gaussian blur of sigma 2 px on a 1600-px synthetic photo brings it under 3.5,
and sigma 4 px on the 700-2000 px fixture photos brings them to 2-10 (on the 3264-px iPhone photo, where
that blur is mild at display size, to 31). Clipping: the fixture photos clip at most 7% of pixels at either
end; a quarter of the frame blown out or crushed is what we call badly exposed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# normalize() hands over an image already reduced by a power of two to within 1/16 below this (its
# display-size rule); anything larger is area-resampled to exactly this long side.
ANALYSIS_LONG_SIDE = 1024
BLUR_THRESHOLD = 12.0
HIGHLIGHT_LEVEL = 250
SHADOW_LEVEL = 5
CLIPPED_FRACTION_WARNING = 0.25

BLURRED = "This photo looks blurred — retake it if you can."
OVER_EXPOSED = "This photo looks over-exposed (too bright) — retake it with less light if you can."
UNDER_EXPOSED = "This photo looks under-exposed (too dark) — retake it with more light if you can."


@dataclass(frozen=True)
class QualityReport:
    blur: float
    clipped_highlights: float
    clipped_shadows: float
    warnings: tuple[str, ...]


def assess(pixels: np.ndarray) -> QualityReport:
    """Score an upright sRGB image, grey (H x W) or RGB (H x W x 3) uint8, of any size."""
    grey = _analysis_grey(pixels)
    # 16-bit output is exact for a 3x3 Laplacian of 8-bit input, and OpenCV's meanStdDev is far faster
    # than numpy's var on a float64 copy.
    blur = float(cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_16S))[1][0, 0] ** 2)
    highlights = float(np.count_nonzero(grey >= HIGHLIGHT_LEVEL)) / grey.size
    shadows = float(np.count_nonzero(grey <= SHADOW_LEVEL)) / grey.size
    return QualityReport(
        blur=round(blur, 2),
        clipped_highlights=round(highlights, 4),
        clipped_shadows=round(shadows, 4),
        warnings=_warnings(blur, highlights, shadows),
    )


def _analysis_grey(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    height, width = pixels.shape
    scale = ANALYSIS_LONG_SIDE / max(height, width)
    if scale >= 1:
        return pixels
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


def _warnings(blur: float, highlights: float, shadows: float) -> tuple[str, ...]:
    found = []
    if blur < BLUR_THRESHOLD:
        found.append(BLURRED)
    if highlights >= CLIPPED_FRACTION_WARNING:
        found.append(OVER_EXPOSED)
    if shadows >= CLIPPED_FRACTION_WARNING:
        found.append(UNDER_EXPOSED)
    return tuple(found)
