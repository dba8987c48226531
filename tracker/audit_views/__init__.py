"""Reading the audit trail: the clinic admin's search and the patient's access log. (Writing: tracker.audit.)"""

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from tracker.audit_views import routes  # noqa: E402,F401
