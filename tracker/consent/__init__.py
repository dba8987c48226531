"""Consent: what a patient agreed to, and withdrawing it."""

from flask import Blueprint

bp = Blueprint("consent", __name__, url_prefix="/consent")

from tracker.consent import routes  # noqa: E402,F401
