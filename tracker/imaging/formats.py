"""Deciding what an upload is, from its content alone, and opening it without trusting it.

The type comes from magic bytes, then Pillow confirms it while opening with a one-format allow-list, so a
file can never be handled by a decoder other than the one its first bytes selected (no TIFF, PSD, EPS, SVG,
PDF, GIF, BMP or ICO parser ever sees upload bytes). The file name and the client's Content-Type are never
consulted. Every decoder failure on hostile bytes is turned into an :class:`ImageRejected` here.

Once Pillow has vetted a header, two kinds of file skip Pillow's pixel decoder for speed: RGB and grey
JPEGs are decoded by libjpeg-turbo through OpenCV, HEIC by libheif through pillow-heif, both straight into
arrays. PNG, WebP and CMYK JPEG are decoded by Pillow.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import Limits

# OpenCV's own decoder cap (default 2^30 pixels) is read on first use; make it ours. OpenCV only ever gets
# bytes whose header Pillow has already vetted, and this is the backstop if the two parsers ever disagree.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(Limits().max_pixels))

import cv2  # noqa: E402  (after the environment is set)
import numpy as np  # noqa: E402
import pillow_heif  # noqa: E402
from PIL import Image  # noqa: E402

from . import errors  # noqa: E402

# Pillow plugin ids allowed for each sniffed type. A JPEG carrying an MPF index (phone portrait and
# Ultra HDR shots) is opened by the JPEG plugin as an MPO image, so that is an outcome, not a format we ask for.
_PIL_FORMATS = {"jpeg": ["JPEG"], "png": ["PNG"], "webp": ["WEBP"], "heif": ["HEIF"]}
_PIL_RESULTS = {"jpeg": {"JPEG", "MPO"}, "png": {"PNG"}, "webp": {"WEBP"}, "heif": {"HEIF"}}

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# HEVC-coded HEIF brands; libheif here has no AV1 decoder, so AVIF brands must not sniff as HEIF.
_HEVC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_STRUCTURAL_BRANDS = {b"mif1", b"msf1", b"mif2"}
_AV1_BRANDS = {b"avif", b"avis"}

# What Pillow, pillow-heif and libjpeg/libpng/libwebp raise on malformed input, as measured on the fixtures
# and by fuzzing (tests/unit/imaging/test_fuzz.py). UnidentifiedImageError is an OSError; PNG text-chunk
# bombs raise ValueError; broken PNG chunks raise SyntaxError; short structures raise struct.error/EOFError.
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    zlib.error,
)


def register_heif() -> None:
    """Make Pillow able to open HEIC/HEIF; safe to call any number of times."""
    if "HEIF" not in Image.OPEN:
        pillow_heif.register_heif_opener()


def _tighten_pillow_bomb_limit() -> None:
    # Pillow's own guard fires while parsing the header. Keep it at least as strict as our default limit,
    # so a caller forgetting our check is still protected; never disable it.
    default = Limits().max_pixels
    if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > default:
        Image.MAX_IMAGE_PIXELS = default


def sniff_format(data: bytes) -> str | None:
    """'jpeg', 'png', 'webp' or 'heif' from the leading bytes, or None for anything else."""
    head = bytes(data[:64])
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(_PNG_MAGIC):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if _is_hevc_heif(head):
        return "heif"
    return None


def _is_hevc_heif(head: bytes) -> bool:
    if head[4:8] != b"ftyp" or len(head) < 12:
        return False
    box_size = struct.unpack(">I", head[:4])[0]
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
    brands = {major} | compatible
    if brands & _HEVC_BRANDS:
        return True
    return major in _STRUCTURAL_BRANDS and not brands & _AV1_BRANDS


def check_size(data: bytes, limits: Limits) -> None:
    if len(data) == 0:
        raise errors.empty()
    if len(data) > limits.max_bytes:
        raise errors.too_large(limits)


def detect(data: bytes, limits: Limits) -> str:
    """Byte-count limits and the sniffed type, or the matching rejection."""
    check_size(data, limits)
    fmt = sniff_format(data)
    if fmt is None:
        raise errors.unsupported_type()
    return fmt


@contextmanager
def tolerant_pillow() -> Iterator[None]:
    """Silence what Pillow reports as UserWarning about input it worked around (corrupt EXIF tags, a
    malformed MPO index): we re-encode the pixels anyway, so these are neither errors nor worth a log line.
    DecompressionBombWarning (a RuntimeWarning) is made an error instead.

    ``catch_warnings`` is process-global on Python < 3.14, so under threads the filter may briefly be another
    thread's; the pixel check in :func:`open_image` is the backstop that does not depend on it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


@contextmanager
def guarded(limits: Limits) -> Iterator[None]:
    """Run decoder calls on untrusted bytes, mapping their failures to ImageRejected."""
    with tolerant_pillow():
        try:
            yield
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise errors.too_many_pixels(limits) from exc
        except DECODE_ERRORS as exc:
            raise errors.corrupt() from exc


def open_image(data: bytes, fmt: str, limits: Limits) -> Image.Image:
    """Parse the header only, with the one Pillow plugin that ``fmt`` allows; call inside :func:`guarded`.

    The pixel limit is enforced here, before any pixel data is decoded.
    """
    if fmt == "heif" and not _boxes_complete(data):
        raise errors.corrupt()
    im = Image.open(io.BytesIO(data), formats=_PIL_FORMATS[fmt])
    if im.format not in _PIL_RESULTS[fmt]:
        raise errors.unsupported_type()
    width, height = im.size
    if width <= 0 or height <= 0:
        raise errors.corrupt()
    if width * height > limits.max_pixels:
        raise errors.too_many_pixels(limits)
    if min(width, height) < limits.min_side:
        raise errors.too_small(limits)
    return im


def _boxes_complete(data: bytes) -> bool:
    """True unless a top-level ISOBMFF box runs past the end of the file.

    libheif decodes a truncated HEIC without complaint and paints the missing tiles green, so truncation
    has to be caught here: the media data box is the last one, and a cut file leaves it short.
    """
    position = 0
    while len(data) - position >= 8:
        size = struct.unpack_from(">I", data, position)[0]
        header = 8
        if size == 1:
            if len(data) - position < 16:
                return False
            size = struct.unpack_from(">Q", data, position + 8)[0]
            header = 16
        if size == 0:  # the box extends to the end of the file
            return True
        if size < header or position + size > len(data):
            return False
        position += size
    return True


def decode_heif(data: bytes) -> np.ndarray:
    """Decode the primary HEIF image straight into an array, without a copy into a Pillow image.

    Call only after :func:`open_image` has vetted the file (type, completeness, pixel limit), and inside
    :func:`guarded`. libheif reports broken streams as ValueError or RuntimeError.
    """
    try:
        return np.asarray(pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True))
    except RuntimeError as exc:
        raise errors.corrupt() from exc


# IMREAD flags for a 1/k DCT-scaled decode, colour and grey; EXIF orientation is applied by us, once.
_JPEG_FLAGS = {
    ("RGB", 1): cv2.IMREAD_COLOR,
    ("RGB", 2): cv2.IMREAD_REDUCED_COLOR_2,
    ("RGB", 4): cv2.IMREAD_REDUCED_COLOR_4,
    ("RGB", 8): cv2.IMREAD_REDUCED_COLOR_8,
    ("L", 1): cv2.IMREAD_GRAYSCALE,
    ("L", 2): cv2.IMREAD_REDUCED_GRAYSCALE_2,
    ("L", 4): cv2.IMREAD_REDUCED_GRAYSCALE_4,
    ("L", 8): cv2.IMREAD_REDUCED_GRAYSCALE_8,
}
OPENCV_JPEG_MODES = {"RGB", "L"}


def decode_jpeg(data: bytes, mode: str, reduction: int) -> np.ndarray:
    """Decode a vetted RGB or grey JPEG at 1/``reduction`` scale, straight into an RGB or grey array.

    libjpeg-turbo through OpenCV rather than Pillow: the same decoder, but the pixels land in an array
    without Pillow's copy (a 3 MP RGB image costs ~4 ms to export from Pillow). OpenCV 5 refuses truncated
    streams, like Pillow; its EXIF rotation is switched off and the ICC profile is applied by us.
    """
    flags = _JPEG_FLAGS[(mode, reduction)] | cv2.IMREAD_IGNORE_ORIENTATION
    try:
        pixels = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    except cv2.error as exc:
        raise errors.corrupt() from exc
    if pixels is None:
        raise errors.corrupt()
    return pixels if mode == "L" else cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)


register_heif()
_tighten_pillow_bomb_limit()
