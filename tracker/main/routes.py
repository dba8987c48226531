"""Home: patients see their own chart; staff land on their patient list."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required

from tracker.extensions import db
from tracker.storage_setup import storage
from tracker.models import Patient
from tracker.patients import services as patient_services
from tracker.security import load

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def home() -> Any:
    if current_user.is_staff:
        return redirect(url_for("patients.index"))
    patient = load(Patient, current_user.patient_id, current_user)
    areas, courses = patient_services.load_chart(patient)
    return render_template("main/patient_home.html", patient=patient, areas=areas, courses=courses,
                           sessions_by_course=patient_services.sessions_by_course(patient))


@bp.get("/healthz")
def healthz() -> Any:
    """Readiness of the database, the photo store and (when configured) the queue. No login; no details leaked."""
    checks = {"database": _check_database(), "storage": _check_storage()}
    if current_app.config.get("REDIS_URL"):
        checks["queue"] = _check_queue()
    ok = all(checks.values())
    response = jsonify({"status": "ok" if ok else "degraded",
                        "checks": {name: "ok" if good else "unavailable" for name, good in checks.items()}})
    response.status_code = 200 if ok else 503
    return response


def _check_database() -> bool:
    try:
        db.session.execute(sa.text("SELECT 1"))
        db.session.rollback()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        db.session.rollback()
        return False


def _check_storage() -> bool:
    try:
        store = storage()
        store.put("health/probe", b"ok")
        good = store.get("health/probe") == b"ok"
        store.delete("health/probe")
        return good
    except Exception:  # noqa: BLE001
        return False


def _check_queue() -> bool:
    try:
        from redis import Redis

        return bool(Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=2).ping())
    except Exception:  # noqa: BLE001
        return False
