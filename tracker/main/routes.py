"""Home: patients see their own chart; staff land on their patient list."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, url_for
from flask_login import current_user, login_required

from tracker.main import bp
from tracker.models import Patient
from tracker.patients import services as patient_services
from tracker.security import load


@bp.get("/")
@login_required
def home() -> Any:
    if current_user.is_staff:
        return redirect(url_for("patients.index"))
    patient = load(Patient, current_user.patient_id, current_user)
    areas, courses = patient_services.load_chart(patient)
    return render_template("main/patient_home.html", patient=patient, areas=areas, courses=courses,
                           sessions_by_course=patient_services.sessions_by_course(patient))
