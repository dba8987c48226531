"""Treatment sessions: what was done, when, as part of which course.

The UI says "session"; the code says ``TreatmentSession`` so it is never confused with ``flask.session`` or
a SQLAlchemy ``Session``.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import Base, str_enum, utcnow
from tracker.models.patient import TreatmentCourse
from tracker.models.vocab import Modality


class TreatmentSession(Base):
    __tablename__ = "treatment_sessions"
    __owner__ = "patient"
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

    course: Mapped[TreatmentCourse] = relationship(primaryjoin="TreatmentSession.course_id == TreatmentCourse.id",
                                                   foreign_keys="TreatmentSession.course_id", viewonly=True)
