"""A cheaper check of an upload, for when a worker will make the derivatives later.

``probe`` refuses exactly what ``normalize`` would refuse for the file's *structure* (type, limits, bombs,
truncation) without building derivatives: a JPEG is decoded at 1/8 scale — the Huffman stream is still read
to the end, so a truncated file fails here — PNG and WebP are decoded fully (they have no cheaper complete
read), and a HEIC's box structure is checked for completeness while the HEVC decode is left to the worker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from . import formats
from .errors import Limits
from .metadata import read_facts


@dataclass(frozen=True)
class Probe:
    format: str
    width: int
    height: int
    taken_at: datetime | None
    sha256: str


def probe(data: bytes, limits: Limits = Limits()) -> Probe:
    """Validate an upload's structure and read its upright size and capture time; raises ImageRejected."""
    fmt = formats.detect(data, limits)
    with formats.guarded(limits):
        im = formats.open_image(data, fmt, limits)
        with im:
            if fmt == "jpeg":
                im.draft(im.mode, (max(1, im.width // 8), max(1, im.height // 8)))
            if fmt != "heif":
                im.load()
            stored = im.size if fmt != "jpeg" else _stored_size(data, fmt, limits)
            facts = read_facts(im, fmt)
    width, height = facts.upright_size(stored)
    return Probe(fmt, width, height, facts.taken_at, hashlib.sha256(data).hexdigest())


def _stored_size(data: bytes, fmt: str, limits: Limits) -> tuple[int, int]:
    # draft() shrinks im.size to the reduced decode; the header of a fresh open has the true size.
    with formats.open_image(data, fmt, limits) as im:
        return im.size
