"""Automatic alignment of a follow-up photo onto the baseline photo of the same body area and view.

Practitioners compare a baseline photo with later ones; the camera never sits in exactly the same place twice,
so before the two can be shown side by side (or as an overlay) the follow-up is registered to the baseline:

1. ``prepare`` turns a photo into ``Features``: greyscale at a working size of 1024 px on the long side,
   contrast-equalised with CLAHE, then ORB keypoints with a low FAST threshold. Skin with stretch marks has
   little texture: default ORB finds nothing to match on it, a low threshold on equalised grey does.
   ``Features`` serialise with ``to_bytes`` so the app can cache the baseline's once.
2. ``align`` matches descriptors (two nearest neighbours, Lowe's ratio test), fits a homography with
   USAC MAGSAC++ (more accurate than RANSAC on the same matches, and seeded so it is deterministic), and
   sanity-checks the fit. A homography, not a similarity, because the camera tilts between sessions and only
   a homography models the resulting keystone; the checks make sure its similarity part (scale, rotation,
   no mirroring) and its perspective part are those of a plausible re-take of the same view.
   A fit that passes is refined by guided matching: each follow-up keypoint is paired with the most similar
   baseline keypoint within 3 px of where the fit puts it, which recovers the many correct matches of
   repetitive skin texture that the ratio test throws away; the homography is fitted (and checked) again.
3. A fit that fails any check comes back as ``ok=False`` with a plain-language ``reason`` and no matrix:
   a bad fit is never warped silently.
4. ``warp_to_baseline`` renders the follow-up on the baseline's canvas.

No ECC refinement: with guided matching the corner error at 1024 px is already ~0.3 px median and under 1 px
at the 95th percentile, and ECC on a pyramid costs 130-450 ms per photo, several times the 100 ms budget.

Everything here is pure: numpy arrays in (H x W x 3 uint8 RGB), frozen dataclasses out.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

METHOD_VERSION = "orb-clahe-magsac/1"

# Features are computed at this long-side size whatever the upload resolution, so that thresholds in pixels
# (and the scale check) mean the same thing for a 12 MP phone photo and a 2 MP camera export.
WORKING_SIZE = 1024

_CLAHE_CLIP = 2.0
_CLAHE_TILES = (8, 8)
# 1500 keypoints give 90-1000 inliers on the benchmark's pairs; matching cost grows with the square of the
# count (3000 costs 4x as much for a median error only 0.1 px lower).
_ORB_FEATURES = 1500
# Eight levels of 1.2 span a factor of 3.6, so a follow-up taken at up to twice or half the baseline's
# distance still shares pyramid levels with it (five levels measurably lost matches at a factor of 1.9).
_ORB_LEVELS = 8
_ORB_SCALE_FACTOR = 1.2
# FAST score instead of Harris to rank corners: as accurate on the benchmark, more robust at 0.5x/2x scale,
# and cheaper.
_ORB_SCORE = cv2.ORB_FAST_SCORE
_ORB_FAST_THRESHOLDS = (20, 5)  # see _detect
_RATIO = 0.8  # Lowe's ratio: 0.85 let up to 16 chance inliers through on unrelated pairs, 0.75 lost matches
_MAGSAC_THRESHOLD = 3.0  # px at working size: upper bound on the noise scale MAGSAC++ marginalises over
_MAGSAC_ITERATIONS = 5000
_MAGSAC_CONFIDENCE = 0.999
_SEED = 1234
_DISTINCT_CELL = 4.0  # px at working size; see _distinct
# Guided matching (see _refine): two rounds within 3 px took the p95 error on synthetic striae from 4.0 to
# 0.7 px and on the benchmark from 1.1 to 0.6 px, for ~10 ms. Larger radii or one round did less.
_GUIDED_RADIUS = 3.0
_GUIDED_ROUNDS = 2

# Sanity limits on a fit (all at working size, so independent of resolution). Measured with the benchmark's
# scenes (bench/bench_align.py), 740 unrelated pairs among 20 scenes (8 of them synthetic patients) and 36
# pairs at 0.55x-1.9x and +-40 deg: related pairs have 70-520 distinct inliers (19 at the extremes),
# unrelated ones at most 6 (and up to 27 raw inliers), because a chance consensus is the minimal 4-point
# sample plus copies of the same corners from other pyramid levels and orientations.
MIN_INLIERS = 20
MIN_DISTINCT_INLIERS = 15
MIN_INLIER_RATIO = 0.2  # related pairs: 0.54 and up, 0.28 at the extremes
MIN_SCALE, MAX_SCALE = 0.5, 2.0
MAX_ROTATION_DEG = 45.0
MAX_ANISOTROPY = 1.5  # ratio of the local linear part's singular values: a plane tilted by ~48 degrees
MAX_PERSPECTIVE = 2.0  # max/min projective depth over the frame: a ~30 degree tilt with a phone's lens
MIN_OVERLAP = 0.2  # share of the baseline frame the follow-up covers; 0.25 is a 2x zoom-in
MIN_INLIER_SPREAD = 0.05  # inliers' convex hull as a share of the overlap: extrapolating further is a guess

REASON_NO_DETAIL = "One of the photos has too little visible detail to align"
REASON_NO_MATCH = "Not enough matching detail between the photos"
REASON_MIRRORED = "The follow-up photo looks mirrored compared with the baseline"
REASON_SCALE = "The photos differ too much in scale"
REASON_ROTATION = "The photos are rotated too much relative to each other"
REASON_ANGLE = "The camera angle differs too much between the photos"
REASON_OVERLAP = "The photos overlap too little"
REASON_SPREAD = "The matching detail covers too little of the photo to align it reliably"

NEUTRAL_GREY = (128, 128, 128)

Matrix = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]


@dataclass(frozen=True, eq=False)
class Features:
    """Keypoints of one photo at working size, enough to align another photo against it.

    ``points`` are (x, y) in working-size pixels (float32, N x 2), ``descriptors`` their ORB descriptors
    (uint8, N x 32), ``size`` the photo's (width, height) and ``working_size`` the (width, height) the points
    refer to; ``scale`` gives working pixels per photo pixel along x and y (the two differ by the rounding of
    the working size). The arrays are made read-only; equality is not defined (compare ``to_bytes()``).
    """

    points: np.ndarray
    descriptors: np.ndarray
    size: tuple[int, int]
    working_size: tuple[int, int]
    method_version: str = METHOD_VERSION

    def __post_init__(self) -> None:
        if self.points.dtype != np.float32 or self.points.ndim != 2 or self.points.shape[1] != 2:
            raise ValueError("points must be N x 2 float32")
        if self.descriptors.dtype != np.uint8 or self.descriptors.shape != (len(self.points), 32):
            raise ValueError("descriptors must be N x 32 uint8, one per point")
        if min(self.size) < 1 or min(self.working_size) < 1:
            raise ValueError("sizes must be positive")
        for array in (self.points, self.descriptors):
            array.setflags(write=False)

    @property
    def scale(self) -> tuple[float, float]:
        return self.working_size[0] / self.size[0], self.working_size[1] / self.size[1]

    def __len__(self) -> int:
        return len(self.points)

    def to_bytes(self) -> bytes:
        """Serialise for storage (an uncompressed ``.npz``; no pickle, so loading stored bytes is safe)."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            points=self.points,
            descriptors=self.descriptors,
            size=np.asarray(self.size, dtype=np.int64),
            working_size=np.asarray(self.working_size, dtype=np.int64),
            method_version=np.str_(self.method_version),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Features:
        """Load what ``to_bytes`` wrote. Raises ``ValueError`` for foreign data or another method version,
        in which case the caller should ``prepare`` the photo again."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as stored:
                version = str(stored["method_version"])
                points, descriptors = stored["points"], stored["descriptors"]
                size, working_size = (tuple(int(v) for v in stored[key]) for key in ("size", "working_size"))
        except (OSError, KeyError, TypeError, ValueError, EOFError) as error:
            raise ValueError(f"not stored alignment features: {error}") from error
        if version != METHOD_VERSION:
            raise ValueError(f"features were made by {version!r}, this is {METHOD_VERSION!r}")
        if len(size) != 2 or len(working_size) != 2:
            raise ValueError("not stored alignment features: bad sizes")
        return cls(points, descriptors, size, working_size, method_version=version)  # type: ignore[arg-type]


@dataclass(frozen=True)
class AlignmentResult:
    """Outcome of aligning a follow-up ("moving") photo to a baseline.

    ``matrix`` (only when ``ok``) is the 3x3 homography taking follow-up full-resolution pixel coordinates to
    baseline full-resolution pixel coordinates (pixel centres at integers, as OpenCV's ``warpPerspective``).
    ``scale`` and ``rotation_deg`` describe the fit at working size, i.e. independent of the two resolutions:
    ``scale`` > 1 means the follow-up's content had to be enlarged (it was taken from further away);
    ``rotation_deg`` > 0 means it had to be turned clockwise on screen. A fit rejected for its geometry keeps
    them, because they explain the reason; they are NaN when no credible (or no measurable) fit was found.
    ``inliers``, ``matches`` and ``inlier_ratio`` count the ratio-tested matches that decided acceptance (the
    guided matches that refine an accepted fit are not counted). ``reason`` is for people; ``None`` if ``ok``.
    """

    ok: bool
    matrix: Matrix | None
    inliers: int
    matches: int
    inlier_ratio: float
    scale: float
    rotation_deg: float
    reason: str | None
    method_version: str = METHOD_VERSION

    def to_dict(self) -> dict[str, Any]:
        """A dict for strict JSON (lists, numbers, str, bool, None; NaN is written as None)."""
        return {
            "ok": self.ok,
            "matrix": None if self.matrix is None else [list(row) for row in self.matrix],
            "inliers": self.inliers,
            "matches": self.matches,
            "inlier_ratio": self.inlier_ratio,
            "scale": _finite_or_none(self.scale),
            "rotation_deg": _finite_or_none(self.rotation_deg),
            "reason": self.reason,
            "method_version": self.method_version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlignmentResult:
        """Inverse of ``to_dict``; raises ``ValueError`` on a malformed dict."""
        try:
            matrix = None if data["matrix"] is None else _as_matrix(data["matrix"])
            return cls(
                ok=bool(data["ok"]),
                matrix=matrix,
                inliers=int(data["inliers"]),
                matches=int(data["matches"]),
                inlier_ratio=float(data["inlier_ratio"]),
                scale=_float_or_nan(data["scale"]),
                rotation_deg=_float_or_nan(data["rotation_deg"]),
                reason=None if data["reason"] is None else str(data["reason"]),
                method_version=str(data["method_version"]),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a stored alignment result: {error!r}") from error


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _float_or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


# features ---------------------------------------------------------------------------------------------------


def prepare(image: np.ndarray) -> Features:
    """Compute alignment features of an RGB photo (H x W x 3 uint8; H x W greyscale also accepted)."""
    grey = _to_grey(image)
    height, width = grey.shape
    working = _resize(grey, WORKING_SIZE / max(width, height))
    equalised = cv2.createCLAHE(clipLimit=_CLAHE_CLIP, tileGridSize=_CLAHE_TILES).apply(working)
    orb, keypoints = _detect(equalised)
    keypoints, descriptors = orb.compute(equalised, keypoints)
    if descriptors is None:  # a flat image has no keypoints at all
        points, descriptors = np.empty((0, 2), np.float32), np.empty((0, 32), np.uint8)
    else:
        points = cv2.KeyPoint_convert(keypoints).astype(np.float32).reshape(-1, 2)
    return Features(points, descriptors, (width, height), working_size=(working.shape[1], working.shape[0]))


def _detect(image: np.ndarray) -> tuple[cv2.ORB, Sequence[cv2.KeyPoint]]:
    """ORB keypoints, trying the default FAST threshold before the low one.

    Plain ORB (threshold 20) finds no corners on low-texture skin; threshold 5 does, but on a textured photo
    it yields tens of thousands of candidates and doubles the detection time. Both keep the strongest
    corners, so when the default already fills the quota the low threshold would return the same points,
    only slower.
    """
    for threshold in _ORB_FAST_THRESHOLDS:
        orb = cv2.ORB_create(
            nfeatures=_ORB_FEATURES, scaleFactor=_ORB_SCALE_FACTOR, nlevels=_ORB_LEVELS,
            scoreType=_ORB_SCORE, fastThreshold=threshold,
        )
        keypoints = orb.detect(image, None)
        if len(keypoints) >= 0.9 * _ORB_FEATURES:
            break
    return orb, keypoints


def _to_grey(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError("expected a uint8 numpy array")
    if image.ndim == 2:
        grey = image
    elif image.ndim == 3 and image.shape[2] == 3:
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    else:
        raise ValueError(f"expected H x W x 3 RGB, got shape {image.shape}")
    if min(grey.shape) < 16:
        raise ValueError("image too small to align")
    return grey


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    """Resize by ``scale`` (rounded to whole pixels, so the true scale differs slightly per axis)."""
    if scale == 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # INTER_AREA averages when shrinking (no aliasing) but is blocky when enlarging a small photo.
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interpolation)


# alignment --------------------------------------------------------------------------------------------------


def align(baseline: Features | np.ndarray, moving: Features | np.ndarray) -> AlignmentResult:
    """Align ``moving`` (a follow-up photo or its features) to ``baseline``; never raises for a bad fit.

    Raises ``ValueError`` only for unusable input (wrong array type or shape, features of another method).
    """
    base = baseline if isinstance(baseline, Features) else prepare(baseline)
    move = moving if isinstance(moving, Features) else prepare(moving)
    for features in (base, move):
        if features.method_version != METHOD_VERSION:
            raise ValueError(f"features from {features.method_version!r}; prepare them again")
    if min(len(base), len(move)) < MIN_INLIERS:
        return _rejected(REASON_NO_DETAIL)

    move_pts, base_pts = _match(move, base)
    matches = len(move_pts)
    homography, inlier_mask = _fit_homography(move_pts, base_pts) if matches >= MIN_INLIERS else (None, None)
    if homography is None:
        return _rejected(REASON_NO_MATCH, matches=matches)

    support = _Support(
        inliers=int(inlier_mask.sum()),
        distinct=min(_distinct(move_pts[inlier_mask]), _distinct(base_pts[inlier_mask])),
        matches=matches,
        hull_area=_hull_area(base_pts[inlier_mask]),
    )
    if not _is_supported(support):
        # A chance fit: its geometry would explain nothing (and may be degenerate), so it is not measured.
        return _rejected(REASON_NO_MATCH, matches=matches, inliers=support.inliers)
    shape = _describe(homography, move.working_size, base.working_size)
    reason = _check_geometry(support, shape)
    if reason is None:
        homography, shape = _refine(move, base, homography, support, shape)
    return AlignmentResult(
        ok=reason is None,
        matrix=None if reason else _as_matrix(_to_full_resolution(homography, move.scale, base.scale)),
        inliers=support.inliers,
        matches=matches,
        inlier_ratio=support.ratio,
        scale=shape.scale,
        rotation_deg=shape.rotation_deg,
        reason=reason,
    )


def _rejected(reason: str, matches: int = 0, inliers: int = 0) -> AlignmentResult:
    ratio = inliers / matches if matches else 0.0
    return AlignmentResult(
        ok=False, matrix=None, inliers=inliers, matches=matches, inlier_ratio=ratio,
        scale=math.nan, rotation_deg=math.nan, reason=reason,
    )


def _match(move: Features, base: Features) -> tuple[np.ndarray, np.ndarray]:
    """Putative correspondences (moving points, baseline points) passing Lowe's ratio test."""
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(move.descriptors, base.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < _RATIO * p[1].distance]
    query = np.fromiter((m.queryIdx for m in good), dtype=np.intp, count=len(good))
    train = np.fromiter((m.trainIdx for m in good), dtype=np.intp, count=len(good))
    return move.points[query], base.points[train]


def _fit_homography(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """MAGSAC++ homography src -> dst (normalised to h33 = 1) and its inlier mask; None if none was found."""
    params = cv2.UsacParams()
    params.threshold = _MAGSAC_THRESHOLD
    params.maxIterations = _MAGSAC_ITERATIONS
    params.confidence = _MAGSAC_CONFIDENCE
    params.randomGeneratorState = _SEED  # USAC keeps its own generator: seeding it makes fits reproducible
    params.score = cv2.SCORE_METHOD_MAGSAC
    params.loMethod = cv2.LOCAL_OPTIM_SIGMA
    params.sampler = cv2.SAMPLING_UNIFORM
    params.final_polisher = cv2.MAGSAC
    params.final_polisher_iterations = 20
    try:
        homography, mask = cv2.findHomography(src, dst, params)
    except cv2.error:
        return None, np.zeros(len(src), bool)
    if homography is None or homography.size != 9 or mask is None or not _invertible(homography):
        return None, np.zeros(len(src), bool)
    return homography / homography[2, 2], mask.ravel().astype(bool)


def _invertible(homography: np.ndarray) -> bool:
    if not np.all(np.isfinite(homography)) or abs(homography[2, 2]) < 1e-9:
        return False
    return abs(np.linalg.det(homography / homography[2, 2])) > 1e-9


def _refine(
    move: Features, base: Features, homography: np.ndarray, support: _Support, shape: _Shape
) -> tuple[np.ndarray, _Shape]:
    """Re-fit an accepted homography on guided matches; keep the original if a round fails or is implausible.

    Acceptance rests on the ratio-tested evidence (``support``) alone: guided matches are only ever used to
    sharpen a fit that already passed, never to rescue one that did not.
    """
    for _ in range(_GUIDED_ROUNDS):
        move_pts, base_pts = _guided_matches(move, base, homography)
        if len(move_pts) < MIN_INLIERS:
            break
        refined, _ = _fit_homography(move_pts, base_pts)
        if refined is None:
            break
        refined_shape = _describe(refined, move.working_size, base.working_size)
        if _check_geometry(support, refined_shape) is not None:
            break
        homography, shape = refined, refined_shape
    return homography, shape


def _guided_matches(move: Features, base: Features, homography: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each follow-up point paired with the most similar baseline point near where ``homography`` puts it."""
    predicted = _project(homography, move.points.astype(np.float64))
    query, candidate = _neighbours(predicted, base.points.astype(np.float64), _GUIDED_RADIUS)
    distance = np.bitwise_count(move.descriptors[query] ^ base.descriptors[candidate]).sum(axis=1)
    order = np.lexsort((distance, query))  # by query, most similar first
    query, candidate = query[order], candidate[order]
    best = np.r_[True, query[1:] != query[:-1]] if len(query) else np.zeros(0, bool)
    return move.points[query[best]], base.points[candidate[best]]


def _neighbours(query: np.ndarray, points: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (i, j) with ``|query[i] - points[j]| <= radius``, via a grid of ``radius``-sized cells.

    Exact and deterministic (unlike FLANN's randomised trees), and ~2 ms for 1500 x 1500 points, where the
    brute-force distance matrix takes ~20 ms.
    """
    cells = _cell_keys(np.floor(points / radius).astype(np.int64))
    order = np.argsort(cells, kind="stable")
    sorted_cells = cells[order]
    query_cells = np.floor(query / radius).astype(np.int64)
    pairs_q, pairs_p = [], []
    for offset in ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0), (0, 1), (1, -1), (1, 0), (1, 1)):
        keys = _cell_keys(query_cells + offset)
        first = np.searchsorted(sorted_cells, keys, "left")
        counts = np.searchsorted(sorted_cells, keys, "right") - first
        # expand each query's run [first, first + count) of sorted points into explicit pairs
        pairs_q.append(np.repeat(np.arange(len(query)), counts))
        starts = np.repeat(first - (np.cumsum(counts) - counts), counts)
        pairs_p.append(order[starts + np.arange(counts.sum())])
    q, p = np.concatenate(pairs_q), np.concatenate(pairs_p)
    close = np.sum((query[q] - points[p]) ** 2, axis=1) <= radius * radius
    return q[close], p[close]


def _cell_keys(cells: np.ndarray) -> np.ndarray:
    return cells[:, 0] * 1_000_003 + cells[:, 1]  # unique for any coordinate a photo can have


# sanity checks ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Support:
    """How much of the matching evidence agrees with the fitted homography."""

    inliers: int
    distinct: int  # inliers at distinct places in both photos
    matches: int
    hull_area: float  # of the inliers in the baseline, working px^2

    @property
    def ratio(self) -> float:
        return self.inliers / self.matches if self.matches else 0.0


def _is_supported(support: _Support) -> bool:
    return (
        support.inliers >= MIN_INLIERS
        and support.distinct >= MIN_DISTINCT_INLIERS
        and support.ratio >= MIN_INLIER_RATIO
    )


def _distinct(points: np.ndarray) -> int:
    """Number of distinct places (cells of _DISTINCT_CELL px) among ``points``.

    ORB reports a strong corner once per pyramid level and orientation, so a chance consensus on unrelated
    photos is a handful of places counted several times over; a real one spreads over many places.
    """
    return len(np.unique(_cell_keys(np.floor(points / _DISTINCT_CELL).astype(np.int64))))


@dataclass(frozen=True, eq=False)
class _Shape:
    """Geometry of a working-size homography that the sanity checks look at."""

    scale: float
    rotation_deg: float
    determinant: float
    anisotropy: float
    perspective: float
    base_corners_in_move: np.ndarray | None  # None when a corner maps to infinity or behind the camera
    overlap: float
    base_area: float
    degenerate: bool = False  # part of the follow-up maps past the horizon; nothing else was measured


def _describe(homography: np.ndarray, move_size: tuple[int, int], base_size: tuple[int, int]) -> _Shape:
    """Measure a follow-up -> baseline homography between frames of the given (width, height)."""
    move_corners, base_corners = _corners(move_size), _corners(base_size)
    base_area = float(base_size[0] * base_size[1])
    depths = _depths(homography, move_corners)
    if not np.all(depths > 0):
        # No camera move of a body area does this; measuring it would divide by zero.
        nan = math.nan
        return _Shape(nan, nan, nan, nan, math.inf, None, 0.0, base_area, degenerate=True)
    # The centre's depth is the mean of the corners', so positive too.
    jacobian = _jacobian(homography, _centre(move_size))
    a, b, c, d = jacobian.ravel()
    determinant = float(a * d - b * c)
    singular = np.linalg.svd(jacobian, compute_uv=False)
    inverse = np.linalg.inv(homography)  # _fit_homography returns invertible matrices only
    base_in_move = _project(inverse, base_corners) if np.all(_depths(inverse, base_corners) > 0) else None
    move_in_base = _project(homography, move_corners)
    return _Shape(
        scale=math.sqrt(abs(determinant)),
        # atan2 of the closest rotation; with y pointing down, positive is clockwise on screen
        rotation_deg=math.degrees(math.atan2(c - b, a + d)),
        determinant=determinant,
        anisotropy=float(singular[0] / max(singular[1], 1e-12)),
        perspective=float(depths.max() / depths.min()),
        base_corners_in_move=base_in_move,
        overlap=_convex_overlap(move_in_base, base_corners) if _is_convex(move_in_base) else 0.0,
        base_area=base_area,
    )


def _check_geometry(support: _Support, shape: _Shape) -> str | None:
    """The first plain-language reason a well-supported fit is not a re-take of the same view, or None."""
    if shape.degenerate:
        return REASON_ANGLE
    if shape.determinant <= 0:
        return REASON_MIRRORED
    if not MIN_SCALE <= shape.scale <= MAX_SCALE:
        return REASON_SCALE
    if abs(shape.rotation_deg) > MAX_ROTATION_DEG:
        return REASON_ROTATION
    if shape.anisotropy > MAX_ANISOTROPY or shape.perspective > MAX_PERSPECTIVE:
        return REASON_ANGLE
    quad = shape.base_corners_in_move
    if quad is None or not _is_convex(quad) or not _sane_area(quad, shape):
        return REASON_ANGLE
    if shape.overlap < MIN_OVERLAP:
        return REASON_OVERLAP
    if support.hull_area < MIN_INLIER_SPREAD * shape.overlap * shape.base_area:
        return REASON_SPREAD
    return None


def _sane_area(quad: np.ndarray, shape: _Shape) -> bool:
    # The baseline frame seen in the follow-up: its area follows from the scale (1/scale^2 of the baseline's),
    # give or take the perspective. A quad far off that is a degenerate fit even if each check above passed.
    expected = shape.base_area / shape.scale**2
    return 0.5 / shape.perspective <= _polygon_area(quad) / expected <= 2.0 * shape.perspective


# geometry helpers -------------------------------------------------------------------------------------------


def _corners(size: tuple[float, float]) -> np.ndarray:
    width, height = size
    return np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)


def _centre(size: tuple[float, float]) -> np.ndarray:
    return np.array([size[0] / 2, size[1] / 2], dtype=np.float64)


def _depths(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Projective denominators; all positive means no point of the frame crosses the horizon."""
    return points @ homography[2, :2] + homography[2, 2]


def _project(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(points.reshape(-1, 1, 2).astype(np.float64), homography).reshape(-1, 2)


def _jacobian(homography: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Local linear part of the homography at ``point`` (at the frame's centre: its similarity part)."""
    x, y = point
    h = homography
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    u = (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w
    v = (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w
    return np.array(
        [
            [(h[0, 0] - u * h[2, 0]) / w, (h[0, 1] - u * h[2, 1]) / w],
            [(h[1, 0] - v * h[2, 0]) / w, (h[1, 1] - v * h[2, 1]) / w],
        ]
    )


def _is_convex(quad: np.ndarray) -> bool:
    edges = np.roll(quad, -1, axis=0) - quad
    turns = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    return bool(np.all(turns > 0) or np.all(turns < 0))


def _polygon_area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def _convex_overlap(quad: np.ndarray, frame: np.ndarray) -> float:
    """Share of ``frame``'s area that the convex ``quad`` covers."""
    area, _ = cv2.intersectConvexConvex(quad.astype(np.float32), frame.astype(np.float32))
    return float(area) / _polygon_area(frame)


def _hull_area(points: np.ndarray) -> float:
    if len(points) < 3:
        return 0.0
    return float(cv2.contourArea(cv2.convexHull(points.astype(np.float32))))


def _to_full_resolution(
    homography: np.ndarray, move_scale: tuple[float, float], base_scale: tuple[float, float]
) -> np.ndarray:
    """Turn a working-size homography into one between the full-resolution images."""
    return np.linalg.inv(_scaling(base_scale)) @ homography @ _scaling(move_scale)


def _scaling(scale: tuple[float, float]) -> np.ndarray:
    """The map from photo pixels to resized pixels that cv2.resize applies."""
    # It aligns pixel centres, not pixel corners: x_resized = (x + 0.5) * scale - 0.5.
    sx, sy = scale
    return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], dtype=np.float64)


def _as_matrix(values: Sequence[Sequence[float]] | np.ndarray) -> Matrix:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (3, 3) or not np.all(np.isfinite(array)):
        raise ValueError("a homography is a finite 3 x 3 matrix")
    return tuple(tuple(float(v) for v in row) for row in array)  # type: ignore[return-value]


# rendering, metrics -----------------------------------------------------------------------------------------


def warp_to_baseline(
    moving: np.ndarray,
    matrix: Matrix | np.ndarray,
    baseline_size: tuple[int, int],
    *,
    transparent: bool = False,
) -> np.ndarray:
    """Render the follow-up photo on the baseline's canvas (``baseline_size`` = (width, height)).

    Canvas areas the follow-up does not cover are filled with ``NEUTRAL_GREY`` (RGB out), or, with
    ``transparent=True``, left transparent (RGBA out, alpha 0 there, 255 inside, blended along the edge).
    ``alpha == 255`` is then the mask of valid pixels for colour matching. ``matrix`` maps pixels of
    ``moving`` as given; a much larger ``moving`` is shrunk first, so it does not alias.
    """
    if not isinstance(moving, np.ndarray) or moving.dtype != np.uint8 or moving.shape[2:] != (3,):
        raise ValueError("moving must be an H x W x 3 uint8 RGB array")
    homography = np.asarray(_as_matrix(matrix), dtype=np.float64)
    width, height = (int(v) for v in baseline_size)
    source = moving
    if transparent:
        alpha = np.full(moving.shape[:2] + (1,), 255, np.uint8)
        source = np.concatenate([moving, alpha], axis=2)
    source, homography = _prefilter(source, homography)
    fill = (0, 0, 0, 0) if transparent else NEUTRAL_GREY
    return cv2.warpPerspective(
        source, homography, (width, height), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=fill,
    )


def _prefilter(image: np.ndarray, homography: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shrink a much larger follow-up first: warpPerspective samples without averaging and would alias."""
    height, width = image.shape[:2]
    scale = math.sqrt(abs(np.linalg.det(_jacobian(homography, _centre((width, height))))))
    if scale >= 0.75:
        return image, homography
    shrunk = _resize(image, scale)
    actual = (shrunk.shape[1] / width, shrunk.shape[0] / height)
    return shrunk, homography @ np.linalg.inv(_scaling(actual))


def corner_error(true_h: np.ndarray | Matrix, est_h: np.ndarray | Matrix, size: tuple[int, int]) -> float:
    """Mean distance in pixels between where ``true_h`` and ``est_h`` send the four corners of an image of
    ``size`` = (width, height); both map from that image's coordinates. ``inf`` if a corner goes to infinity.
    """
    corners = _corners(size)
    true_pts = _project(np.asarray(true_h, np.float64), corners)
    est_pts = _project(np.asarray(est_h, np.float64), corners)
    error = float(np.linalg.norm(true_pts - est_pts, axis=1).mean())
    return error if math.isfinite(error) else math.inf
