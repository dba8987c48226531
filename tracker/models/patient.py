"""A patient's record: the person, their treated areas and their treatment courses.

Every row that belongs to a patient carries ``patient_id``, and composite foreign keys make the database
itself refuse a course linked to another patient's area (the OpenEMR ``WHERE id=?`` lesson).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Audited, Base, str_enum, utcnow
from tracker.models.vocab import FITZPATRICK_LABELS, BodyRegion, Modality, View

if TYPE_CHECKING:
    from tracker.models.clinic import Clinic


class Patient(Base):
    __tablename__ = "patients"
    __owner__ = "patient"
    __audited__ = Audited("patient", ignore=frozenset({"created_at", "created_by_id"}),
                          redact=frozenset({"full_name", "email", "date_of_birth", "external_ref"}))
    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "email"),
        sa.CheckConstraint("fitzpatrick BETWEEN 1 AND 6", name="fitzpatrick_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), index=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    date_of_birth: Mapped[date | None]
    fitzpatrick: Mapped[int | None] = mapped_column(sa.SmallInteger)
    external_ref: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", use_alter=True))

    clinic: Mapped[Clinic] = relationship()
    areas: Mapped[list[TreatmentArea]] = relationship(
        back_populates="patient", order_by="TreatmentArea.name", viewonly=True
    )
    courses: Mapped[list[TreatmentCourse]] = relationship(
        back_populates="patient", order_by="TreatmentCourse.start_date", viewonly=True
    )

    @property
    def fitzpatrick_label(self) -> str:
        return FITZPATRICK_LABELS.get(self.fitzpatrick or 0, "")


class TreatmentArea(Base):
    __tablename__ = "treatment_areas"
    __owner__ = "patient"
    __audited__ = Audited("area", ignore=frozenset({"created_at"}))
    __table_args__ = (
        sa.UniqueConstraint("patient_id", "name"),
        sa.UniqueConstraint("id", "patient_id"),  # target of composite foreign keys
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    body_region: Mapped[BodyRegion] = mapped_column(str_enum(BodyRegion, "body_region"))
    # Standard views (codes of View) the clinic photographs this area in, in display order.
    views: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="areas")

    @property
    def view_labels(self) -> list[str]:
        return [View(v).label for v in self.views]


class TreatmentCourse(Base):
    __tablename__ = "treatment_courses"
    __owner__ = "patient"
    __audited__ = Audited("course", ignore=frozenset({"created_at", "created_by_id"}), redact=frozenset({"notes"}))
    __table_args__ = (
        sa.UniqueConstraint("id", "patient_id"),
        sa.CheckConstraint("planned_sessions BETWEEN 1 AND 20", name="planned_sessions_range"),
        sa.CheckConstraint("interval_weeks BETWEEN 1 AND 104", name="interval_weeks_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    indication: Mapped[str] = mapped_column(sa.String(200))
    modality: Mapped[Modality] = mapped_column(str_enum(Modality, "modality"))
    planned_sessions: Mapped[int]
    interval_weeks: Mapped[int]
    start_date: Mapped[date]
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", use_alter=True))

    patient: Mapped[Patient] = relationship(back_populates="courses")
    area_links: Mapped[list[CourseArea]] = relationship(
        back_populates="course", cascade="all, delete-orphan", order_by="CourseArea.area_id"
    )
    areas: Mapped[list[TreatmentArea]] = relationship(
        secondary="course_areas", viewonly=True, order_by="TreatmentArea.name"
    )


class CourseArea(Base):
    """Which areas a course treats. ``patient_id`` ties both ends to the same patient."""

    __tablename__ = "course_areas"
    __audited__ = Audited("course", ignore=frozenset({"course_id", "patient_id"}), part_of="course_id",
                          part_key="area_id", part_name="areas")
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["course_id", "patient_id"], ["treatment_courses.id", "treatment_courses.patient_id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["area_id", "patient_id"], ["treatment_areas.id", "treatment_areas.patient_id"]),
    )

    course_id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(primary_key=True, index=True)
    patient_id: Mapped[int]

    course: Mapped[TreatmentCourse] = relationship(back_populates="area_links")
