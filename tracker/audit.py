"""The audit trail: who signed in, looked at or exported what — and who created, changed or deleted what.

Two ways in, one table:

* ``record(action, ...)`` — access events and refusals (sign-ins, views, exports, denials), called after the thing
  happened or was refused. Written on its own connection, so an entry stands even when the use case rolls back.
* Changes to the record are written **in the transaction of the change**: models declare
  ``__audited__ = Audited(...)`` (tracker.models.base), and every insert, update and delete of such a row (seen by
  mapper events while the flush writes it, with its attribute history) becomes an entry with the fields that
  changed: values on create, old → new on update, the last values on delete. The entries are inserted on the
  transaction's own connection just before it commits (``before_commit``, after a last flush): if the use case
  rolls back there is no entry; if it commits, the entry is committed with it. Changes made across several
  flushes of one transaction are merged into one entry per object; all entries of a commit are one INSERT; an
  update of technical columns only (processing, alignment) writes nothing. The actor is the request's user (API
  token or browser session); outside a request (the CLI, the worker) it is the system (``actor_role``
  "system"). Bulk ``UPDATE``/``DELETE`` statements bypass the ORM and are not seen: use cases change audited rows
  through the ORM.

Entries carry who (user and role), what (action, object type and id), whose record (patient), when, from where
(address, browser) and the outcome — never photo bytes, passwords or their hashes, tokens, two-step secrets or
recovery codes, and never free text or identifying data a person typed (notes, descriptions, names, e-mail
addresses, dates of birth): for those columns (``Audited.redact``) an entry says that they changed, with their
length and a keyed digest (HMAC-SHA256 with the app's secret key, first 16 hex digits) that tells versions apart
and can be checked against a backup, but cannot be read or guessed from the trail. The trail is append-only and
outlives any correction or erasure of the record, so it must not become a second copy of what people wrote.

The app has no route that edits or deletes an entry, and the database refuses UPDATE and DELETE on the table
(triggers).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy.orm import Session

from tracker.extensions import db
from tracker.models import AuditEvent, Base, Clinic, Patient, User, utcnow
from tracker.models.base import CHANGED, CLEARED, SET, Audited

log = logging.getLogger(__name__)

# Actions a patient is shown in "who looked at my photos" (views of their record by anyone else).
ACCESS_ACTIONS = ("photo.view", "photos.list", "timeline.view", "compare.view", "export", "review.view")
# Columns that are never recorded as values, whatever a model declares (defence in depth: only "changed").
SECRET_COLUMNS = frozenset({"password_hash", "totp_secret", "token_hash", "code_hash", "idempotency_key"})
SYSTEM_ROLE = "system"
_PENDING = "tracker_audit_pending"


def _actor(explicit: User | None) -> User | None:
    if explicit is not None:
        return explicit
    if has_request_context():
        api_user = getattr(g, "api_user", None)
        if api_user is not None:
            return api_user  # type: ignore[no-any-return]
        if current_user and current_user.is_authenticated:
            return current_user._get_current_object()  # type: ignore[no-any-return]
    return None


def _where_from() -> dict[str, str]:
    if not has_request_context():
        return {"ip": "", "user_agent": ""}
    return {"ip": (request.remote_addr or "")[:64],
            "user_agent": request.user_agent.string[:160].replace("\n", " ").replace("\r", " ")}


def record(action: str, *, actor: User | None = None, patient_id: int | None = None, object_type: str = "",
           object_id: Any = "", outcome: str = "ok", clinic_id: int | None = None,
           detail: dict[str, Any] | None = None) -> None:
    """Append one access event, in its own short transaction on its own connection.

    Independent of the request's session: an entry stands even when the use case rolls back (a refused access is
    exactly what must be kept), and writing it never expires the objects a page is about to render.
    """
    user = _actor(actor)
    values: dict[str, Any] = {
        "at": utcnow(), "clinic_id": clinic_id if clinic_id is not None else (user.clinic_id if user else None),
        "actor_id": user.id if user else None, "actor_role": user.role.value if user else "",
        "action": action[:40], "object_type": object_type[:30], "object_id": str(object_id)[:40],
        "patient_id": patient_id, "outcome": outcome[:12], "detail": detail or {}, **_where_from(),
    }
    with db.engine.begin() as connection:
        connection.execute(sa.insert(AuditEvent), [values])


# --- changes to the record, in the transaction of the change ------------------------------------------------

@dataclass
class _Pending:
    """One object's changes within the current transaction (merged across flushes)."""

    spec: Audited
    object_id: str
    patient_id: int | None = None
    clinic_id: int | None = None
    ops: set[str] = field(default_factory=set)
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def merge(self, name: str, change: dict[str, Any]) -> None:
        """Keep the value before the transaction (the first "old") and after it (the last "new")."""
        earlier = self.changes.get(name, change)
        merged = {k: v for k, v in (("old", earlier.get("old", _MISSING)), ("new", change.get("new", _MISSING)))
                  if v is not _MISSING}
        if not merged or ("old" in merged and "new" in merged and merged["old"] == merged["new"]):
            self.changes.pop(name, None)  # created and deleted, or changed back: nothing to say
        else:
            self.changes[name] = merged

    def op(self) -> str | None:
        if "create" in self.ops:
            return None if "delete" in self.ops else "create"
        if "delete" in self.ops:
            return "delete"
        return "update" if self.changes else None

    def action(self, op: str) -> str:
        verbs = dict(self.spec.verbs)
        if op == "update":
            for column, condition, verb in self.spec.when:
                if _matches(self.changes.get(column), condition):
                    return f"{self.spec.name}.{verb}"
        return f"{self.spec.name}.{verbs.get(op, op)}"


_MISSING = object()


def _matches(change: dict[str, Any] | None, condition: object) -> bool:
    if change is None:
        return False
    old, new = change.get("old"), change.get("new")
    if condition == CHANGED:
        return True
    if condition == SET:
        return old is None and new is not None
    if condition == CLEARED:
        return old is not None and new is None
    return bool(new == condition and type(new) is type(condition))


def _plain(value: Any) -> Any:
    """A column value as JSON: dates as ISO 8601, enums as their codes."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def digest(text: str) -> str:
    """Keyed digest of a redacted value: equal texts give equal digests; the text cannot be read back or guessed
    from the trail without the app's secret key."""
    key = hashlib.sha256(b"tracker.audit:" + str(current_app.secret_key or "").encode()).digest()
    return hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:16]


def _is_secret(spec: Audited, key: str) -> bool:
    return key in SECRET_COLUMNS or key in spec.secret


def _shown(spec: Audited, key: str, value: Any) -> Any:
    if _is_secret(spec, key):
        return None if value is None else {"redacted": True}
    if key in spec.redact:
        if value is None or value == "":
            return value
        text = str(_plain(value))
        return {"redacted": True, "length": len(text), "digest": digest(text)}
    return _plain(value)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _columns(mapper: sa.orm.Mapper[Any], spec: Audited) -> list[str]:
    return [attr.key for attr in mapper.column_attrs if attr.key not in spec.ignore and attr.key != "id"]


def _value(state: sa.orm.InstanceState[Any], key: str, op: str) -> Any:
    if key in state.dict or op == "delete":
        return state.dict.get(key)
    return getattr(state.obj(), key)  # not loaded (an expired row): loads it; never for a deleted row


def _snapshot(state: sa.orm.InstanceState[Any], spec: Audited, keys: list[str]) -> dict[str, Any]:
    """The values of a row just inserted or deleted (empty ones left out); never loads anything."""
    return {k: _shown(spec, k, state.dict.get(k)) for k in keys if not _empty(state.dict.get(k))}


def _column_changes(state: sa.orm.InstanceState[Any], spec: Audited, keys: list[str]) -> dict[str, dict[str, Any]]:
    changes = {}
    for key in keys:
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        new = history.added[0] if history.added else None
        if history.deleted and _plain(history.deleted[0]) == _plain(new):
            continue  # set to what it was
        change: dict[str, Any] = {"new": _shown(spec, key, new)}
        if history.deleted and not _is_secret(spec, key):  # a secret: only that it changed
            change["old"] = _shown(spec, key, history.deleted[0])
        changes[key] = change
    return changes


def _pending(session: Session) -> dict[tuple[str, str], _Pending]:
    return session.info.setdefault(_PENDING, {})  # type: ignore[no-any-return]


def _collect(session: Session, obj: Any, op: str) -> None:
    spec: Audited | None = getattr(type(obj), "__audited__", None)
    if spec is None:
        return
    state = sa.inspect(obj)
    keys = _columns(state.mapper, spec)
    if op == "update":
        changes = _column_changes(state, spec, keys)
        if not changes:
            return  # only technical columns changed (processing, alignment, timestamps)
    else:
        changes = {k: {"new" if op == "create" else "old": v} for k, v in _snapshot(state, spec, keys).items()}
    if spec.part_of:
        _collect_part(session, state, spec, op, changes)
        return
    object_id = "-".join(str(state.dict.get(c.key)) for c in state.mapper.primary_key)
    entry = _pending(session).setdefault((spec.type_name, object_id), _Pending(spec, object_id))
    entry.ops.add(op)
    if isinstance(obj, Patient):
        entry.patient_id = obj.id
    elif "patient_id" in state.mapper.columns:
        entry.patient_id = _value(state, "patient_id", op)
    if isinstance(obj, Clinic):
        entry.clinic_id = obj.id
    elif "clinic_id" in state.mapper.columns:
        entry.clinic_id = _value(state, "clinic_id", op)
    for name, change in changes.items():
        entry.merge(name, change)


def _collect_part(session: Session, state: sa.orm.InstanceState[Any], spec: Audited, op: str,
                  changes: dict[str, dict[str, Any]]) -> None:
    """A part of another object (a session's area and its volume): a change of the parent's field
    ``<part_name>.<key>`` whose value is the part's own fields."""
    keys = _columns(state.mapper, spec)
    current = {k: _shown(spec, k, _value(state, k, op)) for k in keys}
    if op == "update":
        before = {**current, **{k: c["old"] for k, c in changes.items() if "old" in c}}
        change = {"old": before, "new": current}
    else:
        change = {"new" if op == "create" else "old": current}
    parent_id = str(_value(state, spec.part_of, op))
    entry = _pending(session).setdefault((spec.type_name, parent_id), _Pending(spec, parent_id))
    entry.ops.add("update")
    if "patient_id" in state.mapper.columns:
        entry.patient_id = _value(state, "patient_id", op)
    entry.merge(f"{spec.part_name}.{state.dict.get(spec.part_key)}", change)


def _row_listener(op: str) -> Any:
    """A mapper event for every row the flush writes (cascaded deletes of orphans too), while its history is
    still there."""
    def written(_mapper: Any, _connection: Any, target: Any) -> None:
        session = sa.orm.object_session(target)
        if session is not None and getattr(type(target), "__audited__", None) is not None:
            _collect(session, target, op)
    written.__name__ = f"_audit_after_{op}"
    return written


_ROW_EVENTS = {"after_insert": _row_listener("create"), "after_update": _row_listener("update"),
               "after_delete": _row_listener("delete")}


def _change_actor() -> tuple[int | None, str, int | None]:
    """(user id, role, clinic id) of whoever makes the change: the request's user, or the system."""
    if not has_request_context():
        return None, SYSTEM_ROLE, None
    user = getattr(g, "api_user", None) or getattr(g, "_login_user", None)  # never loads a user mid-commit
    if user is None or not getattr(user, "is_authenticated", False):
        return None, "", None
    identity = sa.inspect(user).identity
    return (identity[0] if identity else user.id), user.role.value, user.clinic_id


def _before_commit(session: Session) -> None:
    session.flush()  # everything the use case changed is now known, and nothing is flushed after this
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    actor_id, role, actor_clinic = _change_actor()
    where, now = _where_from(), utcnow()
    rows = []
    for entry in pending.values():
        op = entry.op()
        if op is None:
            continue
        rows.append({
            "at": now, "actor_id": actor_id, "actor_role": role, "action": entry.action(op)[:40],
            "object_type": entry.spec.type_name[:30], "object_id": entry.object_id[:40],
            "patient_id": entry.patient_id, "outcome": "ok", "detail": {}, "changes": entry.changes, **where,
            "c_object": entry.clinic_id, "c_patient": entry.patient_id, "c_actor": actor_clinic,
        })
    if rows:
        session.connection().execute(_INSERT, rows)


# The entry's clinic: the object's own, else its patient's, else the actor's — resolved inside the INSERT.
_INSERT = sa.insert(AuditEvent).values(clinic_id=sa.func.coalesce(
    sa.bindparam("c_object", type_=sa.Integer),
    sa.select(Patient.clinic_id).where(Patient.id == sa.bindparam("c_patient", type_=sa.Integer)).scalar_subquery(),
    sa.bindparam("c_actor", type_=sa.Integer)))


def _after_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)  # rolled back (or committed): nothing carries over


def _keep_old_value(target: Any, value: Any, oldvalue: Any, initiator: Any) -> None:
    """Present only for ``active_history``: the old value of an audited column is loaded before it is replaced."""


def audited_models() -> list[type[Base]]:
    return sorted((m.class_ for m in Base.registry.mappers if getattr(m.class_, "__audited__", None)),
                  key=lambda cls: cls.__name__)


def install() -> None:
    """Listen to the app's session (idempotent): changes of audited models are written with their commit."""
    target = db.session
    if sa.event.contains(target, "before_commit", _before_commit):
        return
    for name, listener in _ROW_EVENTS.items():
        sa.event.listen(Base, name, listener, propagate=True)
    sa.event.listen(target, "before_commit", _before_commit)
    sa.event.listen(target, "after_transaction_end", _after_transaction_end)
    for model in audited_models():
        for key in _columns(sa.inspect(model), model.__audited__):  # type: ignore[arg-type]
            sa.event.listen(getattr(model, key), "set", _keep_old_value, active_history=True)


def change_actions() -> list[str]:
    """Every action a change to the record can be recorded as (for the API description)."""
    actions = set()
    for model in audited_models():
        spec: Audited = model.__audited__  # type: ignore[assignment]
        if spec.part_of:
            continue
        verbs = dict(spec.verbs)
        actions |= {f"{spec.name}.{verbs.get(op, op)}" for op in ("create", "update", "delete")}
        actions |= {f"{spec.name}.{verb}" for _column, _condition, verb in spec.when}
    return sorted(actions)
