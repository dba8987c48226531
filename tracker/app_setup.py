"""Assembles the Flask app: settings, extensions, database pragmas, headers, blueprints, CLI."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, g, request

from tracker.config import PROJECT_ROOT, load_config

CSP = "; ".join([
    "default-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "style-src 'self'",
    "script-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def build_app(overrides: dict[str, Any] | None = None) -> Flask:
    overrides = overrides or {}
    instance_path = Path(overrides.get("TRACKER_INSTANCE_DIR") or os.environ.get("TRACKER_INSTANCE_DIR")
                         or PROJECT_ROOT / "instance")
    app = Flask(
        "tracker",
        root_path=str(PROJECT_ROOT / "tracker"),
        instance_path=str(instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    env = dict(os.environ)
    if "TRACKER_ENV" in overrides:
        env["TRACKER_ENV"] = overrides["TRACKER_ENV"]
    app.config.update(load_config(env, instance_path))
    app.config.update(overrides)
    instance_path.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)

    _init_extensions(app)
    _register_blueprints(app)
    _register_hooks(app)
    return app


def _init_extensions(app: Flask) -> None:
    from tracker.auth import sessions
    from tracker.auth.two_factor_routes import enforce_clinic_policy
    from tracker.errors import register_error_handlers
    from tracker.extensions import csrf, db, limiter, login_manager, migrate
    from tracker import request_guard
    from tracker.mail import init_mailer
    from tracker.storage_setup import init_storage

    db.init_app(app)
    from tracker import audit

    audit.install()  # changes to the record enter the audit trail with their commit
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "tracker" / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    sessions.init_login(app, login_manager)
    app.before_request(enforce_clinic_policy)
    init_mailer(app)
    init_storage(app)
    register_error_handlers(app)
    request_guard.init_app(app)  # proxies, trusted hosts, id converter, JSON and text limits (before blueprints)
    with app.app_context():
        _configure_engine(db.engine)


def _configure_engine(engine: sa.Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=5000")
        # FULL: a committed photo row survives power loss, not only a crash.
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()


def _register_blueprints(app: Flask) -> None:
    # Each blueprint is defined in the route module that fills it, so importing a feature's services never
    # imports its views; only this function gathers the web layer.
    from tracker.admin.routes import bp as admin_bp
    from tracker.api.routes import bp as api_bp
    from tracker.auth import two_factor_routes  # noqa: F401 - its views join auth_bp
    from tracker.auth.routes import bp as auth_bp
    from tracker.cli import register_cli
    from tracker.main.routes import bp as main_bp
    from tracker.patients.routes import bp as patients_bp
    from tracker.audit_views.routes import bp as audit_bp
    from tracker.consent.routes import bp as consent_bp
    from tracker.gallery.routes import bp as gallery_bp
    from tracker.gallery.public_routes import public_bp
    from tracker.outcomes.routes import bp as outcomes_bp
    from tracker.photos.routes import bp as photos_bp
    from tracker.timeline.routes import bp as timeline_bp

    for bp in (main_bp, auth_bp, patients_bp, photos_bp, timeline_bp, outcomes_bp, consent_bp, gallery_bp, public_bp,
               audit_bp, admin_bp, api_bp):
        app.register_blueprint(bp)
    register_cli(app)


def _register_hooks(app: Flask) -> None:
    from tracker import templating

    templating.init(app)

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=(), interest-cohort=()"
        if app.config["TRACKER_HSTS"]:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if getattr(g, "private_page", True) and "Cache-Control" not in headers and not request.path.startswith(
                "/static/"):
            # Pages about patients must not sit in shared or back-button caches.
            headers["Cache-Control"] = "no-store"
        return response
