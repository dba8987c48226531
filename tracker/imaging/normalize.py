"""Photo ingestion: untrusted upload bytes in, upright sRGB derivatives without metadata out.

One pass, decoding once:

1. byte-count limit, type from magic bytes, header parsed by exactly one Pillow plugin, pixel limit;
2. decode straight into an array, already shrunk where the decoder allows it: RGB and grey JPEGs with a
   1/2, 1/4 or 1/8 DCT-scaled decode (libjpeg-turbo via OpenCV), CMYK JPEGs the same way through Pillow's
   ``draft``, HEIC in libheif's own buffer (area-reduced before any copy), PNG and WebP box-reduced in
   Pillow before they are copied out;
3. transparency, 16-bit and palettes become "RGB", "L" or "CMYK" (see :mod:`.srgb` for the policies);
4. area-resize to the display size, *then* convert to sRGB and rotate upright: both are cheap at display
   size and expensive at 12 MP;
5. encode the display JPEG from the bare array (nothing to carry metadata over from), derive the thumbnail
   from the display image, and score quality on it. The SHA-256 of the original is computed alongside.

Display-size rule (:func:`display_size`): with source long side S and target T (default 2048):
if S <= T the photo keeps its size (never upscaled). Otherwise, if S/k rounded up lands in
[T - T/16, T] for k = 8, 4 or 2 (largest k first), that is the display long side, because a JPEG then
decodes straight to it with a 1/k DCT scale and needs no resampling at all (4032 -> 2016, 4000 -> 2000,
3840 -> 1920, 4096 -> 2048). Otherwise the long side is exactly T, decoded at the smallest DCT scale that
stays above it and area-resampled from there (3264 -> 2048 from a full decode; 5712 -> 2048 from 2856).
The rule is the same for every format, so one photo gets the same display size whether it arrives as HEIC
or JPEG. The short side is scaled in proportion; the thumbnail is the display image fitted into 480 px.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np
from PIL import Image

from . import formats
from .errors import Limits
from .metadata import PhotoFacts, read_facts
from .quality import ANALYSIS_LONG_SIDE, QualityReport, assess
from .srgb import SourceColour, opaque_array, source_colour, working_image

DCT_FACTORS = (8, 4, 2)
SNAP_TOLERANCE = 1 / 16


@dataclass(frozen=True)
class NormalizedPhoto:
    format: str
    width: int
    height: int
    display: bytes
    display_size: tuple[int, int]
    thumb: bytes
    thumb_size: tuple[int, int]
    taken_at: datetime | None
    sha256: str
    source_profile: str | None
    quality: QualityReport


@dataclass(frozen=True)
class _Decoded:
    """A decoded frame in its stored orientation, with what is needed to make it upright sRGB."""

    fmt: str
    original_size: tuple[int, int]
    pixels: np.ndarray  # in the mode ``colour`` expects, at least as large as the size it will be shown at
    facts: PhotoFacts
    colour: SourceColour


def normalize(
    data: bytes,
    limits: Limits = Limits(),
    *,
    display_long_side: int = 2048,
    thumb_long_side: int = 480,
    jpeg_quality: int = 88,
) -> NormalizedPhoto:
    """Validate an upload and build its display and thumbnail JPEGs; raises ImageRejected."""
    fmt = formats.detect(data, limits)
    sha256 = _sha256_alongside(data)
    decoded, size = _decode(data, fmt, limits, display_long_side)
    display = _upright_srgb(decoded, size)
    # One reduction of the display image serves the quality scores and, when it is large enough, the
    # thumbnail (area-averaging it again gives the same thumbnail). Its size follows the display-size rule
    # too: a 2016-px display halves exactly to 1008 px, which is cheaper than resampling to 1024 px and
    # does not smooth away the detail the blur score measures.
    analysis, _ = display_size(_size_of(display), ANALYSIS_LONG_SIDE)
    preview = area_resize(display, analysis)
    thumb_size = fit_long_side(_size_of(display), thumb_long_side)
    thumb = area_resize(preview if max(thumb_size) <= max(analysis) else display, thumb_size)
    width, height = decoded.facts.upright_size(decoded.original_size)
    return NormalizedPhoto(
        format=decoded.fmt,
        width=width,
        height=height,
        display=encode_jpeg(display, jpeg_quality),
        display_size=_size_of(display),
        thumb=encode_jpeg(thumb, jpeg_quality),
        thumb_size=_size_of(thumb),
        taken_at=decoded.facts.taken_at,
        sha256=sha256(),
        source_profile=decoded.colour.description,
        quality=assess(cv2.cvtColor(preview, cv2.COLOR_RGB2GRAY)),
    )


def reencode_jpeg(image_bytes: bytes, *, max_long_side: int | None = None, quality: int = 88) -> bytes:
    """Re-encode one of our derivatives (e.g. for the gallery), optionally smaller, metadata-free.

    Goes through the same vetting and pipeline as :func:`normalize`, so it is also safe (and correct, upright
    sRGB) if handed an original upload. The long side follows :func:`display_size` with ``max_long_side``.
    """
    limits = Limits()
    decoded, size = _decode(image_bytes, formats.detect(image_bytes, limits), limits, max_long_side)
    return encode_jpeg(_upright_srgb(decoded, size), quality)


def display_size(size: tuple[int, int], long_side: int | None) -> tuple[tuple[int, int], int]:
    """The display size (same orientation as ``size``) and the power-of-two decode reduction to use.

    See the module docstring for the rule.
    """
    width, height = size
    longest = max(width, height)
    if long_side is None or longest <= long_side:
        return size, 1
    for factor in DCT_FACTORS:
        if long_side * (1 - SNAP_TOLERANCE) <= _ceil_div(longest, factor) <= long_side:
            return (_ceil_div(width, factor), _ceil_div(height, factor)), factor
    reduction = next(f for f in (*DCT_FACTORS, 1) if _ceil_div(longest, f) >= long_side)
    return fit_long_side(size, long_side), reduction


def fit_long_side(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """``size`` scaled down (never up) so that its long side is at most ``long_side``."""
    width, height = size
    scale = long_side / max(width, height)
    if scale >= 1:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def area_resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average downscaling. Exact halvings go first while they fit: OpenCV has a dedicated 2x path,
    several times faster than its general one, which is then left with a small remainder."""
    width, height = _size_of(pixels)
    while width >= 2 * size[0] and height >= 2 * size[1] and width % 2 == 0 and height % 2 == 0:
        width, height = width // 2, height // 2
        pixels = cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA)
    if (width, height) == size:
        return pixels
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """A baseline 4:2:0 JPEG of the pixels only (libjpeg-turbo through OpenCV).

    It is written from a bare array, so there is no source of metadata at all: OpenCV writes a JFIF header,
    quantisation and Huffman tables, and the scan, nothing else (no EXIF, GPS, XMP, IPTC, ICC or comment).
    Same encoder and tables as Pillow's at the same quality, without the copy into a Pillow image.
    Huffman optimisation stays off: it doubles the encode time for ~5% smaller files.
    """
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return encoded.tobytes()


def _sha256_alongside(data: bytes) -> Callable[[], str]:
    """Hash on a thread while the decoder runs (both release the GIL); call the result to collect it.
    A short-lived thread rather than a pool, because a pool does not survive a job worker's fork."""
    digest: list[str] = []
    thread = threading.Thread(target=lambda: digest.append(hashlib.sha256(data).hexdigest()))
    thread.start()

    def collect() -> str:
        thread.join()
        return digest[0] if digest else hashlib.sha256(data).hexdigest()

    return collect


def _decode(data: bytes, fmt: str, limits: Limits, long_side: int | None) -> tuple[_Decoded, tuple[int, int]]:
    with formats.guarded(limits):
        with formats.open_image(data, fmt, limits) as im:
            original_size = im.size
            size, reduction = display_size(original_size, long_side)
            pixels, mode = _decode_pixels(im, data, fmt, size, reduction)
            facts = read_facts(im, fmt)
            icc = im.info.get("icc_profile")
    decoded = _Decoded(fmt, original_size, pixels, facts, source_colour(icc, mode))
    return decoded, size


def _decode_pixels(
    im: Image.Image, data: bytes, fmt: str, size: tuple[int, int], reduction: int
) -> tuple[np.ndarray, str]:
    """The frame as an array, already shrunk as far as the decoder's own representation allows cheaply."""
    if fmt == "heif":
        # Shrink while the pixels are still in libheif's buffer: no 12 MP copy is ever made.
        pixels, mode = opaque_array(formats.decode_heif(data))
        return area_resize(pixels, size), mode
    if fmt == "jpeg" and im.mode in formats.OPENCV_JPEG_MODES:
        return formats.decode_jpeg(data, im.mode, reduction), im.mode
    if fmt == "jpeg" and reduction > 1:
        # CMYK stays with Pillow, which undoes Adobe's inverted CMYK and keeps the raw values an ICC
        # transform needs. It picks the largest DCT scale that keeps the image at least this big.
        im.draft(im.mode, (max(1, im.width // reduction), max(1, im.height // reduction)))
    im.load()
    working = working_image(im)
    factor = min(working.width // size[0], working.height // size[1])
    if factor >= 2:  # a PNG or WebP (no reduced decode): box-reduce before copying it out of Pillow
        working = working.reduce(factor)
    return np.asarray(working), working.mode


def _upright_srgb(decoded: _Decoded, size: tuple[int, int]) -> np.ndarray:
    # Resize before the colour conversion and the rotation: both then touch 4x fewer pixels or more.
    resized = area_resize(decoded.pixels, size)
    return decoded.facts.upright(decoded.colour.convert(resized))


def _size_of(pixels: np.ndarray) -> tuple[int, int]:
    return pixels.shape[1], pixels.shape[0]


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)
