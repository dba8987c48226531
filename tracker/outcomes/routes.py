"""Sessions, the side-effect diary, assessments, response and follow-up pages."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import audit
from tracker.auth.sessions import fresh_required
from tracker.errors import DomainError, NotFound, ValidationFailed
from tracker.models import AdverseEvent, Clinic, Patient, TreatmentArea, TreatmentCourse, TreatmentSession
from tracker.outcomes import assessments, charts, exports, regions, services
from tracker.outcomes import review as review_services
from tracker.outcomes.forms import (
    AssessmentForm, BlindedForm, DecisionForm, EventForm, ResolveForm, session_form,
)
from tracker.timeline.services import sessions_for_area
from tracker.security import can, load, require
from tracker.web import form_errors
from tracker.extensions import db

bp = Blueprint("outcomes", __name__, url_prefix="/outcomes")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


@bp.route("/courses/<int:course_id>/sessions/new", methods=["GET", "POST"])
@require("sessions.record")
def new_session(course_id: int) -> Any:
    course = load(TreatmentCourse, course_id, current_user)
    form, area_fields = session_form(course)
    if form.validate_on_submit():
        try:
            session = services.record_session(current_user, course, **form.session_fields())
        except DomainError as exc:
            form_errors(form, exc)
        else:
            flash(f"Session {session.number} on {session.performed_on.isoformat()} is recorded.", "success")
            return redirect(url_for("patients.chart", patient_id=course.patient_id))
    proposal = services.proposed_next(course, services.list_sessions(current_user, course.patient))
    return render_template("outcomes/session_form.html", form=form, course=course, area_fields=area_fields,
                           next_number=services.next_session_number(course), proposal=proposal,
                           stem_cells=course.modality.value == "stem_cell_injection"), (400 if form.errors else 200)


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@require("sessions.record")
def edit_session(session_id: int) -> Any:
    session = load(TreatmentSession, session_id, current_user)
    course = load(TreatmentCourse, session.course_id, current_user)
    injected = {link.area_id: link.injected_ml for link in session.area_links}
    prefill = {f"injected_{area_id}": ml for area_id, ml in injected.items() if ml is not None}
    form, area_fields = session_form(course, obj=session, data=prefill if request.method == "GET" else None)
    if request.method == "GET":
        form.area_ids.data = [link.area_id for link in session.area_links]
        form.injection_depth.data = session.injection_depth.value if session.injection_depth else ""
        form.anaesthesia.data = session.anaesthesia.value if session.anaesthesia else ""
    if form.validate_on_submit():
        try:
            services.update_session(current_user, session, **form.session_fields())
        except DomainError as exc:
            form_errors(form, exc)
        else:
            flash(f"Session {session.number} is updated.", "success")
            return redirect(url_for("patients.chart", patient_id=course.patient_id))
    return render_template("outcomes/session_form.html", form=form, course=course, area_fields=area_fields,
                           next_number=session.number, proposal=None, editing=True,
                           stem_cells=course.modality.value == "stem_cell_injection"), (400 if form.errors else 200)


def _diary_page(patient: Patient, form: EventForm, status: int = 200) -> Any:
    events = services.list_events(current_user, patient)
    clinic = db.session.get(Clinic, patient.clinic_id)
    return render_template("outcomes/diary.html", patient=patient, events=events, form=form,
                           resolve_form=ResolveForm(), guidance=clinic.side_effect_guidance if clinic else "",
                           staff=can(current_user, "outcomes.review")), status


def _event_form(patient: Patient) -> EventForm:
    return EventForm(areas=[(a.id, a.name) for a in patient.areas], photos=services.photo_choices(patient))


@bp.get("/patients/<int:patient_id>/diary")
def diary(patient_id: int) -> Any:
    patient = load(Patient, patient_id, current_user)
    return _diary_page(patient, _event_form(patient))


@bp.post("/patients/<int:patient_id>/diary")
def report_event(patient_id: int) -> Any:
    patient = load(Patient, patient_id, current_user)
    form = _event_form(patient)
    if form.validate_on_submit():
        try:
            event = services.report_event(current_user, patient, services.EventReport(
                kind=form.kind.data, severity=form.severity.data, onset=form.onset.data,
                description=form.description.data or "", area_id=form.area_id.data, photo_id=form.photo_id.data))
        except DomainError as exc:
            form_errors(form, exc)
        else:
            message = "Recorded."
            if event.needs_attention:
                message += " The clinic is alerted to it. If it gets worse, call the clinic now."
            flash(message, "success" if not event.needs_attention else "warning")
            return redirect(url_for("outcomes.diary", patient_id=patient.id))
    return _diary_page(patient, form, 400)


@bp.post("/events/<int:event_id>/resolve")
def resolve_event(event_id: int) -> Any:
    event = load(AdverseEvent, event_id, current_user)
    form = ResolveForm()
    if form.validate_on_submit():
        try:
            services.resolve_event(current_user, event, form.resolved_on.data)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash("Marked as resolved.", "success")
    else:
        flash(next(iter(form.errors.values()))[0], "error")
    return redirect(url_for("outcomes.diary", patient_id=event.patient_id))


# --- assessments, response, charts ----------------------------------------------------------------

def _scale_choices(area: TreatmentArea) -> list[Any]:
    from wtforms.fields.choices import SelectChoice

    rater = assessments.rater_of(current_user).value
    return [SelectChoice(s.code, s.name) for s in assessments.available_scales(area.patient.clinic_id)
            if s.rater in ("either", rater)]


def _charts(area: TreatmentArea, codes: list[str]) -> list[dict[str, Any]]:
    sessions = sessions_for_area(area)
    markers = [charts.Marker(s.performed_on, f"S{s.number}") for s in sessions]
    out = []
    for index, code in enumerate(codes):
        scale = assessments.scale_for(area.patient.clinic_id, code)
        points = [charts.Point(a.assessed_on, a.score) for a in assessments.series(current_user, area, code)]
        fixed = None if code in assessments.METRIC_SCALES else (scale.minimum, scale.maximum)
        out.append({"scale": scale, "points": points, "report": assessments.response_for(current_user, area, code),
                    "svg": charts.line_chart(points, markers, title=f"{scale.name} over time", y_range=fixed,
                                             lower_is_better=scale.lower_is_better, chart_id=f"chart-{index}")})
    return out


def _area_page(area: TreatmentArea, form: AssessmentForm, status: int = 200) -> Any:
    form.scale.choices = _scale_choices(area)
    codes = assessments.scales_in_use(current_user, area)
    return render_template("outcomes/area.html", area=area, patient=area.patient, form=form,
                           charts=_charts(area, codes), scales={s.code: s for s in assessments.available_scales(
                               area.patient.clinic_id)},
                           history=assessments.list_assessments(current_user, area)), status


@bp.get("/areas/<int:area_id>")
def area(area_id: int) -> Any:
    return _area_page(load(TreatmentArea, area_id, current_user), AssessmentForm())


def _items_from_form(scale: str) -> dict[str, float] | None:
    prefix = f"item_{scale}__"
    items = {key[len(prefix):]: value for key, value in request.form.items() if key.startswith(prefix) and value != ""}
    try:
        return {key: float(value) for key, value in items.items()} or None
    except ValueError:
        raise ValidationFailed("Item scores are numbers.", fields={"items": "Item scores are numbers."}) from None


@bp.post("/areas/<int:area_id>/assessments")
def add_assessment(area_id: int) -> Any:
    treated = load(TreatmentArea, area_id, current_user)
    form = AssessmentForm()
    form.scale.choices = _scale_choices(treated)
    if form.validate_on_submit():
        try:
            assessments.record_assessment(current_user, treated, assessments.ScoreEntry(
                scale=form.scale.data, score=form.score.data, items=_items_from_form(form.scale.data),
                assessed_on=form.assessed_on.data, note=form.note.data or ""))
        except DomainError as exc:
            form_errors(form, exc)
        else:
            flash("The assessment is recorded.", "success")
            return redirect(url_for("outcomes.area", area_id=treated.id))
    return _area_page(treated, form, 400)


# --- follow-up review -----------------------------------------------------------------------------

@bp.route("/areas/<int:area_id>/review", methods=["GET", "POST"])
@require("outcomes.review")
def review(area_id: int) -> Any:
    treated = load(TreatmentArea, area_id, current_user)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            decision = review_services.record_decision(current_user, treated, form.decision.data,
                                                       touch_up_months=form.touch_up_months.data,
                                                       note=form.note.data or "")
        except DomainError as exc:
            form_errors(form, exc)
        else:
            flash(f"Decision recorded: {decision.decision.label}.", "success")
            return redirect(url_for("outcomes.review", area_id=treated.id))
    view = review_services.follow_up(current_user, treated)
    return render_template("outcomes/review.html", area=treated, patient=treated.patient, pair=view.pair,
                           events=view.unresolved_events, charts=_charts(treated, view.scale_codes),
                           latest=view.latest, scales=view.scales, decisions=view.decisions, form=form,
                           sessions=view.sessions), (400 if form.errors else 200)


# --- clinic: cohort, blinded rating, exports ------------------------------------------------------

@bp.get("/cohort")
@require("clinic.cohort")
def cohort() -> Any:
    scale = request.args.get("scale", "davey")
    scales = assessments.available_scales(current_user.clinic_id)
    rows = review_services.cohort(current_user, scale)
    return render_template("outcomes/cohort.html", rows=rows, scale=scale, scales=scales,
                           minimum=review_services.MIN_COHORT_CELL)


@bp.route("/blinded", methods=["GET", "POST"])
@require("outcomes.blinded")
def blinded() -> Any:
    form = BlindedForm()
    if form.validate_on_submit():
        try:
            review_services.record_blinded(current_user, form.before_id.data, form.after_id.data,
                                           before_shown_left=bool(form.left_is_before.data),
                                           first=form.first.data, gais=int(form.gais.data))
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash("Rating saved. Here is the next pair.", "success")
        return redirect(url_for("outcomes.blinded"))
    pair = review_services.next_blinded_pair(current_user)
    if pair is not None:
        form.before_id.data, form.after_id.data = pair.before.id, pair.after.id
        form.left_is_before.data = int(pair.before_shown_left)
    return render_template("outcomes/blinded.html", pair=pair, form=form,
                           agreement=review_services.agreement(current_user))


def _csv(body: str, name: str) -> Response:
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/patients/<int:patient_id>/export/<kind>.csv")
def export_patient(patient_id: int, kind: str) -> Any:
    patient = load(Patient, patient_id, current_user)
    body = exports.export(current_user, kind, patient)
    audit.record("export", patient_id=patient.id, object_type="csv", object_id=kind)
    return _csv(body, f"patient-{patient.id}-{kind}.csv")


@bp.get("/export/<kind>.csv")
@require("exports.clinic")
@fresh_required
def export_clinic(kind: str) -> Any:
    body = exports.export(current_user, kind)
    audit.record("export", object_type="csv", object_id=f"clinic:{kind}")
    return _csv(body, f"clinic-{current_user.clinic_id}-{kind}.csv")


# --- regions of interest --------------------------------------------------------------------------

def _region_points_from_form() -> list[list[float]]:
    raw_points = request.form.get("points", "").strip()
    if raw_points:
        try:
            parsed = json.loads(raw_points)
        except ValueError:
            raise ValidationFailed("The outline could not be read.", fields={"points": "Draw it again."}) from None
        if not isinstance(parsed, list):
            raise ValidationFailed("The outline could not be read.", fields={"points": "Draw it again."})
        return parsed
    try:
        x, y, w, h = (float(request.form.get(k, "")) for k in ("x", "y", "w", "h"))
    except ValueError:
        raise ValidationFailed("Give the rectangle's left, top, width and height in pixels.",
                               fields={"points": "Numbers, please."}) from None
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


@bp.route("/areas/<int:area_id>/region", methods=["GET", "POST"])
@require("outcomes.review")
def region(area_id: int) -> Any:
    treated = load(TreatmentArea, area_id, current_user)
    view_key = request.values.get("view", treated.views[0] if treated.views else "")
    if view_key not in treated.views:
        raise NotFound("This area has no such view.")
    status = 200
    if request.method == "POST":
        try:
            regions.set_region(current_user, treated, view_key, _region_points_from_form())
        except DomainError as exc:
            flash(exc.message, "error")
            status = 400
        else:
            flash("Region saved; the view's photos are measured in it.", "success")
            return redirect(url_for("outcomes.area", area_id=treated.id))
    from tracker.photos.alignment import baseline_for

    return render_template("outcomes/region.html", area=treated, view_key=view_key,
                           baseline=baseline_for(treated.id, view_key),
                           roi=regions.region_of(treated.id, view_key)), status
