"""Flask-Login wiring: browser sessions are server-side rows (see ``LoginSession``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, redirect, request, url_for
from flask_login import LoginManager

from tracker.errors import json_error


def init_login(app: Flask, manager: LoginManager) -> None:
    from tracker.auth.services import user_for_session

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
