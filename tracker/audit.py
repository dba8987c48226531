"""The audit trail: one call, ``record``, after the thing happened (or was refused).

Entries carry who (user and role), what (action, object type and id), whose record (patient), when, from where
(address, browser) and the outcome — never photo bytes, passwords or free text a patient typed. The app has no
route that edits or deletes an entry, and the database refuses UPDATE and DELETE on the table (triggers).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from flask import has_request_context, request
from flask_login import current_user

from tracker.extensions import db
from tracker.models import AuditEvent, User, utcnow

log = logging.getLogger(__name__)

# Actions a patient is shown in "who looked at my photos" (views of their record by anyone else).
ACCESS_ACTIONS = ("photo.view", "photos.list", "timeline.view", "compare.view", "export", "review.view")


def _actor(explicit: User | None) -> User | None:
    if explicit is not None:
        return explicit
    if has_request_context():
        from flask import g

        api_user = getattr(g, "api_user", None)
        if api_user is not None:
            return api_user  # type: ignore[no-any-return]
        if current_user and current_user.is_authenticated:
            return current_user._get_current_object()  # type: ignore[no-any-return]
    return None


def record(action: str, *, actor: User | None = None, patient_id: int | None = None, object_type: str = "",
           object_id: Any = "", outcome: str = "ok", clinic_id: int | None = None,
           detail: dict[str, Any] | None = None) -> None:
    """Append one entry, in its own short transaction on its own connection.

    Independent of the request's session: an entry stands even when the use case rolls back (a refused access is
    exactly what must be kept), and writing it never expires the objects a page is about to render.
    """
    user = _actor(actor)
    values: dict[str, Any] = {
        "at": utcnow(), "clinic_id": clinic_id if clinic_id is not None else (user.clinic_id if user else None),
        "actor_id": user.id if user else None, "actor_role": user.role.value if user else "",
        "action": action[:40], "object_type": object_type[:30], "object_id": str(object_id)[:40],
        "patient_id": patient_id, "outcome": outcome[:12], "detail": detail or {}, "ip": "", "user_agent": "",
    }
    if has_request_context():
        values["ip"] = (request.remote_addr or "")[:64]
        values["user_agent"] = request.user_agent.string[:160].replace("\n", " ").replace("\r", " ")
    with db.engine.begin() as connection:
        connection.execute(sa.insert(AuditEvent), [values])
