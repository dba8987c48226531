"""Photos: upload, view, edit, delete; the bytes are served only through views that check access."""

from flask import Blueprint

bp = Blueprint("photos", __name__, url_prefix="/photos")

from tracker.photos import routes  # noqa: E402,F401
