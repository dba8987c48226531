"""Flask extensions, created unbound; ``create_app`` binds them to an app."""

from __future__ import annotations

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from tracker.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], strategy="moving-window")


def submitted_email() -> str:
    """Rate-limit key for one account: the e-mail address a reset form names (sign-in: tracker/auth/throttle.py)."""
    payload = request.get_json(silent=True) if request.is_json else None
    raw = (payload or {}).get("email") if isinstance(payload, dict) else request.form.get("email")
    return "account:" + str(raw or "").strip().lower()[:254]


def login_limit() -> str:
    """Attempts per client address (TRACKER_LOGIN_LIMIT): failed sign-ins (tracker/auth/throttle.py), resets."""
    return str(current_app.config["TRACKER_LOGIN_LIMIT"])


def account_limit() -> str:
    """Attempts per account, whatever the address (TRACKER_ACCOUNT_LIMIT): failed sign-ins (a soft lockout), resets."""
    return str(current_app.config["TRACKER_ACCOUNT_LIMIT"])


def upload_limit() -> str:
    """Photo uploads per person (TRACKER_UPLOAD_LIMIT); bounds the processing queue too."""
    return str(current_app.config["TRACKER_UPLOAD_LIMIT"])


def person_key() -> str:
    """Rate-limit key for a signed-in person, whether by browser session or API token."""
    from flask_login import current_user

    user = getattr(g, "api_user", None) or (current_user if current_user.is_authenticated else None)
    return f"user:{user.id}" if user is not None else f"ip:{get_remote_address()}"
