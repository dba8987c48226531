"""Small helpers shared by HTML views (thin views call a service and map its errors here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request
from flask_wtf import FlaskForm

from tracker.errors import DomainError
from tracker.request_guard import valid_id


def form_errors(form: FlaskForm, exc: DomainError) -> None:
    """Show a service's error next to the field it concerns, or at the top of the form."""
    placed = False
    for name, message in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
            placed = True
    if not placed:
        flash(exc.message, "error")


def client_ip() -> str:
    return (request.remote_addr or "")[:64]


def int_arg(name: str, default: int, *, minimum: int = 1, maximum: int = 10_000) -> int:
    raw: Any = request.args.get(name, default)
    try:
        return min(max(int(raw), minimum), maximum)
    except (TypeError, ValueError):
        return default


def id_arg(name: str) -> int | None:
    """A query parameter naming one of our ids: None when absent or not a number; 0 (which no row has) for a
    number no row can have (too large for our columns), so it finds nothing instead of failing in the database."""
    raw = request.args.get(name, "")
    if not (raw.isascii() and raw.isdigit()):
        return None
    digits = raw.lstrip("0") or "0"
    value = int(digits) if len(digits) <= 10 else 0
    return value if valid_id(value) else 0


def attempt(action: Callable[[], Any], success: Callable[[], str], back: str) -> Any:
    """Run a one-click use case from a button: its error or ``success()`` as a message, then back to the page."""
    try:
        action()
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(success(), "success")
    return redirect(back)
