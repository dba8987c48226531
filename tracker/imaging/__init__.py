"""The image pipeline for photo ingestion: pure functions from upload bytes to safe derivatives.

No Flask, no database, no settings object: limits and sizes arrive as arguments, results leave as frozen
dataclasses, and every refusal is an :class:`ImageRejected`. Modules:

* :mod:`.formats`   what a file is (magic bytes + one allow-listed Pillow plugin), guarded opening;
* :mod:`.errors`    :class:`Limits` and :class:`ImageRejected` with the user-facing messages;
* :mod:`.metadata`  orientation and capture time in, metadata audit of outputs (:func:`strip_check`);
* :mod:`.srgb`      16-bit, alpha, CMYK and ICC policies, down to sRGB (:mod:`.matrix_shaper` is its fast
  path for RGB matrix/TRC profiles);
* :mod:`.normalize` the ingestion pass itself (:func:`normalize`, :func:`reencode_jpeg`);
* :mod:`.probe`     the same refusals as :func:`normalize` without building derivatives;
* :mod:`.quality`   blur and exposure warnings (advisory only);
* :mod:`.synthetic` procedural skin photos for demo data and alignment tests.
"""

from __future__ import annotations

from .errors import ImageRejected, Limits
from .formats import register_heif, sniff_format
from .metadata import strip_check
from .normalize import NormalizedPhoto, normalize, reencode_jpeg
from .probe import Probe, probe
from .quality import QualityReport

register_heif()

__all__ = [
    "ImageRejected",
    "Limits",
    "NormalizedPhoto",
    "Probe",
    "QualityReport",
    "normalize",
    "probe",
    "reencode_jpeg",
    "register_heif",
    "sniff_format",
    "strip_check",
]
