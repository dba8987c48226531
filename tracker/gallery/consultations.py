"""Consultation requests from the public clinic page, and the clinic's inbox for them."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from tracker.auth.services import normalize_email
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import Clinic, ConsultationRequest, RequestStatus, User
from tracker.security import authorize, scoped


@dataclass(frozen=True)
class RequestForm:
    name: str
    email: str = ""
    phone: str = ""
    area_of_concern: str = ""
    preferred_time: str = ""
    message: str = ""
    consent_to_contact: bool = False


def submit(clinic: Clinic, data: RequestForm) -> ConsultationRequest:
    """Store a request exactly as typed (it is shown escaped, never interpreted)."""
    if not data.name.strip():
        raise ValidationFailed("Tell us your name.", fields={"name": "Tell us your name."})
    if not (data.email.strip() or data.phone.strip()):
        msg = "Give an e-mail address or a phone number so we can reach you."
        raise ValidationFailed(msg, fields={"email": msg})
    if not data.consent_to_contact:
        msg = "Tick the box so we may contact you about your request."
        raise ValidationFailed(msg, fields={"consent_to_contact": msg})
    request = ConsultationRequest(
        clinic_id=clinic.id, name=data.name.strip()[:200], email=normalize_email(data.email)[:254],
        phone=data.phone.strip()[:40], area_of_concern=data.area_of_concern.strip()[:200],
        preferred_time=data.preferred_time.strip()[:120], message=data.message.strip()[:5000],
        consent_to_contact=True)
    db.session.add(request)
    db.session.commit()
    return request


def inbox(actor: User, status: str | None = None) -> list[ConsultationRequest]:
    authorize(actor, "consultations.manage")
    stmt = scoped(ConsultationRequest, actor)
    if status in RequestStatus.__members__.values():
        stmt = stmt.where(ConsultationRequest.status == status)
    return list(db.session.scalars(stmt.order_by(ConsultationRequest.created_at.desc()).limit(500)))


def set_status(actor: User, request: ConsultationRequest, status: str) -> None:
    authorize(actor, "consultations.manage")
    if status not in RequestStatus.__members__.values():
        raise ValidationFailed("Unknown status.", fields={"status": "Unknown status."})
    request.status, request.handled_by_id = RequestStatus(status), actor.id
    db.session.commit()


def counts(actor: User) -> dict[str, int]:
    rows = db.session.execute(scoped(ConsultationRequest, actor).with_only_columns(
        ConsultationRequest.status, sa.func.count()).group_by(ConsultationRequest.status)).all()
    return {status.value: n for status, n in rows}
