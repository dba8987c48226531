"""A photo of a treated area: the private original (byte-exact, with its SHA-256) and our derivatives.

The original is stored as uploaded and never served inline; ``display`` and ``thumb`` are re-encoded by us,
upright, sRGB and free of metadata. Processing runs inline or in a worker: ``status`` tells which stage a
photo is in, and a failure keeps its reason so it can be retried.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import CLEARED, SET, Audited, Base, str_enum, utcnow
from tracker.models.patient import TreatmentArea
from tracker.models.vocab import View


class PhotoStatus(enum.StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class AlignmentStatus(enum.StrEnum):
    PENDING = "pending"      # not yet tried (still processing, or waiting for a baseline)
    BASELINE = "baseline"    # this photo is its view's baseline: everything else is aligned onto it
    ALIGNED = "aligned"      # registered to the baseline; the aligned derivative exists
    FAILED = "failed"        # could not be aligned; shown unaligned and flagged, never warped


VARIANTS = ("display", "thumb", "original", "aligned", "adjusted")
DERIVED_KEYS = {"original": "original", "display": "display.jpg", "thumb": "thumb.jpg", "aligned": "aligned.jpg",
                "adjusted": "adjusted.jpg", "features": "features.npz"}


def new_storage_id() -> str:
    return uuid.uuid4().hex


class Photo(Base):
    __tablename__ = "photos"
    __owner__ = "patient"
    # Recorded: what the person chose (area, date, view, note) and which original was accepted (format, size,
    # SHA-256). Left out: processing and alignment, which the system redoes at will.
    __audited__ = Audited(
        "photo", redact=frozenset({"note", "client_filename"}),
        ignore=frozenset({"storage_id", "status", "failure_reason", "attempts", "width", "height", "idempotency_key",
                          "display_width", "display_height", "display_sha256", "thumb_sha256", "source_profile",
                          "blur", "clipped_highlights", "clipped_shadows", "quality_warnings", "alignment",
                          "aligned_to_id", "alignment_matrix", "alignment_reason", "alignment_inliers",
                          "alignment_method", "aligned_sha256", "adjusted_sha256", "uploaded_by_id", "created_at",
                          "processed_at"}),
        when=(("deleted_at", SET, "delete"), ("deleted_at", CLEARED, "restore")), verbs=(("delete", "purge"),))
    __table_args__ = (
        sa.ForeignKeyConstraint(["area_id", "patient_id"], ["treatment_areas.id", "treatment_areas.patient_id"]),
        # The same bytes twice in one area is a duplicate (deleted photos excepted).
        sa.Index("uq_photos_area_sha256_live", "area_id", "sha256", unique=True,
                 sqlite_where=sa.text("deleted_at IS NULL"), postgresql_where=sa.text("deleted_at IS NULL")),
        sa.Index("ix_photos_area_taken", "area_id", "taken_on"),
        # A client's retry of one upload (same Idempotency-Key) finds the first one; keys are per patient.
        sa.Index("uq_photos_patient_idempotency_key", "patient_id", "idempotency_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    area_id: Mapped[int] = mapped_column()
    # Random, server-made prefix of this photo's storage keys: nothing about the patient or the upload.
    storage_id: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_storage_id)
    taken_on: Mapped[date]
    taken_on_source: Mapped[str] = mapped_column(sa.String(8), default="user")  # "exif" or "user"
    view: Mapped[View | None] = mapped_column(str_enum(View, "photo_view"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[PhotoStatus] = mapped_column(str_enum(PhotoStatus, "photo_status"), default=PhotoStatus.PROCESSING)
    failure_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    attempts: Mapped[int] = mapped_column(default=0)

    original_format: Mapped[str] = mapped_column(sa.String(8))
    original_size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    client_filename: Mapped[str] = mapped_column(sa.String(255), default="")
    # SHA-256 of the Idempotency-Key the client sent with the upload, if any.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64))
    width: Mapped[int]
    height: Mapped[int]

    display_width: Mapped[int | None]
    display_height: Mapped[int | None]
    display_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    thumb_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    source_profile: Mapped[str] = mapped_column(sa.String(120), default="")
    blur: Mapped[float | None]
    clipped_highlights: Mapped[float | None]
    clipped_shadows: Mapped[float | None]
    quality_warnings: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    alignment: Mapped[AlignmentStatus] = mapped_column(str_enum(AlignmentStatus, "alignment_status"),
                                                       default=AlignmentStatus.PENDING)
    aligned_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("photos.id", ondelete="SET NULL"))
    alignment_matrix: Mapped[list[list[float]] | None] = mapped_column(sa.JSON)
    alignment_reason: Mapped[str] = mapped_column(sa.String(300), default="")
    alignment_inliers: Mapped[int | None]
    alignment_method: Mapped[str] = mapped_column(sa.String(40), default="")
    aligned_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    adjusted_sha256: Mapped[str | None] = mapped_column(sa.String(64))

    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]

    area: Mapped[TreatmentArea] = relationship(primaryjoin="Photo.area_id == TreatmentArea.id",
                                               foreign_keys="Photo.area_id", viewonly=True)

    def key(self, variant: str) -> str:
        return f"photos/{self.storage_id}/{DERIVED_KEYS[variant]}"

    @property
    def is_ready(self) -> bool:
        return self.status is PhotoStatus.READY

    @property
    def view_key(self) -> str:
        """Photos are aligned within one view; photos without a view form their own group."""
        return self.view.value if self.view else ""


class ViewBaseline(Base):
    """A practitioner's choice of baseline for one area and view (otherwise the earliest photo is)."""

    __tablename__ = "view_baselines"
    __owner__ = "patient"
    __audited__ = Audited("baseline", ignore=frozenset({"chosen_by_id", "chosen_at"}),
                          verbs=(("create", "pin"), ("update", "pin"), ("delete", "unpin")))
    __table_args__ = (sa.UniqueConstraint("area_id", "view_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("treatment_areas.id"))
    view_key: Mapped[str] = mapped_column(sa.String(24))
    photo_id: Mapped[int] = mapped_column(sa.ForeignKey("photos.id", ondelete="CASCADE"))
    chosen_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    chosen_at: Mapped[datetime] = mapped_column(default=utcnow)
