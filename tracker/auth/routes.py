"""Sign-in, sign-out, password change and reset, accepting an invitation."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import confirm_login, current_user, login_required, logout_user

from tracker import audit
from tracker.auth import services, throttle
from tracker.auth.blueprint import bp
from tracker.auth.forms import (
    AcceptInvitationForm, ChangePasswordForm, LoginForm, NewPasswordForm, ReauthenticateForm, ResetRequestForm,
)
from tracker.auth.sessions import safe_next, sign_in
from tracker.auth.two_factor_routes import await_second_factor
from tracker.errors import DomainError
from tracker.extensions import account_limit, limiter, login_limit, submitted_email
from tracker.web import form_errors


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            with throttle.attempt(form.email.data or ""):
                user = services.authenticate(form.email.data or "", form.password.data or "")
        except DomainError as exc:
            audit.record("auth.sign_in", outcome="failed", detail={"email": (form.email.data or "")[:254]})
            flash(exc.message, "error")
            return render_template("auth/login.html", form=form), 401
        if user.two_factor_enabled:
            return await_second_factor(user, remember=bool(form.remember.data), target=request.args.get("next"))
        sign_in(user, bool(form.remember.data))
        audit.record("auth.sign_in", actor=user)
        return redirect(safe_next(request.args.get("next"), url_for("main.home")))
    return render_template("auth/login.html", form=form), (400 if form.errors else 200)


@bp.post("/logout")
def logout() -> Any:
    if current_user.is_authenticated:
        services.end_session(current_user.login_token)
        audit.record("auth.sign_out")
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/confirm", methods=["GET", "POST"])
@login_required
def reauthenticate() -> Any:
    """Confirm the password before a sensitive change; then back to where the person was going."""
    form = ReauthenticateForm()
    target = safe_next(request.args.get("next"), url_for("main.home"))
    if form.validate_on_submit():
        try:
            with throttle.attempt(current_user.email):
                services.reauthenticate(current_user, current_user.login_token, form.password.data or "")
        except DomainError as exc:
            audit.record("auth.reauthenticate", outcome="failed")
            form_errors(form, exc)
            return render_template("auth/reauthenticate.html", form=form, target=target), 401
        confirm_login()
        audit.record("auth.reauthenticate")
        return redirect(target)
    return render_template("auth/reauthenticate.html", form=form, target=target), (400 if form.errors else 200)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            with throttle.attempt(current_user.email):  # the current password is a password check too
                services.change_password(current_user, form.current_password.data or "", form.password.data or "",
                                         keep_session=current_user.login_token)
        except DomainError as exc:
            form_errors(form, exc)
        else:
            flash("Your password is changed. Other devices have been signed out.", "success")
            return redirect(url_for("main.home"))
    return render_template("auth/change_password.html", form=form), (400 if form.errors else 200)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
@limiter.limit(account_limit, methods=["POST"], key_func=submitted_email)
def request_reset() -> Any:
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data or "")
        flash("If an account exists for that address, we have sent it a link to choose a new password.", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/request_reset.html", form=form), (400 if form.errors else 200)


def _stash_token(kind: str, token: str, endpoint: str) -> Any:
    """Move a link's secret out of the URL (history, logs, Referer) into the signed session."""
    session[kind] = token
    return redirect(url_for(endpoint))


@bp.get("/reset/<token>")
def reset_password(token: str) -> Any:
    return _stash_token("reset_token", token, "auth.choose_password")


@bp.route("/reset/new", methods=["GET", "POST"])
def choose_password() -> Any:
    token = session.get("reset_token", "")
    services.check_reset_token(token)  # NotFound -> "This link is invalid or has expired."
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data or "")
        except DomainError as exc:
            form_errors(form, exc)
        else:
            session.clear()
            flash("Your password is changed. Please sign in.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/choose_password.html", form=form), (400 if form.errors else 200)


@bp.get("/invite/<token>")
def accept_invitation(token: str) -> Any:
    return _stash_token("invite_token", token, "auth.join")


@bp.route("/join", methods=["GET", "POST"])
def join() -> Any:
    token = session.get("invite_token", "")
    invitation = services.invitation_for_token(token)
    form = AcceptInvitationForm(name=invitation.name)
    if form.validate_on_submit():
        try:
            user = services.accept_invitation(token, name=form.name.data or "", password=form.password.data or "")
        except DomainError as exc:
            form_errors(form, exc)
        else:
            sign_in(user, False)
            flash(f"Welcome, {user.name}. Your account is ready.", "success")
            return redirect(url_for("main.home"))
    return render_template("auth/join.html", form=form, invitation=invitation), (400 if form.errors else 200)
