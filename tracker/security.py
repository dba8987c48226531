"""The one place that decides who may see and do what.

Two questions, always in this order:

1. *Visibility* — which rows exist for this user at all. ``scoped(Model, user)`` builds the query: a patient
   sees their own rows; staff see their own clinic's. Anything else is simply not found (404), so an id from
   another patient or clinic is indistinguishable from an id that never existed.
2. *Capability* — may this role perform this function (``authorize(user, "patients.create")``)? A role that
   lacks it gets 403.

Views and the API never filter by clinic or patient themselves, nor compare roles: they call
``load``/``load_child``/``scoped``/``authorize``/``@require`` (``can`` where a page only chooses what to show).
Capability is decided before any object is looked up, so a role that lacks a function learns nothing about which
ids exist. Models declare ``__owner__`` ("patient" or "clinic") so new object kinds join the same scheme.
"""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable, TypeVar

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from tracker.errors import Forbidden, NotFound
from tracker.extensions import db
from tracker.models import Patient, Role, User
from tracker.request_guard import valid_id

M = TypeVar("M")
F = TypeVar("F", bound=Callable[..., Any])

STAFF = frozenset({Role.PRACTITIONER, Role.CLINIC_ADMIN})
PATIENT = frozenset({Role.PATIENT})
EVERYONE = frozenset(Role)

# Function-level permissions. Object-level visibility is handled by ``scoped``.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "patients.list": EVERYONE,           # a patient's list holds only themselves
    "patients.create": STAFF,
    "patients.invite": STAFF,
    "areas.create": STAFF,
    "courses.create": STAFF,
    "staff.manage": frozenset({Role.CLINIC_ADMIN}),
    "invitations.view": STAFF,
    # Patients photograph their own areas; staff any area of their clinic (visibility decides which).
    "photos.upload": EVERYONE,
    # Choosing a view's baseline and re-running alignment are clinical judgements.
    "photos.align": STAFF,
    "sessions.record": STAFF,
    "events.report": EVERYONE,          # the diary is the patient's; staff record events too
    "assessments.record": EVERYONE,     # which scales a role may rate is decided by the scale's rater
    "outcomes.review": STAFF,           # follow-up review, decisions, regions of interest
    "outcomes.blinded": STAFF,
    "clinic.cohort": STAFF,
    "clinic.settings": frozenset({Role.CLINIC_ADMIN}),
    "exports.clinic": frozenset({Role.CLINIC_ADMIN}),
    "exports.patient": EVERYONE,        # patients may take their own records with them
    "gallery.propose": STAFF,           # propose, take down
    "gallery.approve": PATIENT,         # publishing photos of one's body is the patient's decision alone
    "consultations.manage": STAFF,
    "consent.own": PATIENT,             # one's own consent page and list
    "consent.grant": PATIENT,           # staff can never consent on a patient's behalf
    "consent.withdraw": PATIENT,
    "consent.review": STAFF,            # staff's read-only view of a patient's consents
    "audit.search": frozenset({Role.CLINIC_ADMIN}),
    "audit.own_access": PATIENT,        # "who looked at my record"
}

# What a refused role is told, where a generic "no permission" would leave them guessing.
REFUSALS: dict[str, str] = {
    "consent.grant": "Only the patient can give consent. Staff can never consent on a patient's behalf.",
    "consent.withdraw": "Only the patient can withdraw their consent.",
    "gallery.approve": "Only the patient decides what of theirs is published.",
}


def can(user: User, permission: str) -> bool:
    return user.role in PERMISSIONS[permission]


def authorize(user: User, permission: str, obj: Any = None) -> None:
    """403 unless the user's role has ``permission``; with ``obj``, also 404 unless it is within their scope
    (for services handed an object: the same answer as if it had been looked up through ``load``)."""
    if not can(user, permission):
        raise Forbidden(REFUSALS.get(permission, "You do not have permission to do that."))
    if obj is not None and not in_scope(obj, user):
        raise NotFound()


def in_scope(obj: Any, user: User) -> bool:
    """Whether ``scoped(type(obj), user)`` holds this row: the same rule, for an object already loaded."""
    owner = getattr(type(obj), "__owner__", None)
    if owner == "patient":
        patient_id = obj.id if isinstance(obj, Patient) else obj.patient_id
        if user.role is Role.PATIENT:
            return patient_id is not None and patient_id == user.patient_id
        clinic_id = db.session.scalar(sa.select(Patient.clinic_id).where(Patient.id == patient_id))
        return clinic_id is not None and clinic_id == user.clinic_id
    if owner == "clinic":
        return user.is_staff and obj.clinic_id == user.clinic_id
    raise TypeError(f"{type(obj).__name__} declares no __owner__; access to it cannot be decided")


def require(permission: str) -> Callable[[F], F]:
    """View decorator: a signed-in user whose role lacks ``permission`` gets 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                abort(401)
            authorize(current_user, permission)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def scoped(model: type[M], user: User) -> sa.Select[tuple[M]]:
    """A SELECT of ``model`` limited to the rows ``user`` may see."""
    owner = getattr(model, "__owner__", None)
    stmt = sa.select(model)
    if owner == "patient":
        patient_id = Patient.id if model is Patient else model.patient_id  # type: ignore[attr-defined]
        if model is not Patient:
            stmt = stmt.join(Patient, Patient.id == patient_id)
        if user.role is Role.PATIENT:
            return stmt.where(patient_id == user.patient_id)
        return stmt.where(Patient.clinic_id == user.clinic_id)
    if owner == "clinic":
        if not user.is_staff:
            return stmt.where(sa.false())
        return stmt.where(model.clinic_id == user.clinic_id)  # type: ignore[attr-defined]
    raise TypeError(f"{model.__name__} declares no __owner__; access to it cannot be decided")


def load(model: type[M], object_id: Any, user: User, *, for_update: bool = False) -> M:
    """Fetch one row the user may see, or raise NotFound (never Forbidden: no existence oracle)."""
    try:
        key = int(object_id)
    except (TypeError, ValueError, OverflowError):
        raise NotFound() from None
    if not valid_id(key):  # no row can have it: not found, and nothing to record (it would not fit either)
        raise NotFound()
    stmt = scoped(model, user).where(model.id == key)  # type: ignore[attr-defined]
    if for_update:
        stmt = stmt.with_for_update()
    obj = db.session.scalars(stmt).first()
    if obj is None:
        from tracker import audit

        # Either it does not exist or it is not this user's to see; the trail records the attempt either way.
        audit.record("access.denied", actor=user, object_type=model.__name__.lower(), object_id=key, outcome="denied")
        raise NotFound()
    return obj


def load_child(model: type[M], object_id: Any, user: User, *, patient_id: int) -> M:
    """Load an object addressed under a patient in the URL, and insist it belongs to that patient.

    ``/patients/<mine>/courses/<yours>`` is a 404 even when both ids are visible to staff separately.
    """
    obj = load(model, object_id, user)
    if getattr(obj, "patient_id", None) != patient_id:
        raise NotFound()
    return obj
