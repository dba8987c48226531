"""Reading the audit trail: the clinic admin's search, and a patient's "who looked at my photos"."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from tracker.audit import ACCESS_ACTIONS
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import AuditEvent, User
from tracker.patients.services import Page
from tracker.security import authorize, scoped


def search(actor: User, *, action: str = "", actor_email: str = "", patient_id: int | None = None,
           outcome: str = "", since: date | None = None, until: date | None = None, page: int = 1,
           per_page: int = 50) -> Page[tuple[AuditEvent, User | None]]:
    authorize(actor, "audit.search")
    if since and until and since > until:
        raise ValidationFailed("The start date is after the end date.", fields={"since": "After the end."})
    stmt = scoped(AuditEvent, actor).add_columns(User).outerjoin(User, User.id == AuditEvent.actor_id)
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action[:40], autoescape=True))
    if actor_email:
        stmt = stmt.where(User.email == actor_email.strip().lower()[:254])
    if patient_id:
        stmt = stmt.where(AuditEvent.patient_id == patient_id)
    if outcome:
        stmt = stmt.where(AuditEvent.outcome == outcome[:12])
    if since:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(since, time.min, timezone.utc))
    if until:
        stmt = stmt.where(AuditEvent.at < datetime.combine(until + timedelta(days=1), time.min, timezone.utc))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.execute(stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                              .limit(per_page).offset((max(1, page) - 1) * per_page)).all()
    return Page([(event, user) for event, user in rows], max(1, page), per_page, int(total))


def my_record_access(actor: User) -> list[tuple[AuditEvent, User | None]]:
    """Who looked at this patient's photos and record, and when (their own views left out)."""
    authorize(actor, "audit.own_access")
    stmt = (sa.select(AuditEvent, User).outerjoin(User, User.id == AuditEvent.actor_id)
            .where(AuditEvent.patient_id == actor.patient_id, AuditEvent.action.in_(ACCESS_ACTIONS),
                   sa.or_(AuditEvent.actor_id.is_(None), AuditEvent.actor_id != actor.id))
            .order_by(AuditEvent.at.desc()).limit(500))
    return [(event, user) for event, user in db.session.execute(stmt).all()]


# --- the API's view of the trail (GET /api/v1/audit) ------------------------------------------------------

MAX_ID = 2**63 - 1


def parse_since(raw: str) -> datetime:
    """An ISO 8601 date (midnight UTC) or date-time (without an offset: UTC)."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        msg = "Give an ISO 8601 date (2026-01-31) or date-time (2026-01-31T09:30:00Z)."
        raise ValidationFailed(msg, fields={"since": msg}) from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _patient_filter(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise ValidationFailed("patient_id is a patient's id (a positive integer).",
                               fields={"patient_id": "A positive integer."})
    return int(raw)


def trail(actor: User, *, action: str = "", patient_id: str | None = None, since: str | None = None,
          page: int = 1, per_page: int = 50) -> Page[AuditEvent]:
    """The clinic admin's entries of their own clinic, newest first.

    ``action`` is exact (``photo.delete``), or a prefix when it ends with a dot (``photo.``); ``patient_id`` one
    patient's record; ``since`` entries at or after that moment."""
    authorize(actor, "audit.search")
    if len(action) > 40:
        raise ValidationFailed("Actions are at most 40 characters.", fields={"action": "At most 40 characters."})
    stmt = scoped(AuditEvent, actor)
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True) if action.endswith(".")
                          else AuditEvent.action == action)
    if patient_id:
        stmt = stmt.where(AuditEvent.patient_id == _patient_filter(patient_id))
    if since:
        stmt = stmt.where(AuditEvent.at >= parse_since(since))
    page = max(1, page)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    items = db.session.scalars(stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                               .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(items), page, per_page, int(total))
