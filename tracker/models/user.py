"""People who sign in, and the credentials that prove who they are.

Secrets (session ids, API tokens, invitation and reset tokens) are stored only as SHA-256 hashes: a leaked
database does not let anyone in.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models.base import CHANGED, SET, Audited, Base, str_enum, utcnow

if TYPE_CHECKING:
    from tracker.models.clinic import Clinic
    from tracker.models.patient import Patient


class Role(enum.StrEnum):
    PATIENT = "patient"
    PRACTITIONER = "practitioner"
    CLINIC_ADMIN = "clinic_admin"

    @property
    def label(self) -> str:
        return {"patient": "Patient", "practitioner": "Practitioner", "clinic_admin": "Clinic admin"}[self.value]

    @property
    def is_staff(self) -> bool:
        return self is not Role.PATIENT


class User(Base):
    __tablename__ = "users"
    __owner__ = "clinic"
    # Two-step sign-in state is recorded by its own events (auth.two_factor_*), never its secret.
    __audited__ = Audited(
        "user", redact=frozenset({"email", "name"}), secret=frozenset({"password_hash"}),
        ignore=frozenset({"created_at", "password_changed_at", "totp_secret", "totp_enabled_at", "totp_last_step"}),
        when=(("role", CHANGED, "role_change"), ("active", True, "enable"), ("active", False, "disable"),
              ("password_hash", CHANGED, "password_change")))
    __table_args__ = (
        # A patient account is exactly one patient record; staff have none.
        sa.CheckConstraint("(role = 'patient') = (patient_id IS NOT NULL)", name="patient_link"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    patient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patients.id"), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Two-step sign-in with an authenticator app (RFC 6238). The secret is set when enrolment starts and the
    # factor is on only once a code from the app confirmed it (totp_enabled_at); totp_last_step makes each
    # code good once.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    clinic: Mapped[Clinic] = relationship(lazy="joined")  # read on every request (two-step policy)
    patient: Mapped[Patient | None] = relationship(foreign_keys=[patient_id])

    # Set per request by the auth layer: the browser session or API token that authenticated this user.
    login_token = None
    api_token = None

    # Flask-Login protocol. The id in the cookie is the login session's token, never the user id, so
    # ending the session server-side really signs the browser out (and remember-me cookies with it).
    def get_id(self) -> str:
        if not self.login_token:
            raise RuntimeError("user has no login session")
        return self.login_token

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def two_factor_required(self) -> bool:
        """Staff of a clinic that requires two-step sign-in for its staff."""
        return self.is_staff and self.clinic.require_staff_two_factor

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"


class LoginSession(Base):
    """A signed-in browser. The cookie carries a random token whose hash is stored here, so signing
    out, changing a password or disabling the account ends the session server-side."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When this browser last proved the password (sign-in or re-authentication): sensitive changes need it recent.
    authenticated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(255), default="")

    user: Mapped[User] = relationship()


class RecoveryCode(Base):
    """A single-use code that stands in for the authenticator app (lost phone). Only its SHA-256 is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class Invitation(Base):
    """A single-use, expiring link that lets a person create their own account in a clinic."""

    __tablename__ = "invitations"
    __owner__ = "clinic"
    __audited__ = Audited("invitation", ignore=frozenset({"token_hash", "created_by_id", "created_at", "expires_at"}),
                          redact=frozenset({"email", "name"}),
                          when=(("revoked_at", SET, "revoke"), ("accepted_at", SET, "accept")))
    __table_args__ = (sa.CheckConstraint("(role = 'patient') = (patient_id IS NOT NULL)", name="patient_link"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    patient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    def status(self, now: datetime) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "pending"


class PasswordReset(Base):
    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
