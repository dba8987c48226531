"""Flask-Login wiring: browser sessions are server-side rows (see ``LoginSession``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_login import LoginManager, current_user, login_fresh, login_user

from tracker.auth.services import session_authenticated_since, start_session, user_for_session
from tracker.errors import json_error
from tracker.models import utcnow
from tracker.web import client_ip

F = TypeVar("F", bound=Callable[..., Any])


def init_login(app: Flask, manager: LoginManager) -> None:
    manager.init_app(app)
    manager.login_view = "auth.login"
    manager.login_message = "Please sign in to continue."
    manager.login_message_category = "info"
    manager.needs_refresh_message = "Please sign in again to confirm it is you."
    manager.session_protection = "basic"
    manager.user_loader(user_for_session)

    @manager.unauthorized_handler
    def unauthorized() -> Any:
        if request.path.startswith("/api/"):
            return json_error(401, "unauthorized", "Please sign in.")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def sign_in(user: Any, remember: bool) -> None:
    """Start a browser session for a person who proved who they are (password, and the second step if on)."""
    session.clear()  # no pre-login state (or fixation) survives into the signed-in session
    user.login_token = start_session(user, ip=client_ip(), user_agent=request.user_agent.string)
    login_user(user, remember=remember and not user.is_staff)
    session.permanent = True


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or len(target) > 2000:
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


# --- re-authentication before sensitive changes (ASVS 7.5.1) -----------------------------------------

def is_fresh() -> bool:
    """Whether this browser proved its password recently: not a session restored from a remember-me cookie,
    and a sign-in or re-authentication within TRACKER_REAUTH_MINUTES."""
    if not current_user.is_authenticated or not login_fresh():
        return False
    window = timedelta(minutes=current_app.config["TRACKER_REAUTH_MINUTES"])
    return session_authenticated_since(getattr(current_user, "login_token", None), utcnow() - window)


def _same_site_referrer() -> str | None:
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return None
    return referrer.path + (f"?{referrer.query}" if referrer.query else "") if referrer.path else None


def ask_reauth() -> Any:
    """Send the person to confirm their password, then back: to this page (GET) or the page whose form was
    submitted (POST — nothing of the submission is kept; they submit again)."""
    target = request.full_path.rstrip("?") if request.method == "GET" else _same_site_referrer()
    flash("For your safety, please confirm your password before this change.", "info")
    return redirect(url_for("auth.reauthenticate", next=safe_next(target, url_for("main.home"))))


def fresh_required(view: F) -> F:
    """View decorator for sensitive changes: a recent password, or a detour to confirm it. Nothing is done
    before that, so a stolen remember-me cookie or an unattended old session cannot make the change."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user.is_authenticated and not is_fresh():
            return ask_reauth()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
