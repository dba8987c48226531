"""Account use cases: sign in and out, browser sessions, API tokens, passwords, invitations.

Each public function is one use case and one transaction. Secrets leave this module only as the raw
token handed to the person; the database keeps hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from tracker.auth import two_factor
from tracker.auth.passwords import hash_password, password_problem, verify_password
from tracker.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from tracker.extensions import db
from tracker.links import external_url
from tracker.mail import send_mail
from tracker.models import (
    ApiToken, Clinic, Invitation, LoginSession, PasswordReset, Patient, Role, User, utcnow,
)
from tracker.tokens import hash_token, new_token

INVALID_LOGIN = "Invalid email or password."
INVALID_LINK = "This link is invalid or has expired."


def normalize_email(email: str) -> str:
    return email.strip().lower()


def user_by_email(email: str) -> User | None:
    return db.session.scalars(sa.select(User).where(User.email == normalize_email(email))).first()


def authenticate(email: str, password: str) -> User:
    """The user whose credentials these are, or Unauthorized with one message for every failure."""
    user = user_by_email(email)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        raise Unauthorized(INVALID_LOGIN)
    return user


# --- browser sessions -----------------------------------------------------------------------------

def start_session(user: User, *, ip: str, user_agent: str) -> str:
    token = new_token()
    db.session.add(LoginSession(token_hash=hash_token(token), user_id=user.id, ip=ip[:64],
                                user_agent=user_agent[:255]))
    db.session.commit()
    return token


def session_authenticated_since(token: str | None, since: datetime) -> bool:
    """Whether this browser session proved its password at or after ``since``."""
    if not token:
        return False
    at = db.session.scalar(sa.select(LoginSession.authenticated_at).where(LoginSession.token_hash == hash_token(token)))
    return at is not None and at >= since


def reauthenticate(user: User, token: str | None, password: str) -> None:
    """Re-authentication before a sensitive change: the password again, recorded on this browser's session."""
    if not token or not verify_password(user.password_hash, password):
        message = "That password is not correct."  # a message # nosec B105
        raise Unauthorized(message, fields={"password": message})
    db.session.execute(sa.update(LoginSession).where(LoginSession.token_hash == hash_token(token))
                       .values(authenticated_at=utcnow()))
    db.session.commit()


def end_session(token: str | None) -> None:
    if token:
        db.session.execute(sa.delete(LoginSession).where(LoginSession.token_hash == hash_token(token)))
        db.session.commit()


def _session_expired(record: LoginSession, now: datetime) -> bool:
    cfg = current_app.config
    if record.user.is_staff:
        idle = timedelta(minutes=cfg["TRACKER_IDLE_MINUTES"])
        absolute = timedelta(hours=cfg["TRACKER_ABSOLUTE_HOURS"])
    else:
        idle = absolute = cfg["REMEMBER_COOKIE_DURATION"]
    return now - record.last_seen_at > idle or now - record.created_at > absolute


def user_for_session(token: str) -> User | None:
    """Flask-Login's user loader: the session's user, or None when it ended, expired or was disabled."""
    record = db.session.scalars(
        sa.select(LoginSession).where(LoginSession.token_hash == hash_token(token))
    ).first()
    if record is None:
        return None
    now = utcnow()
    if _session_expired(record, now) or not record.user.active:
        db.session.delete(record)
        db.session.commit()
        return None
    if now - record.last_seen_at > timedelta(seconds=60):  # bound the writes: one per minute per session
        record.last_seen_at = now
        db.session.commit()
    user = record.user
    user.login_token = token
    return user


def end_all_sessions(user: User, *, keep: str | None = None) -> None:
    stmt = sa.delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep:
        stmt = stmt.where(LoginSession.token_hash != hash_token(keep))
    db.session.execute(stmt)
    db.session.execute(
        sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# --- passwords ------------------------------------------------------------------------------------

def _check_new_password(password: str, email: str) -> None:
    problem = password_problem(password, email=email)
    if problem:
        raise ValidationFailed(problem, fields={"password": problem})


def change_password(user: User, current: str, new: str, *, keep_session: str | None) -> None:
    if not verify_password(user.password_hash, current):
        message = "Your current password is not correct."  # a message # nosec B105
        raise Unauthorized(message, fields={"current_password": message})
    _check_new_password(new, user.email)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    end_all_sessions(user, keep=keep_session)
    db.session.commit()


def request_password_reset(email: str) -> None:
    """Send a reset link if the account exists. Callers answer the same way either way."""
    user = user_by_email(email)
    if user is None or not user.active:
        return
    token = new_token()
    minutes = current_app.config["TRACKER_RESET_MINUTES"]
    db.session.add(PasswordReset(token_hash=hash_token(token), user_id=user.id,
                                 expires_at=utcnow() + timedelta(minutes=minutes)))
    db.session.commit()
    link = external_url("auth.reset_password", token=token)
    send_mail(user.email, "Reset your password",
              f"Hello {user.name},\n\nSomeone (hopefully you) asked to reset your password.\n"
              f"Choose a new one here within {minutes} minutes:\n\n{link}\n\n"
              "If it was not you, ignore this message; your password stays as it is.\n")


def _valid_reset(token: str) -> PasswordReset:
    record = db.session.scalars(
        sa.select(PasswordReset).where(PasswordReset.token_hash == hash_token(token))
    ).first()
    if record is None or record.used_at is not None or record.expires_at <= utcnow() or not record.user.active:
        raise NotFound(INVALID_LINK)
    return record


def check_reset_token(token: str) -> None:
    _valid_reset(token)


def reset_password(token: str, new: str) -> User:
    record = _valid_reset(token)
    user = record.user
    _check_new_password(new, user.email)
    record.used_at = utcnow()
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    end_all_sessions(user)
    db.session.commit()
    return user


# --- API tokens -----------------------------------------------------------------------------------

def issue_api_token(email: str, password: str, otp: str | None = None) -> tuple[str, datetime]:
    """A bearer token for the password — and, for an account with two-step sign-in, the app's current code."""
    user = authenticate(email, password)
    if user.two_factor_enabled:
        if not otp:
            raise Unauthorized("This account uses two-step sign-in: send the code from the authenticator app as "
                               "\"otp\".", fields={"otp": "Required."}, code="otp_required")
        two_factor.check(user, otp)
    elif user.two_factor_required:
        raise Forbidden("Your clinic requires two-step sign-in for staff: set it up in the browser first.",
                        code="two_factor_setup_required")
    token = new_token()
    expires_at = utcnow() + timedelta(hours=current_app.config["TRACKER_API_TOKEN_HOURS"])
    db.session.add(ApiToken(token_hash=hash_token(token), user_id=user.id, expires_at=expires_at))
    db.session.commit()
    return token, expires_at


def user_for_api_token(token: str) -> User | None:
    record = db.session.scalars(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if record is None or record.revoked_at is not None or record.expires_at <= utcnow():
        return None
    if not record.user.active:
        return None
    user = record.user
    user.api_token = token
    return user


def revoke_api_token(token: str) -> None:
    db.session.execute(
        sa.update(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.session.commit()


# --- invitations ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SentInvitation:
    invitation: Invitation
    link: str


def _email_taken(email: str) -> bool:
    return user_by_email(email) is not None


def create_invitation(actor: User, *, email: str, name: str, role: Role,
                      patient: Patient | None = None) -> SentInvitation:
    """Invite someone into the actor's clinic. The raw token exists only in the link we mail."""
    email = normalize_email(email)
    if _email_taken(email):
        raise Conflict("Someone already has an account with this e-mail address.",
                       fields={"email": "Someone already has an account with this e-mail address."})
    if role is Role.PATIENT and patient is None:
        raise ValidationFailed("A patient invitation needs a patient record.")
    if patient is not None and db.session.scalar(sa.select(User.id).where(User.patient_id == patient.id)):
        raise Conflict("This patient already has an account.")
    token = new_token()
    days = current_app.config["TRACKER_INVITATION_DAYS"]
    invitation = Invitation(
        clinic_id=actor.clinic_id, email=email, name=name.strip(), role=role,
        patient_id=patient.id if patient else None, token_hash=hash_token(token),
        created_by_id=actor.id, expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(invitation)
    db.session.flush()
    link = external_url("auth.accept_invitation", token=token)
    clinic_name = db.session.get(Clinic, actor.clinic_id).name  # type: ignore[union-attr]
    send_mail(email, f"Your invitation to {clinic_name}",
              f"Hello {invitation.name},\n\n{actor.name} invited you to {clinic_name}'s progress tracker "
              f"as {role.label.lower()}.\nSet your password here within {days} days:\n\n{link}\n\n"
              "The link works once. If you did not expect this, ignore this message.\n")
    db.session.commit()
    return SentInvitation(invitation, link)


def invitation_for_token(token: str) -> Invitation:
    record = db.session.scalars(sa.select(Invitation).where(Invitation.token_hash == hash_token(token))).first()
    if record is None or record.status(utcnow()) != "pending":
        raise NotFound(INVALID_LINK)
    return record


def accept_invitation(token: str, *, name: str, password: str) -> User:
    invitation = invitation_for_token(token)
    _check_new_password(password, invitation.email)
    if _email_taken(invitation.email):
        raise Conflict("Someone already has an account with this e-mail address.")
    # Single use even under a double submit: only the request that flips accepted_at proceeds.
    claimed = db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
        .values(accepted_at=utcnow())
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise NotFound(INVALID_LINK)
    user = User(clinic_id=invitation.clinic_id, email=invitation.email, name=(name.strip() or invitation.name),
                role=invitation.role, patient_id=invitation.patient_id, password_hash=hash_password(password))
    db.session.add(user)
    db.session.commit()
    return user


def revoke_invitation(invitation: Invitation) -> None:
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
    db.session.commit()


# --- bootstrap ------------------------------------------------------------------------------------

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def validate_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        raise ValidationFailed("Use lowercase letters, digits and hyphens (1–64 characters).",
                               fields={"slug": "Use lowercase letters, digits and hyphens (1–64 characters)."})
    return slug


def create_clinic(*, name: str, slug: str, admin_email: str, admin_name: str, admin_password: str) -> User:
    """A new clinic and its first administrator (the ``flask tracker create-clinic`` command)."""
    slug = validate_slug(slug)
    if db.session.scalar(sa.select(Clinic.id).where(Clinic.slug == slug)):
        raise Conflict(f"A clinic with the address '{slug}' already exists.")
    admin_email = normalize_email(admin_email)
    if _email_taken(admin_email):
        raise Conflict("Someone already has an account with this e-mail address.")
    _check_new_password(admin_password, admin_email)
    clinic = Clinic(name=name.strip(), slug=slug)
    db.session.add(clinic)
    db.session.flush()
    admin = User(clinic_id=clinic.id, email=admin_email, name=admin_name.strip(), role=Role.CLINIC_ADMIN,
                 password_hash=hash_password(admin_password))
    db.session.add(admin)
    db.session.commit()
    return admin
