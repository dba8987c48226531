"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask
from flask_login import current_user

from tracker.models import BodyRegion, Modality, View
from tracker.models.vocab import COMMON_INDICATIONS
from tracker.security import can


def human_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {value:%b %Y}"


def human_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {value:%b %Y, %H:%M} UTC"


def init(app: Flask) -> None:
    app.jinja_env.filters["date"] = human_date
    app.jinja_env.filters["datetime"] = human_datetime
    app.jinja_env.globals.update(
        BodyRegion=BodyRegion, Modality=Modality, View=View, COMMON_INDICATIONS=COMMON_INDICATIONS,
    )

    @app.context_processor
    def _nav() -> dict[str, Any]:
        return {"can": (lambda perm: current_user.is_authenticated and can(current_user, perm))}
