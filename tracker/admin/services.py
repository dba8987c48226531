"""Clinic administration: staff accounts, roles, and the invitation list."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tracker.auth import two_factor
from tracker.auth.services import end_all_sessions
from tracker.errors import Conflict, ValidationFailed
from tracker.extensions import db
from tracker.models import Clinic, CustomScale, Invitation, Role, User
from tracker.security import authorize, scoped
from tracker.transactions import commit_or_conflict

def list_staff(actor: User) -> list[User]:
    authorize(actor, "staff.manage")
    stmt = scoped(User, actor).where(User.role != Role.PATIENT).order_by(User.name)
    return list(db.session.scalars(stmt))


def list_invitations(actor: User) -> list[Invitation]:
    authorize(actor, "invitations.view")
    stmt = scoped(Invitation, actor).order_by(Invitation.created_at.desc()).limit(200)
    return list(db.session.scalars(stmt))


def set_active(actor: User, user: User, active: bool) -> None:
    """Enable or disable an account; disabling ends its sessions and API tokens at once."""
    authorize(actor, "staff.manage")
    if user.id == actor.id:
        raise Conflict("You cannot disable your own account.")
    user.active = active
    if not active:
        end_all_sessions(user)
    db.session.commit()


def change_role(actor: User, user: User, role: Role) -> None:
    authorize(actor, "staff.manage")
    if user.role is Role.PATIENT or role is Role.PATIENT:
        raise ValidationFailed("Only staff roles can be changed here.")
    if user.id == actor.id:
        raise Conflict("You cannot change your own role.")
    if user.role is not role:
        user.role = role
        end_all_sessions(user)  # privileges changed: make them sign in again
    db.session.commit()


def count_admins(actor: User) -> int:
    stmt = sa.select(sa.func.count()).select_from(User).where(
        User.clinic_id == actor.clinic_id, User.role == Role.CLINIC_ADMIN, User.active.is_(True))
    return int(db.session.scalar(stmt) or 0)


def update_outcome_settings(actor: User, *, window: tuple[int, int], mids: dict[str, dict[str, float]],
                            guidance: str) -> None:
    """The clinic's response window, minimal important differences per scale, and side-effect guidance."""
    authorize(actor, "clinic.settings")
    start, end = window
    if not 1 <= start < end <= 365:
        msg = "The window starts at least 1 day after a session and ends after it starts (within a year)."
        raise ValidationFailed(msg, fields={"window_start": msg})
    for code, mid in mids.items():
        if len(mid) != 1 or not all(v > 0 for v in mid.values()) or not set(mid) <= {"points", "fraction"}:
            raise ValidationFailed(f"The minimal important difference for {code} must be one positive number.",
                                   fields={f"mid_{code}": "One positive number."})
        if mid.get("fraction", 0) > 1:
            raise ValidationFailed("A fraction is at most 1 (100%).", fields={f"mid_{code}": "At most 100%."})
    clinic = db.session.get(Clinic, actor.clinic_id)
    clinic.outcome_settings = {"window": [start, end], "mid": mids}  # type: ignore[union-attr]
    clinic.side_effect_guidance = guidance.strip()[:5000]  # type: ignore[union-attr]
    db.session.commit()


def add_custom_scale(actor: User, *, code: str, name: str, minimum: float, maximum: float,
                     lower_is_better: bool, mid: float) -> CustomScale:
    from tracker.outcomes.scales import ScaleError, custom_scale

    authorize(actor, "clinic.settings")
    code = code.strip().lower()
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,39}", code) or code.startswith("metric_"):
        msg = "Codes are 2–40 lowercase letters, digits or underscores, starting with a letter (not metric_)."
        raise ValidationFailed(msg, fields={"code": msg})
    try:
        custom_scale(code, name, minimum, maximum, lower_is_better, mid)
    except ScaleError as exc:
        raise ValidationFailed(str(exc), fields={exc.field: str(exc)}) from None
    scale = CustomScale(clinic_id=actor.clinic_id, code=code, name=name.strip(), minimum=minimum, maximum=maximum,
                        lower_is_better=lower_is_better, mid=mid)
    db.session.add(scale)
    commit_or_conflict("This clinic already has a scale with that code.", "code")
    return scale


def set_two_factor_policy(actor: User, required: bool) -> None:
    """Whether the clinic's staff must sign in with an authenticator app too (those without one are asked to set
    it up at their next request; API tokens are refused to them until they do)."""
    authorize(actor, "staff.manage")
    clinic = actor.clinic
    clinic.require_staff_two_factor = required
    db.session.commit()


def reset_two_factor(actor: User, user: User) -> None:
    """A colleague (or patient) of the admin's clinic lost their phone: their authenticator and recovery codes
    are removed, so their next sign-in is the password only (and, if the clinic requires it, a new set-up)."""
    authorize(actor, "staff.manage")
    if user.id == actor.id:
        raise Conflict("Use your own two-step sign-in page to change yours.")
    two_factor.turn_off(actor, user)
