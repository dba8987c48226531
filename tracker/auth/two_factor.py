"""Two-step sign-in use cases: enrol an authenticator app, check a second factor, recovery codes, and an
admin's reset for a colleague who lost their phone. The maths is in :mod:`tracker.auth.totp`."""

from __future__ import annotations

import time

import sqlalchemy as sa

from tracker import audit
from tracker.auth import totp
from tracker.errors import Conflict, Unauthorized, ValidationFailed
from tracker.extensions import db
from tracker.models import RecoveryCode, User, utcnow
from tracker.security import authorize
from tracker.tokens import hash_token

RECOVERY_CODES = 10
INVALID_CODE = "That code is not right. Check the time on your phone, or use a recovery code."
USED_CODE = "That code was already used. Wait for the next one in your app."


def start_enrolment(user: User) -> str:
    """A new secret for the user's app; the factor is not on until a code from the app confirms it."""
    if user.two_factor_enabled:
        raise Conflict("Two-step sign-in is already on. Turn it off first to move it to another phone.")
    user.totp_secret = totp.new_secret()
    user.totp_last_step = None
    db.session.commit()
    return user.totp_secret


def confirm_enrolment(user: User, code: str, *, now: float | None = None) -> list[str]:
    """Turn the factor on with a first code from the app; returns the recovery codes, shown once."""
    if user.two_factor_enabled or not user.totp_secret:
        raise Conflict("Start again: open the two-step sign-in page to get a new code to scan.")
    step = totp.matching_step(user.totp_secret, code, time.time() if now is None else now)
    if step is None:
        message = "That code does not match. Scan the code again and type the 6 digits the app shows now."
        raise ValidationFailed(message, fields={"code": message})
    user.totp_last_step = step
    user.totp_enabled_at = utcnow()
    codes = _replace_recovery_codes(user)
    db.session.commit()
    audit.record("auth.two_factor_on", actor=user)
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """A fresh set of recovery codes; the old ones stop working."""
    if not user.two_factor_enabled:
        raise Conflict("Turn on two-step sign-in first.")
    codes = _replace_recovery_codes(user)
    db.session.commit()
    audit.record("auth.recovery_codes", actor=user)
    return codes


def remaining_recovery_codes(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


def turn_off(actor: User, user: User) -> None:
    """The user themself, or a clinic admin for a colleague of their clinic (``user`` loaded through
    ``security.load``): the secret and recovery codes are gone; the next sign-in is password only. Staff whose
    clinic requires it cannot turn theirs off: an admin resets it (a lost phone), then they set it up again."""
    if actor.id != user.id:
        authorize(actor, "staff.manage")
    elif user.two_factor_required and user.two_factor_enabled:
        raise Conflict("Your clinic requires two-step sign-in for staff. To move it to a new phone, ask a clinic "
                       "admin to reset it, then set it up again.")
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.commit()
    if actor.id == user.id:
        audit.record("auth.two_factor_off", actor=actor)
    else:
        audit.record("auth.two_factor_reset", actor=actor, object_type="user", object_id=user.id)


def check(user: User, code: str, *, now: float | None = None) -> str:
    """Accept a current code from the app (once) or an unused recovery code; returns which one it was.
    Both are claimed with a conditional UPDATE, so two requests racing with the same code cannot both pass.
    Only for a user with the factor on (``two_factor_enabled``)."""
    assert user.totp_secret is not None  # nosec B101 - callers check two_factor_enabled, which implies a secret
    step = totp.matching_step(user.totp_secret, code, time.time() if now is None else now)
    if step is not None:
        claimed = db.session.execute(sa.update(User).where(
            User.id == user.id, sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step))
        db.session.commit()
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise Unauthorized(USED_CODE, fields={"code": USED_CODE}, code="otp_invalid")
        return "app"
    recovery = totp.normalize_recovery_code(code)
    if len(recovery) == 10:
        claimed = db.session.execute(sa.update(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.code_hash == hash_token(recovery),
            RecoveryCode.used_at.is_(None)).values(used_at=utcnow()))
        db.session.commit()
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            return "recovery_code"
    raise Unauthorized(INVALID_CODE, fields={"code": INVALID_CODE}, code="otp_invalid")


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [totp.new_recovery_code() for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=hash_token(totp.normalize_recovery_code(c)))
                       for c in codes)
    return codes
