"""Treatment sessions: what was done, when, as part of which course.

The UI says "session"; the code says ``TreatmentSession`` so it is never confused with ``flask.session`` or
a SQLAlchemy ``Session``.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

import enum

from tracker.models.base import Audited, Base, str_enum, utcnow
from tracker.models.patient import TreatmentArea, TreatmentCourse
from tracker.models.vocab import Modality


class InjectionDepth(enum.StrEnum):
    INTRADERMAL = "intradermal"
    SUBDERMAL = "subdermal"
    SUBCUTANEOUS = "subcutaneous"


class Anaesthesia(enum.StrEnum):
    NONE = "none"
    TOPICAL = "topical"
    LOCAL = "local"
    TUMESCENT = "tumescent"
    SEDATION = "sedation"
    GENERAL = "general"


class TreatmentSession(Base):
    __tablename__ = "treatment_sessions"
    __owner__ = "patient"
    __audited__ = Audited("session", ignore=frozenset({"created_at"}), redact=frozenset({"notes"}))
    __table_args__ = (
        sa.ForeignKeyConstraint(["course_id", "patient_id"], ["treatment_courses.id", "treatment_courses.patient_id"]),
        sa.UniqueConstraint("course_id", "number"),
        sa.UniqueConstraint("id", "patient_id"),
        sa.CheckConstraint("number BETWEEN 1 AND 99", name="number_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    course_id: Mapped[int] = mapped_column(index=True)
    number: Mapped[int]
    performed_on: Mapped[date]
    modality: Mapped[Modality] = mapped_column(str_enum(Modality, "modality"))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    practitioner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Autologous adipose-derived stem cell injection.
    harvest_site: Mapped[str] = mapped_column(sa.String(120), default="")
    harvested_ml: Mapped[float | None]
    processed_ml: Mapped[float | None]
    cell_count: Mapped[str] = mapped_column(sa.String(60), default="")  # as reported by the lab, e.g. "2.1e6 / ml"
    injection_depth: Mapped[InjectionDepth | None] = mapped_column(str_enum(InjectionDepth, "injection_depth"))
    injection_pattern: Mapped[str] = mapped_column(sa.String(200), default="")
    anaesthesia: Mapped[Anaesthesia | None] = mapped_column(str_enum(Anaesthesia, "anaesthesia"))
    # Other modalities.
    device_product: Mapped[str] = mapped_column(sa.String(200), default="")
    settings: Mapped[str] = mapped_column(sa.String(500), default="")
    lot_number: Mapped[str] = mapped_column(sa.String(80), default="")

    area_links: Mapped[list[SessionArea]] = relationship(back_populates="session", cascade="all, delete-orphan",
                                                         order_by="SessionArea.area_id")
    areas: Mapped[list[TreatmentArea]] = relationship(secondary="session_areas", viewonly=True,
                                                      order_by="TreatmentArea.name")
    course: Mapped[TreatmentCourse] = relationship(primaryjoin="TreatmentSession.course_id == TreatmentCourse.id",
                                                   foreign_keys="TreatmentSession.course_id", viewonly=True)


class SessionArea(Base):
    """An area treated in a session, with the volume injected there (stem-cell sessions)."""

    __tablename__ = "session_areas"
    __audited__ = Audited("session", ignore=frozenset({"session_id", "patient_id"}), part_of="session_id",
                          part_key="area_id", part_name="areas")
    __table_args__ = (
        sa.ForeignKeyConstraint(["session_id", "patient_id"], ["treatment_sessions.id", "treatment_sessions.patient_id"],
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["area_id", "patient_id"], ["treatment_areas.id", "treatment_areas.patient_id"]),
        sa.CheckConstraint("injected_ml IS NULL OR injected_ml >= 0", name="injected_ml_positive"),
    )

    session_id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(primary_key=True, index=True)
    patient_id: Mapped[int]
    injected_ml: Mapped[float | None]

    session: Mapped[TreatmentSession] = relationship(back_populates="area_links")
