"""Patient records: the practitioner's patient list, the patient chart, areas and courses."""

from flask import Blueprint

bp = Blueprint("patients", __name__, url_prefix="/patients")

from tracker.patients import routes  # noqa: E402,F401
