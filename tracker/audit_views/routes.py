"""Audit pages. There is deliberately no route that changes or deletes an entry."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from tracker import audit_search
from tracker.security import require
from tracker.web import id_arg, int_arg

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every audit page needs a signed-in user."""


def _date(name: str) -> date | None:
    raw = request.args.get(name, "")
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@bp.get("/")
@require("audit.search")
def search() -> Any:
    filters = {"action": request.args.get("action", ""), "actor_email": request.args.get("actor", ""),
               "outcome": request.args.get("outcome", "")}
    patient_id = id_arg("patient")
    result = audit_search.search(current_user, patient_id=patient_id, since=_date("since"), until=_date("until"),
                                 page=int_arg("page", 1), **filters)
    return render_template("audit/search.html", result=result, args=request.args)


@bp.get("/me")
@require("audit.own_access")
def my_access() -> Any:
    return render_template("audit/me.html", events=audit_search.my_record_access(current_user))
