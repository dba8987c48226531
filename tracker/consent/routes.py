"""The patient's consent page, withdrawal with confirmation, staff's read-only view, and consent texts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from tracker.auth.sessions import ask_reauth, fresh_required, is_fresh
from tracker.consent import services
from tracker.consent.forms import ConsentTextForm, GrantForm
from tracker.errors import DomainError
from tracker.models import Consent, ConsentScope, Patient
from tracker.security import can, load, require
from tracker.web import client_ip

bp = Blueprint("consent", __name__, url_prefix="/consent")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every consent page needs a signed-in user."""


def _grant_forms(patient: Patient) -> list[dict[str, Any]]:
    sections = []
    for scope in ConsentScope:
        text = services.current_text(patient.clinic_id, scope)
        form = GrantForm(prefix=scope.value, scope=scope.value, text_version=text.version if text else 0)
        form.area_id.choices = [SelectChoice("", "All my treated areas")] + (
            [SelectChoice(str(a.id), a.name) for a in patient.areas] if scope.per_area else [])
        sections.append({"scope": scope, "text": text, "form": form,
                         "html": services.render_markdown(text.body) if text else None})
    return sections


def _page(patient: Patient, status: int = 200) -> Any:
    return render_template("consent/index.html", patient=patient, sections=_grant_forms(patient),
                           consents=services.list_consents(current_user, patient),
                           is_patient=can(current_user, "consent.grant")), status


@bp.get("/")
def index() -> Any:
    if not can(current_user, "consent.own"):  # staff have no consent of their own: their way in is a patient
        return redirect(url_for("patients.index"))
    return _page(load(Patient, current_user.patient_id, current_user))


@bp.get("/patients/<int:patient_id>")
@require("consent.review")
def patient_consents(patient_id: int) -> Any:
    return _page(load(Patient, patient_id, current_user))


@bp.post("/grant/<scope>")
@require("consent.grant")
@fresh_required
def grant(scope: str) -> Any:
    patient = load(Patient, current_user.patient_id, current_user)
    form = GrantForm(prefix=scope)
    form.area_id.choices = [SelectChoice("", "All")] + [SelectChoice(str(a.id), a.name) for a in patient.areas]
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0], "error")
        return _page(patient, 400)
    try:
        services.grant(current_user, services.GrantRequest(
            scope=scope, text_version=form.text_version.data, signature_name=form.signature_name.data,
            area_id=form.area_id.data, agreed=bool(form.agree.data)), ip=client_ip())
    except DomainError as exc:
        flash(exc.message, "error")
        return _page(patient, exc.status)
    flash("Thank you: your consent is recorded. You can withdraw it here at any time.", "success")
    return redirect(url_for("consent.index"))


@bp.route("/<int:consent_id>/withdraw", methods=["GET", "POST"])
@require("consent.withdraw")
def withdraw(consent_id: int) -> Any:
    consent = load(Consent, consent_id, current_user)
    if request.method == "POST":
        services.withdraw(current_user, consent, ip=client_ip())
        flash("Your consent is withdrawn, effective now.", "success")
        return redirect(url_for("consent.index"))
    return render_template("consent/withdraw.html", consent=consent)


@bp.route("/texts", methods=["GET", "POST"])
@require("clinic.settings")
def texts() -> Any:
    if request.method == "POST" and not is_fresh():  # publishing the text patients sign is a sensitive change
        return ask_reauth()
    form = ConsentTextForm()
    if form.validate_on_submit():
        try:
            text = services.publish_text(current_user, form.scope.data, form.body.data)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(f"Version {text.version} of the {text.scope.value} text is now the one patients sign.", "success")
            return redirect(url_for("consent.texts"))
    current = {scope: services.current_text(current_user.clinic_id, scope) for scope in ConsentScope}
    return render_template("consent/texts.html", form=form, current=current,
                           render=services.render_markdown), (400 if form.errors else 200)
