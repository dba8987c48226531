"""Sessions, side effects, outcome assessments, and the pure response/plateau maths."""

from flask import Blueprint

bp = Blueprint("outcomes", __name__, url_prefix="/outcomes")

from tracker.outcomes import routes  # noqa: E402,F401
