"""Timelines of treated areas, before/after comparison, and capture with the baseline as a ghost."""

from flask import Blueprint

bp = Blueprint("timeline", __name__, url_prefix="/timeline")

from tracker.timeline import routes  # noqa: E402,F401
