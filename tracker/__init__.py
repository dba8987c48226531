"""The progress-photo and outcome tracker: a Flask application factory and nothing else at import time."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment (then ``config`` overrides), extensions, blueprints."""
    from tracker.app_setup import build_app

    return build_app(config)
