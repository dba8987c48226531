"""Side effects, outcome assessments, clinic-defined scales, regions of interest with their image metrics,
blinded ratings and follow-up decisions."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models.base import SET, Audited, Base, str_enum, utcnow


class EventKind(enum.StrEnum):
    SWELLING = "swelling"
    REDNESS = "redness"
    BRUISING = "bruising"
    PAIN = "pain"
    ITCHING = "itching"
    INFECTION_SIGNS = "infection_signs"
    ASYMMETRY = "asymmetry"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"infection_signs": "Signs of infection"}.get(self.value, self.value.capitalize())


class Severity(enum.StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class Rater(enum.StrEnum):
    PRACTITIONER = "practitioner"
    PATIENT = "patient"


class Decision(enum.StrEnum):
    ANOTHER_SESSION = "another_session"
    TOUCH_UP = "touch_up"
    COMPLETE = "complete"
    REFER = "refer"

    @property
    def label(self) -> str:
        return {"another_session": "Another session", "touch_up": "Maintenance touch-up",
                "complete": "Course complete", "refer": "Refer"}[self.value]


class AdverseEvent(Base):
    __tablename__ = "adverse_events"
    __owner__ = "patient"
    __audited__ = Audited("adverse_event", ignore=frozenset({"created_at", "reported_by_id"}),
                          redact=frozenset({"description"}), verbs=(("create", "report"),),
                          when=(("resolved_on", SET, "resolve"),))
    __table_args__ = (
        sa.ForeignKeyConstraint(["area_id", "patient_id"], ["treatment_areas.id", "treatment_areas.patient_id"]),
        sa.CheckConstraint("resolved_on IS NULL OR resolved_on >= onset", name="resolved_after_onset"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    area_id: Mapped[int | None]
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("treatment_sessions.id", ondelete="SET NULL"))
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, "event_kind"))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, "severity"))
    onset: Mapped[date]
    description: Mapped[str] = mapped_column(sa.Text, default="")
    resolved_on: Mapped[date | None]
    photo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("photos.id", ondelete="SET NULL"))
    reported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reporter: Mapped[Rater] = mapped_column(str_enum(Rater, "rater"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def needs_attention(self) -> bool:
        """Unresolved moderate/severe events and any sign of infection are highlighted to the clinic."""
        if self.resolved_on is not None:
            return False
        return self.kind is EventKind.INFECTION_SIGNS or self.severity is not Severity.MILD


class CustomScale(Base):
    __tablename__ = "custom_scales"
    __owner__ = "clinic"
    __audited__ = Audited("scale", ignore=frozenset({"created_at"}))
    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "code"),
        sa.CheckConstraint("maximum > minimum", name="range_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(120))
    minimum: Mapped[float]
    maximum: Mapped[float]
    lower_is_better: Mapped[bool]
    mid: Mapped[float]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Assessment(Base):
    __tablename__ = "assessments"
    __owner__ = "patient"
    __audited__ = Audited("assessment", ignore=frozenset({"created_at", "rater_id"}), redact=frozenset({"note"}))
    __table_args__ = (
        sa.ForeignKeyConstraint(["area_id", "patient_id"], ["treatment_areas.id", "treatment_areas.patient_id"]),
        sa.Index("ix_assessments_area_scale", "area_id", "scale", "assessed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    area_id: Mapped[int]
    scale: Mapped[str] = mapped_column(sa.String(40))
    score: Mapped[float]
    items: Mapped[dict[str, float] | None] = mapped_column(sa.JSON)
    assessed_on: Mapped[date]
    rater: Mapped[Rater] = mapped_column(str_enum(Rater, "rater"))
    rater_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Roi(Base):
    """The region of interest a practitioner drew on a view's baseline, in baseline display pixels."""

    __tablename__ = "rois"
    __owner__ = "patient"
    __audited__ = Audited("region", ignore=frozenset({"drawn_by_id", "drawn_at"}))
    __table_args__ = (
        sa.ForeignKeyConstraint(["area_id", "patient_id"], ["treatment_areas.id", "treatment_areas.patient_id"]),
        sa.UniqueConstraint("area_id", "view_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    area_id: Mapped[int]
    view_key: Mapped[str] = mapped_column(sa.String(24))
    points: Mapped[list[list[float]]] = mapped_column(sa.JSON)
    baseline_photo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("photos.id", ondelete="SET NULL"))
    drawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)


class PhotoMetric(Base):
    """Image metrics of one photo inside its view's region, with the method version that produced them."""

    __tablename__ = "photo_metrics"
    __owner__ = "patient"
    __table_args__ = (sa.UniqueConstraint("photo_id", "roi_id", "method_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    photo_id: Mapped[int] = mapped_column(sa.ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    roi_id: Mapped[int] = mapped_column(sa.ForeignKey("rois.id", ondelete="CASCADE"), index=True)
    method_version: Mapped[str] = mapped_column(sa.String(40))
    values: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class BlindedRating(Base):
    """A practitioner's GAIS for a pair shown unlabeled and in random order (which is before is hidden)."""

    __tablename__ = "blinded_ratings"
    __owner__ = "clinic"
    __audited__ = Audited("blinded_rating", ignore=frozenset({"rated_at", "rater_id"}))
    __table_args__ = (
        sa.UniqueConstraint("rater_id", "before_photo_id", "after_photo_id"),
        sa.CheckConstraint("gais BETWEEN 1 AND 5", name="gais_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), index=True)
    rater_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    before_photo_id: Mapped[int] = mapped_column(sa.ForeignKey("photos.id", ondelete="CASCADE"))
    after_photo_id: Mapped[int] = mapped_column(sa.ForeignKey("photos.id", ondelete="CASCADE"))
    before_shown_left: Mapped[bool]
    picked_after: Mapped[bool | None]  # did the rater identify the later photo as the better one?
    gais: Mapped[int]
    rated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FollowUpDecision(Base):
    __tablename__ = "follow_up_decisions"
    __owner__ = "patient"
    __audited__ = Audited("decision", ignore=frozenset({"created_at", "practitioner_id"}), redact=frozenset({"note"}))
    __table_args__ = (
        sa.ForeignKeyConstraint(["area_id", "patient_id"], ["treatment_areas.id", "treatment_areas.patient_id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    area_id: Mapped[int]
    decision: Mapped[Decision] = mapped_column(str_enum(Decision, "decision"))
    touch_up_months: Mapped[int | None]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    decided_on: Mapped[date]
    practitioner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
