"""The contract between an upload handler and the image pipeline: the limits it is given and the one
exception it raises when a file must be refused.

Every refusal is an :class:`ImageRejected` carrying a stable machine code, a sentence a patient can read,
and the HTTP status the web layer should answer with. Nothing else escapes the pipeline for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass

ACCEPTED_TYPES_SENTENCE = "Please upload a JPEG, PNG, WebP or HEIC photo."


@dataclass(frozen=True)
class Limits:
    """Bounds checked before any pixel is decoded."""

    max_bytes: int = 30 * 1024 * 1024
    max_pixels: int = 60_000_000
    # Shortest side a photo may have. The pipeline itself works on any size; the app asks for enough pixels to
    # compare and align (its alignment needs 16 px after downscaling).
    min_side: int = 1


class ImageRejected(Exception):
    """An upload the pipeline refuses; ``message`` is safe to show to the user as is."""

    def __init__(self, code: str, message: str, http_status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status

    def __repr__(self) -> str:
        return f"ImageRejected({self.code!r}, {self.message!r}, {self.http_status})"


def empty() -> ImageRejected:
    return ImageRejected("empty", "The file is empty.", 400)


def too_large(limits: Limits) -> ImageRejected:
    return ImageRejected("too_large", f"The file is too large (max {format_bytes(limits.max_bytes)}).", 413)


def too_many_pixels(limits: Limits) -> ImageRejected:
    return ImageRejected(
        "too_many_pixels", f"Image dimensions too large (max {format_pixels(limits.max_pixels)}).", 400
    )


def too_small(limits: Limits) -> ImageRejected:
    return ImageRejected(
        "too_small", f"The image is too small to be a progress photo (at least {limits.min_side} pixels on each "
                     "side).", 400)


def unsupported_type() -> ImageRejected:
    return ImageRejected("unsupported_type", f"Unsupported file type. {ACCEPTED_TYPES_SENTENCE}", 415)


def corrupt() -> ImageRejected:
    return ImageRejected("corrupt", "The image is corrupted or incomplete.", 400)


def format_bytes(n: int) -> str:
    """Binary units labelled the way people read them: 30 MiB is shown as "30 MB"."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size:
            return f"{_short_number(n / size)} {unit}"
    return f"{n} bytes"


def format_pixels(n: int) -> str:
    if n >= 100_000:
        return f"{_short_number(n / 1_000_000)} MP"
    return f"{n} pixels"


def _short_number(x: float) -> str:
    return f"{round(x, 1):g}"
