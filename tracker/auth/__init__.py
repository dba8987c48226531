"""Signing in and out, passwords, invitations."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from tracker.auth import routes, two_factor_routes  # noqa: E402,F401
