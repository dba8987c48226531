"""Benchmark of the photo-ingestion pipeline (tracker.imaging.normalize) against decode floors.

Run from the repository root: ``.venv/bin/python bench/bench_imaging.py``. Prints one ``name=value`` line per
figure (lines starting with '#' are comments). Not a test: numbers depend on the machine and its load, so
every timing is a median over short blocks of runs taken in turn (see :func:`medians`), and each ratio
compares jobs measured side by side in the same rounds.

The test photo is built in this run: a 4032x3024 JPEG, quality 92, EXIF orientation 6, with the Display P3
profile taken from fixtures/heic/arrow.heic, and real photographic detail (fixtures/gps/iphone_hdr_NO.jpg
mirror-tiled to size, plus mild sensor-like noise). A twin without the profile measures the sRGB path.

Floors: Pillow ``open`` + ``load`` of the full image for JPEG; for HEIC, pillow-heif's decode of
fixtures/heic/arrow.heic into an array (the stricter floor: it skips the copy into a Pillow image).
The naive pipeline is Pillow only: full decode, exif_transpose, ImageCms at full size, LANCZOS to 2048
and 480, both saved. PSNR compares our decoded display JPEG with an exact reference (full decode,
exif_transpose, full-size ImageCms to sRGB, LANCZOS to the same size, not re-encoded).

Targets: normalize_ratio <= 1.6, normalize_ratio_srgb <= 1.2, normalize_ratio_heic <= 1.3,
display_psnr_db >= 36, peak_rss_mb_per_photo <= 150.
"""

from __future__ import annotations

import io
import os
import math
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pillow_heif
from PIL import Image, ImageCms, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.imaging import normalize  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
QUICK = os.environ.get("TRACKER_BENCH_QUICK") == "1"  # a smoke run (tests): same code, fewer repeats
ROUNDS = 1 if QUICK else 4
BLOCK = 1 if QUICK else 3
PHOTOS_2PROC = 4 if QUICK else 20
WIDTH, HEIGHT = 4032, 3024
SRGB = ImageCms.createProfile("sRGB")


def build_photo(with_profile: bool) -> bytes:
    with Image.open(FIXTURES / "gps" / "iphone_hdr_NO.jpg") as photo:
        source = np.asarray(photo.convert("RGB"))
    pad_y, pad_x = HEIGHT - source.shape[0], WIDTH - source.shape[1]
    tiled = cv2.copyMakeBorder(source, 0, pad_y, 0, pad_x, cv2.BORDER_REFLECT)
    noise = np.random.default_rng(7).normal(0, 2.0, tiled.shape)
    pixels = np.clip(tiled + noise, 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    extra = {"icc_profile": display_p3_profile()} if with_profile else {}
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=92, exif=exif.tobytes(), **extra)
    return out.getvalue()


def display_p3_profile() -> bytes:
    with Image.open(FIXTURES / "heic" / "arrow.heic") as im:
        return im.info["icc_profile"]


def pillow_decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as im:
        im.load()


def heif_decode(data: bytes) -> None:
    np.asarray(pillow_heif.open_heif(data, convert_hdr_to_8bit=True))


def naive_pipeline(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as im:
        upright = _exact_upright_srgb(im)
    for long_side in (2048, 480):
        size = _fit(upright.size, long_side)
        upright.resize(size, Image.Resampling.LANCZOS).save(io.BytesIO(), "JPEG", quality=88)


def _exact_upright_srgb(im: Image.Image) -> Image.Image:
    upright = ImageOps.exif_transpose(im)
    icc = upright.info.get("icc_profile")
    if icc:
        upright = ImageCms.profileToProfile(upright, ImageCms.ImageCmsProfile(io.BytesIO(icc)), SRGB)
    return upright.convert("RGB")


def _fit(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    scale = long_side / max(size)
    return round(size[0] * scale), round(size[1] * scale)


def medians(jobs: dict[str, Callable[[], object]], rounds: int = ROUNDS) -> dict[str, float]:
    """Median wall time in ms per job, from ``rounds`` short blocks per job taken in turn.

    The first run of every block is not timed: it brings the allocator and the caches to that job's own
    steady state, as when a worker runs the same job back to back (measured on this VM, a page fault costs
    microseconds, and whichever job ran just before decides how many the next one takes). Alternating the
    blocks still spreads load spikes from other processes over all jobs alike.
    """
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(rounds):
        for name, job in jobs.items():
            job()
            for _ in range(BLOCK):
                start = time.perf_counter()
                job()
                samples[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def display_psnr(data: bytes) -> float:
    with Image.open(io.BytesIO(normalize(data).display)) as display:
        ours = np.asarray(display.convert("RGB"))
    with Image.open(io.BytesIO(data)) as im:
        reference = _exact_upright_srgb(im).resize(
            (ours.shape[1], ours.shape[0]), Image.Resampling.LANCZOS
        )
    return psnr(ours, np.asarray(reference))


# Peak RSS of a fresh process, read as VmHWM: on Linux ru_maxrss is inherited from the parent across fork
# and exec, so a child of this (by then large) benchmark would report the parent's peak instead of its own.
_RSS_PROBE = """
import re, sys
from pathlib import Path
from tracker.imaging import normalize

def peak_kib():
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))

base = peak_kib()
data = Path(sys.argv[1]).read_bytes()
normalize(data)
print((peak_kib() - base) / 1024)
"""


def peak_rss_mb(data: bytes) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "photo.jpg"
        path.write_bytes(data)
        result = subprocess.run(
            [sys.executable, "-c", _RSS_PROBE, str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    return float(result.stdout.strip())


def _normalize_in_worker(data: bytes) -> int:
    return len(normalize(data).display)


def photos_per_second_2proc(data: bytes) -> float:
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(_normalize_in_worker, [data, data])
        start = time.perf_counter()
        pool.map(_normalize_in_worker, [data] * PHOTOS_2PROC, chunksize=1)
        return PHOTOS_2PROC / (time.perf_counter() - start)


def main() -> None:
    p3 = build_photo(with_profile=True)
    srgb = build_photo(with_profile=False)
    heic = (FIXTURES / "heic" / "arrow.heic").read_bytes()
    runs = f"medians of {ROUNDS} blocks x {BLOCK} runs (naive: 3 x {BLOCK})"
    print(f"# 4032x3024 q92 orientation 6: {len(p3)} bytes with Display P3, {len(srgb)} without; {runs}")

    jpeg = medians(
        {
            "floor": lambda: pillow_decode(p3),
            "normalize": lambda: normalize(p3),
            "floor_srgb": lambda: pillow_decode(srgb),
            "normalize_srgb": lambda: normalize(srgb),
        }
    )
    jpeg |= medians({"naive": lambda: naive_pipeline(p3)}, rounds=1 if QUICK else 3)
    heif = medians({"floor": lambda: heif_decode(heic), "normalize": lambda: normalize(heic)})

    figures = {
        "decode_floor_ms": jpeg["floor"],
        "normalize_ms": jpeg["normalize"],
        "naive_ms": jpeg["naive"],
        "normalize_ratio": jpeg["normalize"] / jpeg["floor"],
        "naive_ratio": jpeg["naive"] / jpeg["floor"],
        "decode_floor_srgb_ms": jpeg["floor_srgb"],
        "normalize_srgb_ms": jpeg["normalize_srgb"],
        "normalize_ratio_srgb": jpeg["normalize_srgb"] / jpeg["floor_srgb"],
        "heic_decode_floor_ms": heif["floor"],
        "normalize_heic_ms": heif["normalize"],
        "normalize_ratio_heic": heif["normalize"] / heif["floor"],
        "display_psnr_db": display_psnr(p3),
        "peak_rss_mb_per_photo": peak_rss_mb(p3),
        "photos_per_s_2proc": photos_per_second_2proc(p3),
    }
    for name, value in figures.items():
        print(f"{name}={value:.2f}")


if __name__ == "__main__":
    main()
