"""Consent: versioned texts per scope, grants a patient signs, withdrawal that takes effect at once.

A patient grants a scope by reading the exact current text, ticking, and typing their full name; the grant keeps
the text's version and SHA-256, the time and the address. Staff can never grant on a patient's behalf. Withdrawing
gallery consent takes every gallery item that depended on it off the public gallery in the same transaction,
and then (after the commit) deletes their rendered images; the original photos stay, under care consent.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from markdown_it import MarkdownIt
from markupsafe import Markup

from tracker.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import (
    Consent, ConsentScope, ConsentText, GalleryItem, GalleryStatus, Patient, TreatmentArea, User, utcnow,
)
from tracker.security import authorize, load, load_child, scoped
from tracker.storage import delete_quietly
from tracker.storage_setup import storage

# Markdown without raw HTML: a consent text can never carry script or markup of its own.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")


def render_markdown(text: str) -> Markup:
    # The renderer has raw HTML disabled: its output escapes every character of the input.
    return Markup(_MARKDOWN.render(text))  # nosec B704


def text_sha256(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def current_text(clinic_id: int, scope: ConsentScope) -> ConsentText | None:
    return db.session.scalars(sa.select(ConsentText).where(ConsentText.clinic_id == clinic_id,
                                                           ConsentText.scope == scope)
                              .order_by(ConsentText.version.desc())).first()


def publish_text(actor: User, scope: str, body: str) -> ConsentText:
    """A new version of a scope's text (clinic admin). Earlier grants keep pointing at the version they signed."""
    authorize(actor, "clinic.settings")
    if scope not in ConsentScope.__members__.values():
        raise ValidationFailed("Unknown consent scope.", fields={"scope": "Unknown scope."})
    body = body.strip()
    if not 20 <= len(body) <= 20_000:
        raise ValidationFailed("A consent text is between 20 and 20,000 characters.", fields={"body": "Length."})
    previous = current_text(actor.clinic_id, ConsentScope(scope))
    text = ConsentText(clinic_id=actor.clinic_id, scope=ConsentScope(scope), body=body, sha256=text_sha256(body),
                       version=(previous.version + 1) if previous else 1, created_by_id=actor.id)
    db.session.add(text)
    db.session.commit()
    return text


def _normalise_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


@dataclass(frozen=True)
class GrantRequest:
    scope: str
    text_version: int
    signature_name: str
    area_id: int | None = None
    agreed: bool = True


def _active(patient_id: int, scope: ConsentScope, area_id: int | None) -> Consent | None:
    return db.session.scalars(sa.select(Consent).where(
        Consent.patient_id == patient_id, Consent.scope == scope, Consent.withdrawn_at.is_(None),
        Consent.area_id.is_(None) if area_id is None else Consent.area_id == area_id)).first()


def grant(actor: User, request: GrantRequest, *, ip: str = "") -> Consent:
    authorize(actor, "consent.grant")
    if request.scope not in ConsentScope.__members__.values():
        raise ValidationFailed("Unknown consent scope.", fields={"scope": "Unknown scope."})
    scope = ConsentScope(request.scope)
    patient = load(Patient, actor.patient_id, actor)  # one's own record: the only patient a patient sees
    text = current_text(patient.clinic_id, scope)
    if text is None:
        raise NotFound("The clinic has not published a consent text for this yet.")
    if request.text_version != text.version:
        raise Conflict("The consent text has changed since you read it. Please read the current version.",
                       current_version=text.version, current_text=text.body)
    if not request.agreed:
        raise ValidationFailed("Tick the box to confirm you have read and agree.", fields={"agree": "Required."})
    if request.area_id is not None:
        if not scope.per_area:
            raise ValidationFailed("This consent covers your whole record.", fields={"area_id": "Not per area."})
        load_child(TreatmentArea, request.area_id, actor, patient_id=patient.id)  # one of their own areas
    if _normalise_name(request.signature_name) != _normalise_name(patient.full_name):
        msg = "Type your full name exactly as the clinic has it, to sign."
        raise ValidationFailed(msg, fields={"signature_name": msg})
    existing = _active(patient.id, scope, request.area_id)
    if existing is not None and existing.text_version == text.version:
        return existing
    if existing is not None:
        existing.withdrawn_at, existing.withdrawn_ip = utcnow(), ip  # superseded by the new version
    consent = Consent(patient_id=patient.id, scope=scope, area_id=request.area_id, text_id=text.id,  # type: ignore
                      text_version=text.version, text_sha256=text.sha256, signature_name=request.signature_name.strip(),
                      granted_by_id=actor.id, granted_ip=ip[:64])
    db.session.add(consent)
    db.session.commit()
    return consent


def withdraw(actor: User, consent: Consent, *, ip: str = "") -> Consent:
    """Withdraw at once. Gallery items that relied on it leave the gallery in the same transaction."""
    authorize(actor, "consent.withdraw", consent)
    if consent.withdrawn_at is not None:
        return consent
    consent.withdrawn_at, consent.withdrawn_ip = utcnow(), ip[:64]
    taken_down: list[GalleryItem] = []
    if consent.scope is ConsentScope.GALLERY:
        for item in db.session.scalars(sa.select(GalleryItem).where(
                GalleryItem.patient_id == consent.patient_id,
                GalleryItem.status.in_([GalleryStatus.PUBLISHED, GalleryStatus.AWAITING_PATIENT]))):
            if not has_consent(consent.patient_id, ConsentScope.GALLERY, item.area_id):
                item.status, item.ended_at = GalleryStatus.WITHDRAWN, utcnow()
                taken_down.append(item)
    keys = [key for item in taken_down for key in item.image_keys()]
    db.session.commit()
    # Only once the withdrawal is committed (a rolled-back one keeps its images); a failed delete never undoes
    # it: nothing serves an item that is not live, and purge-orphans removes what is left.
    delete_quietly(storage(), keys)
    return consent


def has_consent(patient_id: int, scope: ConsentScope, area_id: int | None = None) -> bool:
    """An active grant of the scope for the whole record, or for this area."""
    stmt = sa.select(Consent.id).where(Consent.patient_id == patient_id, Consent.scope == scope,
                                       Consent.withdrawn_at.is_(None))
    if area_id is None:
        stmt = stmt.where(Consent.area_id.is_(None))
    else:
        stmt = stmt.where(sa.or_(Consent.area_id.is_(None), Consent.area_id == area_id))
    return db.session.scalar(stmt.limit(1)) is not None


def require_care_consent(patient_id: int) -> None:
    if not has_consent(patient_id, ConsentScope.CARE):
        raise Forbidden("Photos can be added once the patient has given consent to photography for their "
                        "treatment record (on their Consent page).", code="consent_required")


def list_consents(actor: User, patient: Patient) -> list[Consent]:
    return list(db.session.scalars(scoped(Consent, actor).where(Consent.patient_id == patient.id)
                                   .order_by(Consent.granted_at.desc(), Consent.id.desc())))
