"""Absolute links that leave the app (e-mails) are built here, on ``TRACKER_BASE_URL``, never on the request.

A request's ``Host`` (or ``X-Forwarded-Host``) is chosen by whoever sends it: a reset link built from it would
hand the token to that host. ``url_for(..., _external=True)`` uses it, so services call :func:`external_url`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from werkzeug.routing import MapAdapter


def base_url_adapter(app: Flask) -> MapAdapter:
    """The app's routes bound to its configured public address (scheme, host, port and path prefix)."""
    parts = urlsplit(app.config["TRACKER_BASE_URL"])
    return app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)


def external_url(endpoint: str, **values: Any) -> str:
    """``https://<TRACKER_BASE_URL>/<the endpoint's path>``, whatever host the current request named."""
    return base_url_adapter(current_app).build(endpoint, values, force_external=True)
