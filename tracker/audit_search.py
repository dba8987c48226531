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
