"""Turning whatever pixels a photo stores into 8-bit sRGB.

Policies (each one pinned by a fixture test):

* ICC: the embedded profile is honoured (Display P3, Adobe RGB, CMYK, grey, even the channel-swapping
  "RGB-to-GBR" test profile), perceptual intent, which for matrix/TRC profiles is relative colorimetric.
  A profile that behaves as sRGB is detected numerically and skipped. A profile LittleCMS cannot use, or
  whose colour space does not match the pixels, is ignored and the pixels are taken as sRGB, which is what
  browsers do.
* Speed: RGB matrix/TRC profiles run through :mod:`.matrix_shaper`, but only after it has been checked
  against LittleCMS on a colour grid; anything else goes through LittleCMS. Either way the recipe is built
  once per distinct profile (keyed by the SHA-256 of its bytes) and kept in a small LRU.
* Untagged pixels are sRGB by convention; untagged CMYK gets Pillow's plain CMYK->RGB conversion.
* 16-bit grey ("I;16", "I"): samples are scaled to 8 bits as value/257, as the PNG spec defines them. Pillow's
  own convert("L") clips instead, which turns any real 16-bit photo white; a file whose samples only use
  0-255 (fixture bitdepth/i_trns.png) therefore comes out nearly black, by design.
* Transparency (alpha channel, tRNS key, palette transparency) is flattened onto white, in the source colour
  space before conversion; white maps to white under these intents.
* Output carries no ICC profile: untagged JPEG is sRGB by convention, and 0.5-3 KB per derivative is saved.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO

import cv2
import numpy as np
from PIL import Image, ImageCms

from . import matrix_shaper

# Profile colour space (ICC header) -> the pixel mode it can describe.
_PROFILE_MODES = {"RGB": "RGB", "GRAY": "L", "CMYK": "CMYK"}
_GREY_MODES = {"1", "L", "LA", "La"}
_SIXTEEN_BIT_GREY = {"I", "I;16", "I;16L", "I;16B", "I;16N"}
_DESCRIPTION_MAX = 100
# Grid used to compare a recipe with LittleCMS: 18 levels per channel hit 0 and 255 exactly (step 15).
_GRID_LEVELS = 18
# sRGB-equivalent if LittleCMS moves no channel of the grid by more than this.
_SRGB_TOLERANCE = 1
# The fast matrix/TRC path must agree with LittleCMS this closely on the grid to be used.
_FAST_MAX_ERROR = 2
_FAST_MEAN_ERROR = 0.25
_CACHE_SIZE = 16

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))

Converter = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SourceColour:
    """How pixels of one mode and profile become sRGB: ``convert`` takes an array in that mode and returns
    an (H, W, 3) uint8 sRGB array; ``description`` names the profile."""

    convert: Converter
    description: str | None


def working_image(im: Image.Image) -> Image.Image:
    """A loaded frame in mode "RGB", "L" or "CMYK", transparency flattened onto white."""
    if im.mode in _SIXTEEN_BIT_GREY:
        return to_image(_sixteen_bit_grey(im), "L")
    if im.mode == "CMYK" or (im.mode in ("RGB", "L") and "transparency" not in im.info):
        return im
    target = "L" if im.mode in _GREY_MODES else "RGB"
    if not im.has_transparency_data:
        return im.convert(target)
    return _flatten_on_white(im.convert(target + "A"), target)


def opaque_array(pixels: np.ndarray) -> tuple[np.ndarray, str]:
    """A decoded 8-bit array (grey, grey+alpha, RGB or RGBA) and its mode, "RGB" or "L", alpha flattened."""
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    target = "L" if channels <= 2 else "RGB"
    if channels in (2, 4):
        pixels = np.asarray(_flatten_on_white(to_image(pixels, target + "A"), target))
    return pixels, target


def _flatten_on_white(im: Image.Image, target: str) -> Image.Image:
    # Pillow blends in C, 8 bits at a time: no full-size wide-integer temporaries for a 60 MP PNG.
    background = Image.new(target, im.size, 255 if target == "L" else (255, 255, 255))
    background.paste(im.convert(target), mask=im.getchannel("A"))
    return background


def _sixteen_bit_grey(im: Image.Image) -> np.ndarray:
    samples = np.asarray(im)
    if samples.dtype != np.uint16:  # mode "I": 32-bit, whatever its range
        samples = np.clip(samples, 0, 65535).astype(np.uint16)
    grey = cv2.convertScaleAbs(samples, alpha=1 / 257)
    key = im.info.get("transparency")
    if isinstance(key, int):
        grey[samples == key] = 255
    return grey


def to_image(pixels: np.ndarray, mode: str) -> Image.Image:
    height, width = pixels.shape[:2]
    return Image.frombuffer(mode, (width, height), np.ascontiguousarray(pixels), "raw", mode, 0, 1)


def source_colour(icc: bytes | None, mode: str) -> SourceColour:
    """The cached recipe for pixels of ``mode`` tagged with ``icc`` (None when untagged)."""
    if not icc:
        return SourceColour(convert=_UNTAGGED[mode], description=None)
    return _CACHE.get((hashlib.sha256(icc).digest(), mode), lambda: _build(icc, mode))


# Untagged means sRGB; grey and CMYK only need their channels rearranged (CMYK the naive way).
_UNTAGGED: dict[str, Converter] = {
    "RGB": lambda pixels: pixels,
    "L": lambda pixels: cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB),
    "CMYK": lambda pixels: np.asarray(to_image(pixels, "CMYK").convert("RGB")),
}


def _build(icc: bytes, mode: str) -> SourceColour:
    untagged = SourceColour(convert=_UNTAGGED[mode], description=None)
    try:
        profile = ImageCms.ImageCmsProfile(BytesIO(icc))
        if _PROFILE_MODES.get(profile.profile.xcolor_space.strip()) != mode:
            return untagged
        transform = ImageCms.buildTransform(profile, _SRGB, mode, "RGB")
        description = _description(profile)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return untagged
    return _fastest(icc, profile, transform, mode, description)


def _fastest(
    icc: bytes,
    profile: ImageCms.ImageCmsProfile,
    transform: ImageCms.ImageCmsTransform,
    mode: str,
    description: str | None,
) -> SourceColour:
    """The cheapest recipe that gives LittleCMS's result: nothing for sRGB-like profiles, the matrix path
    when it agrees with LittleCMS on a colour grid, else LittleCMS itself."""

    def through_lcms(pixels: np.ndarray) -> np.ndarray:
        return np.asarray(ImageCms.applyTransform(to_image(pixels, mode), transform))

    if mode != "RGB":
        return SourceColour(convert=through_lcms, description=description)
    grid = _colour_grid()
    reference = through_lcms(grid).astype(np.int16)
    if np.abs(reference - grid).max() <= _SRGB_TOLERANCE:
        return SourceColour(convert=_UNTAGGED["RGB"], description=description)
    fast = matrix_shaper.build(icc, profile, _SRGB)
    if fast is None or not _agrees(fast.apply(grid), reference):
        return SourceColour(convert=through_lcms, description=description)
    return SourceColour(convert=fast.apply, description=description)


def _colour_grid() -> np.ndarray:
    levels = np.linspace(0, 255, _GRID_LEVELS).round().astype(np.uint8)
    return np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)


def _agrees(candidate: np.ndarray, reference: np.ndarray) -> bool:
    error = np.abs(candidate.astype(np.int16) - reference)
    return bool(error.max() <= _FAST_MAX_ERROR and error.mean() <= _FAST_MEAN_ERROR)


def _description(profile: ImageCms.ImageCmsProfile) -> str | None:
    # The text is the uploader's; keep it short and printable. Callers still escape it when showing it.
    text = ImageCms.getProfileDescription(profile)
    cleaned = "".join(ch for ch in text if ch.isprintable()).strip()
    return cleaned[:_DESCRIPTION_MAX] or None


class _LruCache:
    """A small thread-safe LRU; bounded because every upload can bring a new profile."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[bytes, str], SourceColour] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[bytes, str], build: Callable[[], SourceColour]) -> SourceColour:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CACHE = _LruCache(_CACHE_SIZE)
