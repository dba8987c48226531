"""The clinic admin's staff and invitations page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.admin import services
from tracker.admin.forms import ActiveForm, CustomScaleForm, OutcomeSettingsForm, RoleForm, StaffInvitationForm
from tracker.auth.services import create_invitation, revoke_invitation
from tracker.auth.sessions import fresh_required
from tracker.errors import DomainError, ValidationFailed
from tracker.extensions import db
from tracker.models import Clinic, Invitation, Role, User, utcnow
from tracker.security import load, require
from tracker.web import attempt, form_errors

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in clinic admin (role checked per view)."""


def _page(form: StaffInvitationForm, status: int = 200) -> Any:
    return render_template("admin/staff.html", form=form, staff=services.list_staff(current_user),
                           invitations=services.list_invitations(current_user), now=utcnow(),
                           role_form=RoleForm(), active_form=ActiveForm()), status


@bp.get("/staff")
@require("staff.manage")
def staff() -> Any:
    return _page(StaffInvitationForm())


@bp.post("/invitations")
@require("staff.manage")
@fresh_required
def invite() -> Any:
    form = StaffInvitationForm()
    if form.validate_on_submit():
        try:
            create_invitation(current_user, email=form.email.data or "", name=form.name.data or "",
                              role=Role(form.role.data))
        except DomainError as exc:
            form_errors(form, exc)
        else:
            flash(f"An invitation is on its way to {form.email.data}.", "success")
            return redirect(url_for("admin.staff"))
    return _page(form, 400)


@bp.post("/invitations/<int:invitation_id>/revoke")
@require("staff.manage")
def revoke(invitation_id: int) -> Any:
    revoke_invitation(load(Invitation, invitation_id, current_user))
    flash("The invitation is withdrawn; its link no longer works.", "info")
    return redirect(url_for("admin.staff"))


@bp.post("/users/<int:user_id>/active")
@require("staff.manage")
@fresh_required
def set_active(user_id: int) -> Any:
    user = load(User, user_id, current_user)
    form = ActiveForm()
    if not form.validate_on_submit():
        return redirect(url_for("admin.staff"))
    active = form.active.data == "1"
    return attempt(lambda: services.set_active(current_user, user, active),
                   lambda: f"{user.name} is {'enabled' if active else 'disabled and signed out'}.", url_for("admin.staff"))


@bp.post("/users/<int:user_id>/role")
@require("staff.manage")
@fresh_required
def set_role(user_id: int) -> Any:
    user = load(User, user_id, current_user)
    form = RoleForm()
    if not form.validate_on_submit():
        return redirect(url_for("admin.staff"))
    return attempt(lambda: services.change_role(current_user, user, Role(form.role.data)),
                   lambda: f"{user.name} is now {user.role.label.lower()}.", url_for("admin.staff"))


@bp.post("/users/<int:user_id>/two-factor/reset")
@require("staff.manage")
@fresh_required
def reset_two_factor(user_id: int) -> Any:
    user = load(User, user_id, current_user)
    return attempt(lambda: services.reset_two_factor(current_user, user),
                   lambda: f"{user.name}'s two-step sign-in is reset: their next sign-in needs only the password.",
                   url_for("admin.staff"))


@bp.post("/two-factor-policy")
@require("staff.manage")
@fresh_required
def two_factor_policy() -> Any:
    required = request.form.get("required") == "1"
    services.set_two_factor_policy(current_user, required)
    flash("Staff must now sign in with an authenticator app too." if required
          else "Two-step sign-in is now each person's choice.", "success")
    return redirect(url_for("admin.staff"))


def _mids_from_form(codes: list[str]) -> dict[str, dict[str, float]]:
    mids: dict[str, dict[str, float]] = {}
    for code in codes:
        raw, unit = request.form.get(f"mid_{code}", "").strip(), request.form.get(f"unit_{code}", "points")
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            raise ValidationFailed(f"The minimal important difference for {code} is a number.",
                                   fields={f"mid_{code}": "A number."}) from None
        mids[code] = {"fraction": value / 100} if unit == "percent" else {"points": value}
    return mids


def _settings_page(form: OutcomeSettingsForm, scale_form: CustomScaleForm, status: int = 200) -> Any:
    from tracker.outcomes.assessments import METRIC_SCALES, available_scales, clinic_settings

    settings = clinic_settings(current_user.clinic_id)
    return render_template("admin/settings.html", form=form, scale_form=scale_form,
                           scales=available_scales(current_user.clinic_id), metrics=METRIC_SCALES,
                           mids=settings.get("mid") or {}), status


@bp.route("/settings", methods=["GET", "POST"])
@require("clinic.settings")
def settings() -> Any:
    from tracker.outcomes.assessments import METRIC_SCALES, available_scales, clinic_settings

    clinic = db.session.get(Clinic, current_user.clinic_id)
    stored = clinic_settings(current_user.clinic_id)
    start, end = stored.get("window") or (28, 84)
    form = OutcomeSettingsForm(window_start=start, window_end=end, guidance=clinic.side_effect_guidance)
    if form.validate_on_submit():
        codes = [s.code for s in available_scales(current_user.clinic_id)] + list(METRIC_SCALES)
        try:
            services.update_outcome_settings(current_user, window=(form.window_start.data, form.window_end.data),
                                             mids=_mids_from_form(codes), guidance=form.guidance.data or "")
        except DomainError as exc:
            form_errors(form, exc)
        else:
            flash("Settings saved.", "success")
            return redirect(url_for("admin.settings"))
    return _settings_page(form, CustomScaleForm(), 400 if form.errors else 200)


@bp.post("/settings/scales")
@require("clinic.settings")
def add_scale() -> Any:
    scale_form = CustomScaleForm()
    if scale_form.validate_on_submit():
        try:
            services.add_custom_scale(current_user, code=scale_form.code.data, name=scale_form.name.data,
                                      minimum=scale_form.minimum.data, maximum=scale_form.maximum.data,
                                      lower_is_better=scale_form.lower_is_better.data == "1", mid=scale_form.mid.data)
        except DomainError as exc:
            form_errors(scale_form, exc)
        else:
            flash(f"Scale “{scale_form.name.data}” added.", "success")
            return redirect(url_for("admin.settings"))
    clinic = db.session.get(Clinic, current_user.clinic_id)
    return _settings_page(OutcomeSettingsForm(guidance=clinic.side_effect_guidance), scale_form, 400)
