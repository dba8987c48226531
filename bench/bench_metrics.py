"""Benchmark of the striae measurements (tracker.imaging.metrics): speed, and reproducibility over re-takes.

Run from the repository root: ``.venv/bin/python bench/bench_metrics.py``.
Stdout is ``name=value`` lines plus ``#`` comments only, so a script can parse it.

The set is rebuilt on every run from fixed seeds. The baseline is a synthetic 2048 x 1536 photo of skin with
striae (tracker.imaging.synthetic, severity 0.9); the region is its central quarter (1024 x 768). Each of
RETAKES re-takes is the same patient and severity under a random mild pose (rotation +-4 deg, scale
0.95-1.05, shift +-20 px) and exposure (brightness 0.9-1.1), aligned onto the baseline by the app's own
alignment (``align`` with the baseline's features, then ``warp_to_baseline``) and measured in the same region
with the warp's coverage as the valid mask.

Keys: metrics_ms is the median of RUNS timings of ``measure`` on an aligned re-take (valid mask included);
metrics_cv_*_pct are coefficients of variation (sample standard deviation / mean, in %) of each metric over
the re-takes. Comments add the baseline's own values and the CV with the baseline included: the baseline is
not resampled by a warp, the re-takes are, which is what a real series looks like.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.imaging import align as alignment  # noqa: E402
from tracker.imaging import metrics  # noqa: E402
from tracker.imaging.synthetic import pose_matrix, striae_photo  # noqa: E402

SEED = 20240611
PATIENT = 5
SEVERITY = 0.9
WIDTH, HEIGHT = 2048, 1536
REGION = metrics.Roi.rectangle(WIDTH / 4, HEIGHT / 4, WIDTH / 2, HEIGHT / 2)
QUICK = os.environ.get("TRACKER_BENCH_QUICK") == "1"  # a smoke run (tests): same code, fewer repeats
RETAKES = 3 if QUICK else 8
RUNS = 2 if QUICK else 11
KEYS = {
    "delta_e": "metrics_cv_delta_e_pct",
    "affected_fraction": "metrics_cv_affected_pct",
    "redness_a": "metrics_cv_redness_pct",
    "texture": "metrics_cv_texture_pct",
}
EXTRA = ("striae_redness_a", "mean_l")


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def cv_pct(values: list[float]) -> float:
    return 100.0 * statistics.stdev(values) / abs(statistics.fmean(values))


def retake(rng: np.random.Generator, features: alignment.Features) -> tuple[np.ndarray, np.ndarray, float]:
    """One aligned re-take: (image on the baseline canvas, valid mask, alignment corner error in px)."""
    pose = (rng.uniform(-4, 4), rng.uniform(0.95, 1.05), rng.uniform(-20, 20), rng.uniform(-20, 20))
    pose = tuple(float(v) for v in pose)
    photo = decode(striae_photo(PATIENT, SEVERITY, WIDTH, HEIGHT, pose=pose, brightness=float(rng.uniform(0.9, 1.1))))
    fit = alignment.align(features, photo)
    if not fit.ok:
        raise SystemExit(f"# alignment failed for pose {pose}: {fit.reason}")
    truth = np.linalg.inv(pose_matrix(pose, WIDTH, HEIGHT))  # follow-up pixels -> baseline pixels
    error = alignment.corner_error(truth, fit.matrix, (WIDTH, HEIGHT))
    rgba = alignment.warp_to_baseline(photo, fit.matrix, (WIDTH, HEIGHT), transparent=True)
    return np.ascontiguousarray(rgba[..., :3]), rgba[..., 3] == 255, error


def main() -> None:
    cv2.setRNGSeed(SEED)
    rng = np.random.default_rng(SEED)
    baseline = decode(striae_photo(PATIENT, SEVERITY, WIDTH, HEIGHT))
    features = alignment.prepare(baseline)
    aligned = [retake(rng, features) for _ in range(RETAKES)]
    load_before = os.getloadavg()[0]

    image, valid, _ = aligned[0]
    metrics.measure(image, REGION, valid)  # warm-up: first calls pay for OpenCV's lazy initialisation
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        metrics.measure(image, REGION, valid)
        timings.append(1000.0 * (time.perf_counter() - start))

    base = metrics.measure(baseline, REGION)
    results = [metrics.measure(image, REGION, valid) for image, valid, _ in aligned]
    errors = [error for _, _, error in aligned]

    print(f"# {RETAKES} re-takes of synthetic patient {PATIENT} (severity {SEVERITY}) at {WIDTH}x{HEIGHT}, "
          f"region {REGION.bounds}, seed {SEED}, method {metrics.METHOD_VERSION}")
    print(f"# alignment corner error px: median {np.median(errors):.2f}, max {np.max(errors):.2f}")
    print(f"# timing: {RUNS} runs, min {min(timings):.1f} ms, max {max(timings):.1f} ms, "
          f"load average {load_before:.2f} before / {os.getloadavg()[0]:.2f} after, "
          f"{cv2.getNumThreads()} OpenCV threads")
    for field in (*KEYS, *EXTRA):
        values = [getattr(result, field) for result in results]
        print(f"# {field}: baseline {getattr(base, field):.4f}, re-takes mean {statistics.fmean(values):.4f} "
              f"(min {min(values):.4f}, max {max(values):.4f}), CV with baseline "
              f"{cv_pct([*values, getattr(base, field)]):.2f}%")
    print("# mean_l is reported without exposure correction, so it follows the re-takes' brightness")
    print(f"metrics_ms={statistics.median(timings):.1f}")
    for field, key in KEYS.items():
        print(f"{key}={cv_pct([getattr(result, field) for result in results]):.2f}")


if __name__ == "__main__":
    main()
