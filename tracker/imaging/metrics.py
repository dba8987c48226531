"""Measurements of stretch marks (striae) inside a region of a photo, for following them over treatment.

The practitioner draws the region once on the baseline photo of a body area and view; later photos are aligned
onto the baseline (see :mod:`.align`), so the same region covers the same skin in every photo of the series.
Every number below is computed only from the pixels inside that region, and only where the aligned photo
actually shows skin (areas an aligned photo does not cover are left out; if less than 60 % of the region is
left, the photo is not measured).

How the numbers are computed (method "metrics/1")
-------------------------------------------------

1. Working copy. The region's bounding box is cut out and, if its longer side exceeds 512 pixels, reduced to
   512 pixels by averaging. A pixel of this working copy is measured only if it lies entirely inside the
   region and inside the photo. The reduction makes the cost the same for any photo size and makes the
   window sizes below a fixed share of the region; because the region is the same for every photo of a
   series, so is the reduction. (Sizes in "pixels" below are working-copy pixels: for a region 1024 pixels
   across, one working pixel is two photo pixels.)
2. Colour. Each pixel's sRGB colour is converted to CIE L*a*b* (D65 white): L* is lightness (0 black to
   100 white), a* runs from green (negative) to red (positive), b* from blue to yellow.
3. Exposure correction. A brighter or darker exposure of the same skin multiplies L*+16, a* and b* by one
   common factor. All three are therefore rescaled so that the region's median lightness becomes L* = 65;
   a re-take 10 % darker then gives practically the same numbers as the original. Only ``mean_l`` is reported without
   this correction, as a check on exposure. The correction does not undo a change in the colour of the
   light (white balance): photos for comparison should be taken under the same kind of light. Because every
   region is brought to the same lightness, the values suit following one patient over time better than
   comparing patients with different skin tones (on darker skin they come out larger than uncorrected).
4. Marks versus skin. Each pixel's colour, lightly smoothed (Gaussian, sigma 1 pixel) so that sensor noise
   does not count, is compared with the colour the skin would have there without marks (below), as the
   Euclidean distance in L*a*b* (CIE76 Delta E). A pixel is a mark when this distance exceeds both

   * the region's typical distance plus 3 robust standard deviations: median + 3 x 1.4826 x MAD, where MAD
     is the median absolute deviation from the median, over all measured pixels of the region; and
   * a fixed minimum of 3 Delta E units, a difference most people can see, so that in a region without
     marks the ordinary texture of skin is not called a mark.

   Specks are then removed: a morphological opening with a 3-pixel disc drops anything narrower than
   3 pixels, and separate blobs smaller than 0.05 % of the region are dropped.

   The skin's expected colour is found in two passes. First pass: the *trend*, for each of L*, a* and b* a
   smooth surface over the region (c0 + c1 x + c2 y + c3 x^2 + c4 x y + c5 y^2, least squares), which
   follows light falling off across the region and gradual changes of skin colour. It is fitted to all
   pixels, then fitted again, twice, to the half of the pixels closest to the previous fit: while marks
   cover less of the region than skin, that half is skin, however wide the marks are. Marks are found
   against this trend. Second pass: the trend is fitted again to the pixels that are not marks, and the
   *local detail* of the skin is added to it: how far the non-mark pixels nearby differ from the trend,
   averaged with Gaussian weights (sigma 4 % of the working copy's longer side, about 20 pixels), so that
   mottling and uneven light are not taken for marks. Marks are found again against this; this is the final
   result. (Both are computed on a copy of the region reduced 4 times, which changes nothing visible.)

   Limits: anything that differs enough from the skin around it and is large enough counts, so a mole,
   scar, tattoo, hair or shadow inside the region is counted as a mark too. The region must contain more
   normal skin than marks, and marks should be surrounded by skin: a single patch wider than about a third
   of the region in its middle, or than about a tenth along its edge, looks like uneven light and is partly
   missed.
5. The numbers:

   * ``affected_fraction``: the share of the measured region's pixels that are marks (0 to 1).
   * ``delta_e``: how different marks look from the skin around them: the CIEDE2000 colour difference
     between the mean L*a*b* colour of the mark pixels and the mean colour of the skin pixels (skin pixels
     within 2 pixels of a mark are left out, as they blend both). About 1 is just noticeable; 2 to 10 is
     visible at a glance. Not measured (None) when marks cover less than 0.2 % of the region: there is
     then nothing reliable to compare. Since only pixels that pass the threshold are marks, faint marks
     that no longer pass stop counting here and in ``affected_fraction``.
   * ``redness_a``: the mean a* over the whole measured region.
   * ``striae_redness_a``: the mean a* over the mark pixels only (None when ``delta_e`` is). Red-purple
     young marks have a high a*; as they mature they fade towards the skin's own a* or below.
   * ``texture``: the standard deviation of L* (as smoothed in step 4) within each 7 x 7-pixel window (the
     window's part inside the region), averaged over the region. Fine relief, pores and the edges of marks
     raise it; it also depends on the camera's focus and sharpening, so compare it only between photos
     taken the same way.
   * ``mean_l``: the mean L* over the region, without the exposure correction, for context.

Every step is deterministic: the same photo and region always give exactly the same numbers (with the same
versions of this software and its libraries).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

METHOD_VERSION = "metrics/1"

# Region rules.
MAX_VERTICES = 64
# No photo is this large (60 MP at most); coordinates beyond it are refused before any arithmetic on them.
MAX_COORDINATE = 1_000_000.0
MIN_ROI_SHARE = 0.01  # of the photo's area ...
MIN_ROI_PX = 400.0  # ... and never fewer pixels than this (for small photos)
EDGE_TOLERANCE = 0.005  # of the photo's longer side: a region may overshoot the edge this much (drawing slop)
MIN_VALID_SHARE = 0.6  # of the region that must be inside an aligned photo

# Method constants (see the module docstring; changing any of them changes METHOD_VERSION).
WORKING_SIZE = 512  # longer side of the region's working copy, px
REFERENCE_L = 65.0  # median lightness the exposure correction brings the region to
NOISE_SIGMA = 1.0  # working px: light smoothing before comparing a pixel with its surroundings
TREND_TRIMS = 2  # refits of the skin's colour trend to the half of the pixels closest to it
LOCAL_SIGMA = 0.04  # of the working copy's longer side: the neighbourhood of "local detail" of the skin
REDUCTION = 4  # trend and local detail are computed on the working copy reduced this many times
THRESHOLD_K = 3.0  # robust standard deviations above the typical difference
MIN_DELTA_E = 3.0  # CIE76 units: below this a pixel is never a mark
OPENING_SIZE = 3  # working px: marks narrower than this are dropped as specks
MIN_BLOB_SHARE = 0.0005  # of the region: separate blobs smaller than this are dropped as specks
GUARD_PX = 2  # working px around marks that count neither as mark nor as skin for delta_e
MIN_MARK_SHARE = 0.002  # below this share of marks, delta_e and striae_redness_a are not measured
TEXTURE_WINDOW = 7  # working px

MIN_WORKING_PIXELS = 400  # fewer measurable working pixels than this: too narrow to measure

_MAD_TO_SIGMA = 1.4826  # MAD of normally distributed values x this = their standard deviation
_FULL_COVERAGE = 0.999  # a working pixel with this much of its area inside region and photo is measured

MESSAGE_OUTSIDE = "The region lies outside the photo."
MESSAGE_PARTLY_OUTSIDE = "Part of the region lies outside the photo."
MESSAGE_TOO_SMALL = "The region is too small to measure: draw it over at least 1% of the photo."
MESSAGE_TOO_FEW = "A region needs at least 3 corners."
MESSAGE_TOO_MANY = f"A region can have at most {MAX_VERTICES} corners."
MESSAGE_NOT_NUMBERS = "The region's corners must be pairs of finite numbers."
MESSAGE_NO_AREA = "The region's corners do not enclose an area."
MESSAGE_CROSSING = "The region's outline crosses itself."
MESSAGE_BAD_RECTANGLE = "A rectangle needs a positive width and height."
MESSAGE_CANNOT_MAP = "The region cannot be mapped onto this photo."
MESSAGE_TOO_NARROW = "The region is too narrow to measure."
MESSAGE_TOO_LITTLE_VALID = "Too little of the region is inside this photo to measure it."


class RoiError(ValueError):
    """A region that cannot be used; ``message`` is meant for the practitioner."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# regions ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Roi:
    """A region as a polygon in display pixels of the (baseline) photo.

    Coordinates put the photo's top-left corner at (0, 0) and its bottom-right corner at (width, height), as
    when drawing on the photo in a browser: pixel (i, j) is the square from (i, j) to (i + 1, j + 1), and it
    belongs to the region when its centre (i + 0.5, j + 0.5) lies inside the outline. Construction checks
    the shape (3 to 64 corners, finite, enclosing an area, outline not crossing itself); whether it fits a
    given photo is checked by :func:`check_roi`.
    """

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        points = _as_points(self.points)
        object.__setattr__(self, "points", points)
        if len(points) < 3:
            raise RoiError(MESSAGE_TOO_FEW)
        if len(points) > MAX_VERTICES:
            raise RoiError(MESSAGE_TOO_MANY)
        if _crosses_itself(np.array(points)):  # first: a symmetric bow tie also has no (signed) area
            raise RoiError(MESSAGE_CROSSING)
        if self.area <= 1e-9 * max(1.0, _extent(points)) ** 2:
            raise RoiError(MESSAGE_NO_AREA)

    @classmethod
    def rectangle(cls, x: float, y: float, w: float, h: float) -> Roi:
        """The rectangle with top-left corner (x, y), width w and height h."""
        if not all(math.isfinite(float(v)) for v in (x, y, w, h)):
            raise RoiError(MESSAGE_NOT_NUMBERS)
        if w <= 0 or h <= 0:
            raise RoiError(MESSAGE_BAD_RECTANGLE)
        return cls(((x, y), (x + w, y), (x + w, y + h), (x, y + h)))

    @property
    def area(self) -> float:
        """Enclosed area in pixels (shoelace formula)."""
        xy = np.array(self.points)
        x, y = xy[:, 0], xy[:, 1]
        return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom)."""
        xy = np.array(self.points)
        return float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max())

    def mask(self, size: tuple[int, int]) -> np.ndarray:
        """Boolean H x W mask of the pixels whose centres lie inside the region, for ``size`` = (width, height).

        Parts of the region beyond the photo are simply cut off.
        """
        width, height = (int(v) for v in size)
        return _rasterise(np.array(self.points), 0, 0, width, height)

    def to_dict(self) -> dict[str, Any]:
        return {"points": [list(point) for point in self.points]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Roi:
        """Inverse of ``to_dict``; raises ``RoiError`` for anything that is not a usable region."""
        if not isinstance(data, dict) or "points" not in data:
            raise RoiError(MESSAGE_NOT_NUMBERS)
        return cls(data["points"])


def _as_points(points: Iterable[Sequence[float]]) -> tuple[tuple[float, float], ...]:
    try:
        xy = np.array([[float(v) for v in point] for point in points], dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise RoiError(MESSAGE_NOT_NUMBERS) from error
    if xy.ndim != 2 or (len(xy) and xy.shape[1] != 2) or not np.all(np.isfinite(xy)):
        raise RoiError(MESSAGE_NOT_NUMBERS)
    if np.any(np.abs(xy) > MAX_COORDINATE):  # far off any photo; and the geometry below would overflow
        raise RoiError(MESSAGE_OUTSIDE)
    return tuple((float(x), float(y)) for x, y in xy)


def _extent(points: Sequence[tuple[float, float]]) -> float:
    xy = np.array(points)
    return float(np.max(xy.max(axis=0) - xy.min(axis=0)))


def _crosses_itself(xy: np.ndarray) -> bool:
    """True if two non-adjacent edges of the closed outline cross (touching at a single point does not count)."""
    count = len(xy)
    start, end = xy, np.roll(xy, -1, axis=0)
    for i in range(count):
        # Edges after i that do not share a corner with it (the last one touches edge 0).
        others = np.arange(i + 2, count - (1 if i == 0 else 0))
        if len(others) == 0:
            continue
        a, b = start[i], end[i]
        c, d = start[others], end[others]
        d1, d2 = _orientation(a, b, c), _orientation(a, b, d)
        d3, d4 = _orientation(c, d, a), _orientation(c, d, b)
        if np.any((d1 * d2 < 0) & (d3 * d4 < 0)):
            return True
    return False


def _orientation(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Sign of the turn p -> q -> r for each r (or each p, q): +1 left, -1 right, 0 collinear."""
    cross = (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0])
    return np.sign(cross)


def _rasterise(xy: np.ndarray, left: int, top: int, width: int, height: int) -> np.ndarray:
    """Mask of the pixels [left, left + width) x [top, top + height) whose centres lie inside the polygon.

    An exact scanline fill (even-odd rule, half-open edges so a shared corner counts once): OpenCV's
    ``fillPoly`` also paints the pixels the outline passes through, which would make a region a pixel larger
    on two sides.
    """
    mask = np.zeros((height, width), bool)
    if width <= 0 or height <= 0:
        return mask
    ys = top + np.arange(height) + 0.5
    p, q = xy, np.roll(xy, -1, axis=0)
    low, high = np.minimum(p[:, 1], q[:, 1]), np.maximum(p[:, 1], q[:, 1])
    spans = (ys[:, None] >= low[None, :]) & (ys[:, None] < high[None, :])  # rows x edges
    rows, edges = np.nonzero(spans)
    if len(rows) == 0:
        return mask
    slope = (q[edges, 0] - p[edges, 0]) / (q[edges, 1] - p[edges, 1])
    crossing = p[edges, 0] + (ys[rows] - p[edges, 1]) * slope
    # The first pixel whose centre is at or right of each crossing, in mask columns.
    column = np.clip(np.ceil(crossing - 0.5 - left), 0, width).astype(np.int64)
    order = np.lexsort((column, rows))
    rows, column = rows[order], column[order]
    # Crossings alternate entering/leaving along a row: +1 at entries, -1 at exits, then a running sum.
    step = np.where(np.arange(len(rows)) % 2 == 0, 1, -1)  # rows have an even number of crossings
    counts = np.zeros((height, width + 1), np.int32)
    np.add.at(counts, (rows, column), step)
    return np.cumsum(counts[:, :width], axis=1) > 0


def roi_inside(roi: Roi, size: tuple[int, int]) -> bool:
    """Whether the region lies within a photo of ``size`` = (width, height), give or take drawing slop
    (``EDGE_TOLERANCE`` of the longer side)."""
    width, height = size
    tolerance = EDGE_TOLERANCE * max(width, height)
    left, top, right, bottom = roi.bounds
    return left >= -tolerance and top >= -tolerance and right <= width + tolerance and bottom <= height + tolerance


def check_roi(roi: Roi, size: tuple[int, int]) -> None:
    """Raise ``RoiError`` unless the region fits a photo of ``size`` = (width, height) and is large enough."""
    width, height = size
    left, top, right, bottom = roi.bounds
    if right <= 0 or bottom <= 0 or left >= width or top >= height:
        raise RoiError(MESSAGE_OUTSIDE)
    if not roi_inside(roi, size):
        raise RoiError(MESSAGE_PARTLY_OUTSIDE)
    if roi.area < max(MIN_ROI_SHARE * width * height, MIN_ROI_PX):
        raise RoiError(MESSAGE_TOO_SMALL)


def transform_roi(roi: Roi, matrix: Any, *, inverse: bool = False) -> Roi:
    """The region mapped through a 3 x 3 homography (``inverse=True``: through its inverse).

    ``matrix`` follows :mod:`.align`: it maps follow-up pixels to baseline pixels with pixel centres at
    integer coordinates. So ``transform_roi(baseline_roi, result.matrix, inverse=True)`` is the region on the
    unaligned follow-up photo, and ``transform_roi(follow_up_roi, result.matrix)`` the reverse. Raises
    ``RoiError`` if a corner would land at infinity or behind the camera, or the mapped outline is unusable.
    """
    homography = np.asarray(matrix, dtype=np.float64)
    if homography.shape != (3, 3) or not np.all(np.isfinite(homography)):
        raise ValueError("matrix must be a finite 3 x 3 homography")
    if inverse:
        try:
            homography = np.linalg.inv(homography)
        except np.linalg.LinAlgError as error:
            raise RoiError(MESSAGE_CANNOT_MAP) from error
    # Region coordinates put pixel centres at +0.5, the homography at integers.
    xy = np.array(roi.points) - 0.5
    mapped = np.column_stack([xy, np.ones(len(xy))]) @ homography.T
    # A homography and its negative are the same map; what matters is that all corners (hence, depth being
    # affine, the whole region) lie on one side of the line sent to infinity.
    depth = mapped[:, 2] * np.sign(mapped[0, 2])
    if not np.all(depth > 1e-9 * np.abs(mapped[:, 2]).max()):
        raise RoiError(MESSAGE_CANNOT_MAP)
    return Roi(tuple(map(tuple, mapped[:, :2] / mapped[:, 2:] + 0.5)))


# metrics ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    """What :func:`measure` found; see the module docstring for each field. ``None``: not measurable."""

    delta_e: float | None
    redness_a: float
    striae_redness_a: float | None
    affected_fraction: float
    texture: float
    mean_l: float
    roi_pixels: int  # photo pixels measured: inside the region and inside the photo
    method_version: str = METHOD_VERSION

    def to_dict(self) -> dict[str, Any]:
        """A dict for strict JSON (numbers, str, None)."""
        return asdict(self)


def measure(image_rgb: np.ndarray, roi: Roi, valid_mask: np.ndarray | None = None) -> Metrics:
    """Measure the marks inside ``roi`` on an (aligned) H x W x 3 uint8 RGB photo.

    ``valid_mask`` (H x W, bool or 0/nonzero) marks the pixels the photo really covers, e.g.
    ``alpha == 255`` of ``warp_to_baseline(..., transparent=True)``; without it every pixel counts.
    Raises ``RoiError`` for a region that does not fit the photo, or when less than 60 % of it is valid;
    ``ValueError`` for arrays of the wrong type or shape.
    """
    _check_image(image_rgb)
    height, width = image_rgb.shape[:2]
    check_roi(roi, (width, height))
    region = _Region.cut(image_rgb, roi, _valid(valid_mask, (height, width)))
    lab = _to_lab(region.rgb)
    mean_l = float(_mean(lab, region.mask)[0])  # before the exposure correction: it shows the exposure
    lab = _correct_exposure(lab, region.mask)
    smooth = cv2.GaussianBlur(lab, (0, 0), NOISE_SIGMA)
    marks = _segment(smooth, region.mask)
    delta_e, striae_redness_a = _contrast(lab, marks, region.mask)
    return Metrics(
        delta_e=delta_e,
        redness_a=float(_mean(lab, region.mask)[1]),
        striae_redness_a=striae_redness_a,
        affected_fraction=int(marks.sum()) / int(region.mask.sum()),
        texture=_texture(smooth[..., 0], region.mask),
        mean_l=mean_l,
        roi_pixels=region.photo_pixels,
    )


def _contrast(lab: np.ndarray, marks: np.ndarray, mask: np.ndarray) -> tuple[float | None, float | None]:
    """``delta_e`` and ``striae_redness_a``, or (None, None) when there are too few marks to compare."""
    skin = mask & ~_dilate(marks, GUARD_PX)
    if int(marks.sum()) < MIN_MARK_SHARE * int(mask.sum()) or not skin.any():
        return None, None
    mark_colour = _mean(lab, marks)
    return delta_e_2000(mark_colour, _mean(lab, skin)), float(mark_colour[1])


def _mean(lab: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean L*, a*, b* over the masked pixels (OpenCV accumulates in double precision)."""
    return np.array(cv2.mean(lab, mask=mask.astype(np.uint8))[:3])


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError("image_rgb must be an H x W x 3 uint8 RGB array")


def _valid(valid_mask: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    if valid_mask is None:
        return None
    valid = np.asarray(valid_mask)
    if valid.shape != shape:
        raise ValueError(f"valid_mask must be {shape[0]} x {shape[1]}, got {valid.shape}")
    return valid.astype(bool)


@dataclass(frozen=True, eq=False)
class _Region:
    """The region's working copy: ``rgb`` (reduced bounding box) and ``mask`` of the pixels to measure."""

    rgb: np.ndarray
    mask: np.ndarray
    photo_pixels: int

    @classmethod
    def cut(cls, image: np.ndarray, roi: Roi, valid: np.ndarray | None) -> _Region:
        height, width = image.shape[:2]
        left, top, right, bottom = roi.bounds
        x0, y0 = max(0, math.floor(left)), max(0, math.floor(top))
        x1, y1 = min(width, math.ceil(right)), min(height, math.ceil(bottom))
        inside = _rasterise(np.array(roi.points), x0, y0, x1 - x0, y1 - y0)
        measured = inside if valid is None else inside & valid[y0:y1, x0:x1]
        photo_pixels = int(measured.sum())
        if photo_pixels < MIN_VALID_SHARE * int(inside.sum()) or photo_pixels == 0:
            raise RoiError(MESSAGE_TOO_LITTLE_VALID)
        scale = min(1.0, WORKING_SIZE / max(x1 - x0, y1 - y0))
        rgb, coverage = _reduce(image[y0:y1, x0:x1], scale), _reduce(measured.astype(np.float32), scale)
        mask = coverage >= _FULL_COVERAGE
        if int(mask.sum()) < MIN_WORKING_PIXELS:  # e.g. a sliver a few pixels wide across the whole photo
            raise RoiError(MESSAGE_TOO_NARROW)
        return cls(rgb=rgb, mask=mask, photo_pixels=photo_pixels)


def _reduce(image: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)  # averages: no aliasing of fine texture


def _to_lab(rgb: np.ndarray) -> np.ndarray:
    # Float input keeps full precision (8-bit Lab is quantised); OpenCV applies the sRGB curve and D65 white.
    return cv2.cvtColor(rgb.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2Lab)


def _correct_exposure(lab: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Rescale L*+16, a*, b* by one factor so the region's median L* becomes REFERENCE_L.

    An exposure change multiplies linear-light RGB (hence XYZ) by a gain g, and L*+16, a*, b* are all
    proportional to the cube root of XYZ, so all three scale by g^(1/3): dividing it out is exact (above
    L* = 8, where the cube-root law holds) and needs no re-conversion.
    """
    median_l = float(np.median(lab[..., 0][mask]))
    factor = np.float32((REFERENCE_L + 16.0) / max(median_l + 16.0, 1.0))
    corrected = lab * factor
    corrected[..., 0] += np.float32(16.0) * (factor - np.float32(1.0))
    return corrected


# marks --------------------------------------------------------------------------------------------------------


def _segment(smooth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Boolean mask of mark pixels within ``mask``: two passes (see the module docstring, step 4)."""
    pixels = int(mask.sum())
    trend = _robust_trend(smooth, mask)
    marks = _marks(_distance(smooth, trend), mask, pixels)
    skin = mask & ~marks
    trend = _trend(smooth, skin)
    expected = trend + _local_detail(smooth - trend, skin, LOCAL_SIGMA * max(mask.shape))
    return _marks(_distance(smooth, expected), mask, pixels)


def _robust_trend(lab: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The trend of the skin's colour, refitted TREND_TRIMS times to the half of the pixels closest to it.

    The first fit, to every pixel, is pulled towards the marks; the half of the pixels closest to it is
    nonetheless skin while marks are fewer than skin, and a fit to that half is closer still to the skin.
    """
    trend = _trend(lab, mask)
    for _ in range(TREND_TRIMS):
        deviation = _distance(lab, trend)
        trend = _trend(lab, mask & (deviation <= np.median(deviation[mask])))
    return trend


def _marks(deviation: np.ndarray, mask: np.ndarray, pixels: int) -> np.ndarray:
    return _clean(mask & (deviation > _threshold(deviation[mask])), pixels)


def _trend(lab: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per-channel quadratic surface c0 + c1 x + c2 y + c3 x^2 + c4 xy + c5 y^2 fitted to the weighted pixels.

    A weighted least-squares fit on the working copy reduced REDUCTION times (plenty of samples for six
    coefficients), x and y running from -1 to 1 across it.
    """
    height, width = weights.shape
    small = _reduced_size(width, height)
    w = cv2.resize(weights.astype(np.float32), small, interpolation=cv2.INTER_AREA).astype(np.float64).ravel()
    values = cv2.resize(lab, small, interpolation=cv2.INTER_AREA).astype(np.float64).reshape(-1, 3)
    x, y = np.meshgrid(np.linspace(-1.0, 1.0, small[0]), np.linspace(-1.0, 1.0, small[1]))
    x, y = x.ravel(), y.ravel()
    basis = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y])
    # Normal equations with einsum (its own loops, not BLAS, whose threads may change the order of the
    # additions): the fit is the same bit for bit on every run.
    weighted = basis * w
    gram = np.einsum("in,jn->ij", weighted, basis)
    moments = np.einsum("in,nc->ic", weighted, values)
    gram += np.eye(6) * 1e-9 * max(1.0, float(np.trace(gram)))  # never singular, even for a tiny region
    coefficients = np.linalg.solve(gram, moments)  # 6 x 3
    surface = np.einsum("in,ic->nc", basis, coefficients)
    # Evaluated on the reduced grid and enlarged: bilinear interpolation of a quadratic is all but exact.
    reduced = surface.reshape(small[1], small[0], 3).astype(np.float32)
    return cv2.resize(reduced, (width, height), interpolation=cv2.INTER_LINEAR)


def _local_detail(residual: np.ndarray, weights: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-weighted average of ``residual`` over the pixels in ``weights`` (normalised convolution).

    Zero where no weighted pixel is near. Computed on the copy reduced REDUCTION times and enlarged again:
    the result varies only over tens of pixels, and this is ~15x faster than at full working size.
    """
    height, width = weights.shape
    small = _reduced_size(width, height)
    w = weights.astype(np.float32)
    total, weighted = (
        cv2.GaussianBlur(
            cv2.resize(values, small, interpolation=cv2.INTER_AREA), (0, 0), sigma / REDUCTION,
            borderType=cv2.BORDER_REFLECT,
        )
        for values in (w, residual * w[..., None])
    )
    total = total[..., None]
    detail = np.where(total > 1e-4, weighted / np.maximum(total, np.float32(1e-4)), np.float32(0.0))
    return cv2.resize(detail, (width, height), interpolation=cv2.INTER_LINEAR)


def _reduced_size(width: int, height: int) -> tuple[int, int]:
    return max(1, round(width / REDUCTION)), max(1, round(height / REDUCTION))


def _distance(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per-pixel Euclidean distance of two L*a*b* images (CIE76 Delta E)."""
    difference = first - second
    # cv2.transform sums the three squared channels ~10x faster than numpy's reduction over the last axis.
    return cv2.sqrt(cv2.transform(difference * difference, np.ones((1, 3), np.float32)))


def _threshold(deviation: np.ndarray) -> float:
    median = float(np.median(deviation))
    mad = float(np.median(np.abs(deviation - median)))
    return max(MIN_DELTA_E, median + THRESHOLD_K * _MAD_TO_SIGMA * mad)


def _clean(marks: np.ndarray, region_pixels: int) -> np.ndarray:
    """Drop specks: an opening removes parts narrower than OPENING_SIZE, then small separate blobs go."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (OPENING_SIZE, OPENING_SIZE))
    opened = cv2.morphologyEx(marks.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= MIN_BLOB_SHARE * region_pixels
    keep[0] = False  # the background component
    return keep[labels]


def _dilate(marks: np.ndarray, radius: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(marks.astype(np.uint8), kernel).astype(bool)


def _texture(lightness: np.ndarray, mask: np.ndarray) -> float:
    """Mean over the region of the standard deviation of L* in TEXTURE_WINDOW-square windows (region only)."""
    w = mask.astype(np.float64)
    values = lightness.astype(np.float64) * w
    window = (TEXTURE_WINDOW, TEXTURE_WINDOW)
    box = {"ksize": window, "normalize": False, "borderType": cv2.BORDER_CONSTANT}
    count = cv2.boxFilter(w, -1, **box)
    total, squares = cv2.boxFilter(values, -1, **box), cv2.boxFilter(values * lightness, -1, **box)
    inside = mask & (count > 0.5)
    mean = total[inside] / count[inside]
    variance = np.maximum(squares[inside] / count[inside] - mean * mean, 0.0)
    return float(np.sqrt(variance).mean())


# colour difference --------------------------------------------------------------------------------------------


def delta_e_2000(lab1: Sequence[float], lab2: Sequence[float]) -> float:
    """CIEDE2000 colour difference of two L*a*b* colours (kL = kC = kH = 1).

    As specified by CIE 142-2001, following Sharma, Wu and Dalal (2005), whose 34 test pairs it reproduces.
    """
    l1, a1, b1 = (float(v) for v in lab1)
    l2, a2, b2 = (float(v) for v in lab2)
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2.0
    g = 0.5 * (1.0 - math.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p, h2p = _hue_degrees(b1, a1p), _hue_degrees(b2, a2p)

    delta_l, delta_c = l2 - l1, c2p - c1p
    delta_h = _hue_difference(h1p, h2p, c1p * c2p)
    delta_big_h = 2.0 * math.sqrt(c1p * c2p) * math.sin(math.radians(delta_h / 2.0))

    l_mean, cp_mean = (l1 + l2) / 2.0, (c1p + c2p) / 2.0
    hp_mean = _hue_mean(h1p, h2p, c1p * c2p)
    t = (
        1.0
        - 0.17 * math.cos(math.radians(hp_mean - 30.0))
        + 0.24 * math.cos(math.radians(2.0 * hp_mean))
        + 0.32 * math.cos(math.radians(3.0 * hp_mean + 6.0))
        - 0.20 * math.cos(math.radians(4.0 * hp_mean - 63.0))
    )
    s_l = 1.0 + 0.015 * (l_mean - 50.0) ** 2 / math.sqrt(20.0 + (l_mean - 50.0) ** 2)
    s_c = 1.0 + 0.045 * cp_mean
    s_h = 1.0 + 0.015 * cp_mean * t
    rotation = math.radians(60.0 * math.exp(-(((hp_mean - 275.0) / 25.0) ** 2)))
    r_t = -2.0 * math.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7)) * math.sin(rotation)
    terms = (delta_l / s_l, delta_c / s_c, delta_big_h / s_h)
    return math.sqrt(terms[0] ** 2 + terms[1] ** 2 + terms[2] ** 2 + r_t * terms[1] * terms[2])


def _hue_degrees(b: float, a: float) -> float:
    if a == 0.0 and b == 0.0:
        return 0.0
    return math.degrees(math.atan2(b, a)) % 360.0


def _hue_difference(h1: float, h2: float, chroma_product: float) -> float:
    if chroma_product == 0.0:
        return 0.0
    difference = h2 - h1
    if difference > 180.0:
        return difference - 360.0
    if difference < -180.0:
        return difference + 360.0
    return difference


def _hue_mean(h1: float, h2: float, chroma_product: float) -> float:
    if chroma_product == 0.0:
        return h1 + h2
    if abs(h1 - h2) <= 180.0:
        return (h1 + h2) / 2.0
    return (h1 + h2 + 360.0) / 2.0 if h1 + h2 < 360.0 else (h1 + h2 - 360.0) / 2.0
