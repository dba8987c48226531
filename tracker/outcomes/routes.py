"""Pages for recording sessions (the fuller outcomes pages build on these)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from tracker.errors import DomainError
from tracker.models import TreatmentCourse
from tracker.outcomes import bp, services
from tracker.outcomes.forms import SessionForm
from tracker.security import load, require
from tracker.web import form_errors


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


@bp.route("/courses/<int:course_id>/sessions/new", methods=["GET", "POST"])
@require("sessions.record")
def new_session(course_id: int) -> Any:
    course = load(TreatmentCourse, course_id, current_user)
    form = SessionForm()
    if form.validate_on_submit():
        try:
            session = services.record_session(current_user, course, performed_on=form.performed_on.data,
                                              number=form.number.data, notes=form.notes.data or "")
        except DomainError as exc:
            form_errors(form, exc)
        else:
            flash(f"Session {session.number} on {session.performed_on.isoformat()} is recorded.", "success")
            return redirect(url_for("patients.chart", patient_id=course.patient_id))
    return render_template("outcomes/session_form.html", form=form, course=course,
                           next_number=services.next_session_number(course)), (400 if form.errors else 200)
