"""Committing a use case's single transaction, with unique-constraint races turned into a 409."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from tracker.errors import Conflict
from tracker.extensions import db


def commit_or_conflict(message: str, field: str | None = None) -> None:
    """Commit; if a unique constraint fires (also under a concurrent double submit), roll back and say why."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(message, fields={field: message} if field else None) from None
