"""The before/after gallery (staff and patient side), consultation requests, and the public clinic page."""

from flask import Blueprint

bp = Blueprint("gallery", __name__, url_prefix="/gallery")
public_bp = Blueprint("public", __name__, url_prefix="/c")

from tracker.gallery import public_routes, routes  # noqa: E402,F401
