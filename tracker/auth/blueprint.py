"""The ``auth`` blueprint, shared by its two route modules (``routes`` and ``two_factor_routes``).

It lives in its own module so that importing anything of ``tracker.auth`` (services, sessions, passwords) never
pulls in the web layer; ``tracker.app_setup`` imports the route modules, which attach their views to it.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")
