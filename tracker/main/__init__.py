"""The front door: the home page for each role, and the health check."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from tracker.main import routes  # noqa: E402,F401
