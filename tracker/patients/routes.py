"""Pages for staff working with patient records (and for a patient reading their own chart)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import audit
from tracker.errors import DomainError
from tracker.models import Patient, TreatmentArea
from tracker.patients import services
from tracker.patients.forms import AreaForm, CourseForm, PatientForm
from tracker.outcomes import services as outcome_services
from tracker.photos import services as photo_services
from tracker.photos.forms import UploadForm
from tracker.security import can, load, load_child, require
from tracker.web import attempt, form_errors, int_arg

bp = Blueprint("patients", __name__, url_prefix="/patients")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user; role and object checks follow per view."""


@bp.get("/")
@require("patients.create")
def index() -> Any:
    q = request.args.get("q", "")
    sort = request.args.get("sort", "name")
    result = services.search_patients(current_user, q=q, page=int_arg("page", 1), sort=sort,
                                      per_page=current_app.config["TRACKER_PAGE_SIZE"])
    return render_template("patients/index.html", result=result, q=q, sort=sort, sorts=services.PATIENT_SORTS,
                           due=outcome_services.due_sessions(current_user),
                           attention=outcome_services.events_needing_attention(current_user))


@bp.route("/new", methods=["GET", "POST"])
@require("patients.create")
def new() -> Any:
    form = PatientForm()
    if form.validate_on_submit():
        try:
            patient = services.create_patient(
                current_user, full_name=form.full_name.data or "", email=form.email.data,
                date_of_birth=form.date_of_birth.data, fitzpatrick=form.fitzpatrick_value,
                external_ref=form.external_ref.data or "")
        except DomainError as exc:
            form_errors(form, exc)
        else:
            flash(f"{patient.full_name} is added.", "success")
            if form.send_invitation.data:
                return _invite(patient)
            return redirect(url_for("patients.chart", patient_id=patient.id))
    return render_template("patients/new.html", form=form), (400 if form.errors else 200)


@bp.get("/<int:patient_id>")
def chart(patient_id: int) -> Any:
    patient = load(Patient, patient_id, current_user)
    areas, courses = services.load_chart(patient)
    return render_template("patients/chart.html", patient=patient, areas=areas, courses=courses,
                           sessions_by_course=services.sessions_by_course(patient),
                           staff=can(current_user, "areas.create"))


def _invite(patient: Patient) -> Any:
    return attempt(lambda: services.invite_patient(current_user, patient),
                   lambda: f"An invitation is on its way to {patient.email}.",
                   url_for("patients.chart", patient_id=patient.id))


@bp.post("/<int:patient_id>/invite")
@require("patients.invite")
def invite(patient_id: int) -> Any:
    return _invite(load(Patient, patient_id, current_user))


@bp.route("/<int:patient_id>/areas/new", methods=["GET", "POST"])
@require("areas.create")
def new_area(patient_id: int) -> Any:
    patient = load(Patient, patient_id, current_user)
    form = AreaForm()
    if form.validate_on_submit():
        try:
            area = services.create_area(current_user, patient, name=form.name.data or "",
                                        body_region=form.body_region.data or "", views=form.views.data or [])
        except DomainError as exc:
            form_errors(form, exc)
        else:
            flash(f"Area “{area.name}” is added.", "success")
            return redirect(url_for("patients.chart", patient_id=patient.id))
    return render_template("patients/area_form.html", form=form, patient=patient), (400 if form.errors else 200)


@bp.get("/<int:patient_id>/areas/<int:area_id>")
def area(patient_id: int, area_id: int) -> Any:
    patient = load(Patient, patient_id, current_user)
    treated_area = load_child(TreatmentArea, area_id, current_user, patient_id=patient.id)
    photos = photo_services.list_photos(current_user, treated_area)
    audit.record("photos.list", patient_id=patient.id, object_type="area", object_id=treated_area.id,
                 detail={"photos": len(photos)})
    return render_template("patients/area.html", patient=patient, area=treated_area, photos=photos,
                           upload_form=UploadForm(area=treated_area))


@bp.route("/<int:patient_id>/courses/new", methods=["GET", "POST"])
@require("courses.create")
def new_course(patient_id: int) -> Any:
    patient = load(Patient, patient_id, current_user)
    areas, _ = services.load_chart(patient)
    form = CourseForm(areas=[(a.id, a.name) for a in areas])
    if not areas:
        flash("Add a treated area first: a course treats one or more areas.", "info")
        return redirect(url_for("patients.new_area", patient_id=patient.id))
    if form.validate_on_submit():
        try:
            services.create_course(
                current_user, patient, indication=form.indication.data or "", modality=form.modality.data or "",
                planned_sessions=form.planned_sessions.data or 0, interval_weeks=form.interval_weeks.data or 0,
                start_date=form.start_date.data, area_ids=form.area_ids.data or [], notes=form.notes.data or "")
        except DomainError as exc:
            form_errors(form, exc)
        else:
            flash("The treatment course is added.", "success")
            return redirect(url_for("patients.chart", patient_id=patient.id))
    return render_template("patients/course_form.html", form=form, patient=patient), (400 if form.errors else 200)
