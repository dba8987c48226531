"""Consent (versioned texts, granular and revocable grants), the public gallery, consultation requests, and the
append-only audit trail."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models.base import CHANGED, SET, Audited, Base, str_enum, utcnow


class ConsentScope(enum.StrEnum):
    CARE = "care"
    GALLERY = "gallery"
    EDUCATION = "education"
    MARKETING = "marketing"

    @property
    def label(self) -> str:
        return {"care": "Photography for my treatment record", "gallery": "The clinic's public before/after gallery",
                "education": "Teaching and conferences (de-identified)", "marketing": "Marketing"}[self.value]

    @property
    def per_area(self) -> bool:
        return self is not ConsentScope.CARE


class ConsentText(Base):
    __tablename__ = "consent_texts"
    __owner__ = "clinic"
    __audited__ = Audited("consent_text", ignore=frozenset({"created_by_id", "created_at"}),
                          redact=frozenset({"body"}), verbs=(("create", "publish"),))
    __table_args__ = (sa.UniqueConstraint("clinic_id", "scope", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), index=True)
    scope: Mapped[ConsentScope] = mapped_column(str_enum(ConsentScope, "consent_scope"))
    version: Mapped[int]
    body: Mapped[str] = mapped_column(sa.Text)  # Markdown, rendered without raw HTML
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Consent(Base):
    """One grant by a patient, of one scope (optionally for one area), against an exact text version."""

    __tablename__ = "consents"
    __owner__ = "patient"
    __audited__ = Audited("consent", ignore=frozenset({"granted_by_id", "granted_at", "granted_ip", "withdrawn_ip"}),
                          redact=frozenset({"signature_name"}), verbs=(("create", "grant"),),
                          when=(("withdrawn_at", SET, "withdraw"),))
    __table_args__ = (
        sa.ForeignKeyConstraint(["area_id", "patient_id"], ["treatment_areas.id", "treatment_areas.patient_id"]),
        sa.Index("ix_consents_patient_scope", "patient_id", "scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"))
    scope: Mapped[ConsentScope] = mapped_column(str_enum(ConsentScope, "consent_scope"))
    area_id: Mapped[int | None]  # None: every area
    text_id: Mapped[int] = mapped_column(sa.ForeignKey("consent_texts.id"))
    text_version: Mapped[int]
    text_sha256: Mapped[str] = mapped_column(sa.String(64))
    signature_name: Mapped[str] = mapped_column(sa.String(200))
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_ip: Mapped[str] = mapped_column(sa.String(64), default="")
    withdrawn_at: Mapped[datetime | None]
    withdrawn_ip: Mapped[str] = mapped_column(sa.String(64), default="")

    @property
    def status(self) -> str:
        return "withdrawn" if self.withdrawn_at is not None else "granted"


class GalleryStatus(enum.StrEnum):
    AWAITING_PATIENT = "awaiting_patient"
    PUBLISHED = "published"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"       # consent withdrawn: off the gallery at once
    UNPUBLISHED = "unpublished"   # taken down by the clinic

    @property
    def is_live(self) -> bool:
        """Awaiting the patient or published: the only states whose rendered images exist and are served.
        The others are final (a new proposal gets a new item and public id)."""
        return self in (GalleryStatus.AWAITING_PATIENT, GalleryStatus.PUBLISHED)


GALLERY_SIDES = ("before", "after")


class GalleryItem(Base):
    __tablename__ = "gallery_items"
    __owner__ = "patient"
    __audited__ = Audited(
        "gallery", object_type="gallery_item",
        ignore=frozenset({"proposed_by_id", "proposed_at", "decided_at", "published_at", "ended_at"}),
        verbs=(("create", "propose"),),
        when=(("status", "published", "publish"), ("status", "declined", "decline"),
              ("status", "unpublished", "unpublish"), ("status", "withdrawn", "withdraw")))
    __table_args__ = (
        sa.ForeignKeyConstraint(["area_id", "patient_id"], ["treatment_areas.id", "treatment_areas.patient_id"]),
        sa.Index("ix_gallery_items_clinic_status", "clinic_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    area_id: Mapped[int]
    # Unguessable, unrelated to any internal id: the only handle the public ever sees.
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    before_photo_id: Mapped[int] = mapped_column(sa.ForeignKey("photos.id"))
    after_photo_id: Mapped[int] = mapped_column(sa.ForeignKey("photos.id"))
    crop: Mapped[list[float] | None] = mapped_column(sa.JSON)          # [x, y, w, h] on the baseline canvas
    blur: Mapped[list[list[float]]] = mapped_column(sa.JSON, default=list)  # rectangles to blur
    caption: Mapped[str] = mapped_column(sa.String(300))
    modality: Mapped[str] = mapped_column(sa.String(40))
    body_region: Mapped[str] = mapped_column(sa.String(24))
    status: Mapped[GalleryStatus] = mapped_column(str_enum(GalleryStatus, "gallery_status"))
    proposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    def image_key(self, side: str) -> str:
        """Where the rendered (published-form) image of one side is stored; the originals stay under photos/."""
        return f"gallery/{self.public_id}/{side}.jpg"

    def image_keys(self) -> list[str]:
        return [self.image_key(side) for side in GALLERY_SIDES]


class RequestStatus(enum.StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    BOOKED = "booked"
    CLOSED = "closed"


class ConsultationRequest(Base):
    __tablename__ = "consultation_requests"
    __owner__ = "clinic"
    __audited__ = Audited("consultation", ignore=frozenset({"created_at", "handled_by_id"}),
                          redact=frozenset({"name", "email", "phone", "area_of_concern", "preferred_time", "message"}),
                          verbs=(("create", "submit"),), when=(("status", CHANGED, "status"),))

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    area_of_concern: Mapped[str] = mapped_column(sa.String(200), default="")
    preferred_time: Mapped[str] = mapped_column(sa.String(120), default="")
    message: Mapped[str] = mapped_column(sa.Text, default="")
    consent_to_contact: Mapped[bool]
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus, "request_status"), default=RequestStatus.NEW)
    patient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patients.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class AuditEvent(Base):
    """Who did what, to which object, when, from where, with what outcome, and for changes to the record which
    fields changed. The app only ever inserts here (database triggers refuse UPDATE and DELETE); no photo bytes,
    no passwords, no free text."""

    __tablename__ = "audit_events"
    __owner__ = "clinic"  # the clinic admin searches it; a patient reads their own through tracker.security
    __table_args__ = (
        sa.Index("ix_audit_events_clinic_at", "clinic_id", "at"),
        sa.Index("ix_audit_events_patient_at", "patient_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    clinic_id: Mapped[int | None] = mapped_column(sa.ForeignKey("clinics.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(sa.String(20), default="")
    action: Mapped[str] = mapped_column(sa.String(40), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(30), default="")
    object_id: Mapped[str] = mapped_column(sa.String(40), default="")
    patient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patients.id"))
    outcome: Mapped[str] = mapped_column(sa.String(12), default="ok")
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(160), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Changes to the record: {column: {"old": …, "new": …}} (only "new" on create, only "old" on delete);
    # None for access events. Written by tracker.audit in the transaction of the change.
    changes: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


# Append-only at the database level too: whatever code runs, an entry cannot be changed or removed.
APPEND_ONLY_SQLITE = (
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
)
APPEND_ONLY_POSTGRESQL = (
    "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
)
for _statement in APPEND_ONLY_SQLITE:
    sa.event.listen(AuditEvent.__table__, "after_create", sa.DDL(_statement).execute_if(dialect="sqlite"))
for _statement in APPEND_ONLY_POSTGRESQL:
    sa.event.listen(AuditEvent.__table__, "after_create", sa.DDL(_statement).execute_if(dialect="postgresql"))
