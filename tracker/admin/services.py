"""Clinic administration: staff accounts, roles, and the invitation list."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tracker.auth.services import end_all_sessions
from tracker.errors import Conflict, ValidationFailed
from tracker.extensions import db
from tracker.models import Invitation, Role, User
from tracker.security import authorize, scoped

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def validate_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        raise ValidationFailed("Use lowercase letters, digits and hyphens (1–64 characters).",
                               fields={"slug": "Use lowercase letters, digits and hyphens (1–64 characters)."})
    return slug


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
