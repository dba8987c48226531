"""The clinic admin's staff and invitations page."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from tracker.admin import bp, services
from tracker.admin.forms import ActiveForm, RoleForm, StaffInvitationForm
from tracker.auth.services import create_invitation, revoke_invitation
from tracker.errors import DomainError
from tracker.models import Invitation, Role, User, utcnow
from tracker.security import load, require
from tracker.web import form_errors


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
def set_active(user_id: int) -> Any:
    user = load(User, user_id, current_user)
    form = ActiveForm()
    if form.validate_on_submit():
        active = form.active.data == "1"
        try:
            services.set_active(current_user, user, active)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(f"{user.name} is {'enabled' if active else 'disabled and signed out'}.", "success")
    return redirect(url_for("admin.staff"))


@bp.post("/users/<int:user_id>/role")
@require("staff.manage")
def set_role(user_id: int) -> Any:
    user = load(User, user_id, current_user)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            services.change_role(current_user, user, Role(form.role.data))
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(f"{user.name} is now {user.role.label.lower()}.", "success")
    return redirect(url_for("admin.staff"))
