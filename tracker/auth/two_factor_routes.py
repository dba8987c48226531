"""Two-step sign-in pages: the second step after the password, and the page where a person turns it on or off."""

from __future__ import annotations

import io
import time
from typing import Any

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from tracker import audit
from tracker.auth import throttle, totp, two_factor
from tracker.auth.blueprint import bp
from tracker.auth.forms import TwoFactorCodeForm
from tracker.auth.sessions import fresh_required, safe_next, sign_in
from tracker.errors import DomainError, NotFound
from tracker.extensions import db
from tracker.models import User
from tracker.web import attempt, form_errors

PENDING_SECONDS = 300  # the password step is good for five minutes
ISSUER = "Progress Tracker"


# --- the second step of signing in -------------------------------------------------------------------

def await_second_factor(user: User, *, remember: bool, target: str | None) -> Any:
    """After a correct password for an account with two-step sign-in: no session yet, only a short-lived,
    signed note of who passed the first step."""
    session.clear()
    session["2fa_user"] = user.id
    session["2fa_at"] = time.time()
    session["2fa_remember"] = remember
    session["2fa_next"] = target or ""
    return redirect(url_for("auth.two_step"))


def _pending_user() -> User | None:
    user_id, started = session.get("2fa_user"), session.get("2fa_at")
    if not isinstance(user_id, int) or not isinstance(started, (int, float)):
        return None
    if time.time() - started > PENDING_SECONDS:
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and user.active and user.two_factor_enabled else None


@bp.route("/two-step", methods=["GET", "POST"])
def two_step() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    user = _pending_user()
    if user is None:
        session.clear()
        flash("Please sign in again: the first step was too long ago.", "info")
        return redirect(url_for("auth.login"))
    form = TwoFactorCodeForm()
    if form.validate_on_submit():
        try:
            with throttle.attempt(user.email):
                kind = two_factor.check(user, form.code.data or "")
        except DomainError as exc:
            audit.record("auth.sign_in", actor=user, outcome="failed", detail={"step": "two_factor"})
            form_errors(form, exc)
            return render_template("auth/two_step.html", form=form), 401
        remember, target = bool(session.get("2fa_remember")), session.get("2fa_next")
        sign_in(user, remember)
        audit.record("auth.sign_in", actor=user, detail={"second_factor": kind})
        if kind == "recovery_code":
            left = two_factor.remaining_recovery_codes(user)
            flash(f"You signed in with a recovery code; {left} left. If your phone is lost, turn two-step sign-in "
                  "off and on again to move it to a new one.", "info")
        return redirect(safe_next(target, url_for("main.home")))
    return render_template("auth/two_step.html", form=form), (400 if form.errors else 200)


# --- turning it on and off -----------------------------------------------------------------------------

def _settings(form: TwoFactorCodeForm | None = None, codes: list[str] | None = None, status: int = 200) -> Any:
    user = current_user
    pending = user.totp_secret is not None and not user.two_factor_enabled
    return render_template("auth/two_factor.html", form=form or TwoFactorCodeForm(), codes=codes, pending=pending,
                           secret=totp.grouped(user.totp_secret) if pending else None,
                           remaining=two_factor.remaining_recovery_codes(user) if user.two_factor_enabled else 0,
                           required=user.two_factor_required), status


@bp.get("/two-factor")
@login_required
def two_factor_page() -> Any:
    return _settings()


@bp.post("/two-factor/start")
@login_required
@fresh_required
def two_factor_start() -> Any:
    try:
        two_factor.start_enrolment(current_user)
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("auth.two_factor_page"))


@bp.get("/two-factor/qr.svg")
@login_required
def two_factor_qr() -> Any:
    """The QR code an authenticator app scans, only while setting up (the secret is never shown again)."""
    import segno

    user = current_user
    if user.totp_secret is None or user.two_factor_enabled:
        raise NotFound()
    uri = totp.provisioning_uri(user.totp_secret, account=user.email, issuer=ISSUER)
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=6, border=2, xmldecl=False,
                                    title="QR code for your authenticator app")
    return Response(buffer.getvalue(), mimetype="image/svg+xml")


@bp.post("/two-factor/confirm")
@login_required
@fresh_required
def two_factor_confirm() -> Any:
    form = TwoFactorCodeForm()
    if not form.validate_on_submit():
        return _settings(form, status=400)
    try:
        codes = two_factor.confirm_enrolment(current_user, form.code.data or "")
    except DomainError as exc:
        form_errors(form, exc)
        return _settings(form, status=exc.status)
    flash("Two-step sign-in is on. Keep these recovery codes somewhere safe: each works once, instead of your "
          "phone.", "success")
    return _settings(codes=codes)


@bp.post("/two-factor/recovery-codes")
@login_required
@fresh_required
def two_factor_new_codes() -> Any:
    try:
        codes = two_factor.new_recovery_codes(current_user)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("auth.two_factor_page"))
    flash("New recovery codes: the old ones no longer work.", "success")
    return _settings(codes=codes)


@bp.post("/two-factor/off")
@login_required
@fresh_required
def two_factor_off() -> Any:
    return attempt(lambda: two_factor.turn_off(current_user, current_user),
                   lambda: "Two-step sign-in is off: your password alone signs you in.",
                   url_for("auth.two_factor_page"))


def requires_setup() -> bool:
    """Staff of a clinic that requires two-step sign-in who have not set it up yet."""
    user = current_user
    return bool(user.is_authenticated and user.two_factor_required and not user.two_factor_enabled)


SETUP_ENDPOINTS = {"auth.two_factor_page", "auth.two_factor_start", "auth.two_factor_qr", "auth.two_factor_confirm",
                   "auth.logout", "auth.reauthenticate", "static", "main.healthz"}


def enforce_clinic_policy() -> Any:
    """before_request: staff who must use two-step sign-in but have not set it up can do only that."""
    if request.blueprint == "api" or request.endpoint in SETUP_ENDPOINTS or request.endpoint is None:
        return None
    if requires_setup():
        flash("Your clinic requires two-step sign-in for staff. Set it up to continue.", "info")
        return redirect(url_for("auth.two_factor_page"))
    return None
