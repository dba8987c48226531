"""The declarative base every model shares: naming convention, UTC timestamps, string enums."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now; passed as a callable default so each row gets its own time."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them aware (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def str_enum(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum column: VARCHAR + CHECK constraint, storing the member *values*."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls) + 8,
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


# Conditions of ``Audited.when`` rules (any other value: the column's new value equals it).
SET, CLEARED, CHANGED = "<set>", "<cleared>", "<changed>"


@dataclass(frozen=True)
class Audited:
    """How the audit trail records the creation, change and deletion of a model's rows, in the transaction of
    the change (tracker.audit reads this; nothing else does). A model without ``__audited__`` is not recorded.

    Every column not named in ``ignore`` is recorded: its value on create, old → new on update, the last values on
    delete. ``redact``: free text and identifying data, recorded only as length and keyed digest (never the text);
    ``secret``: recorded only as "changed". Actions are ``<name>.<verb>``: create/update/delete unless ``verbs``
    renames one, and ``when`` rules (column, condition, verb) name an update by what it did (the first that
    matches). Rows that are parts of another (a session's areas) set ``part_of`` (the column with the parent's id),
    ``part_key`` and ``part_name``: their changes join the parent's entry as ``<part_name>.<part_key value>``.
    """

    name: str
    object_type: str = ""
    ignore: frozenset[str] = frozenset()
    redact: frozenset[str] = frozenset()
    secret: frozenset[str] = frozenset()
    verbs: tuple[tuple[str, str], ...] = ()
    when: tuple[tuple[str, object, str], ...] = ()
    part_of: str = ""
    part_key: str = ""
    part_name: str = ""

    @property
    def type_name(self) -> str:
        return self.object_type or self.name


class Base(DeclarativeBase):
    # Who may see a row: "patient" rows carry patient_id (the patient and their clinic's staff),
    # "clinic" rows carry clinic_id (that clinic's staff). tracker.security reads this; nothing else does.
    __owner__: str | None = None
    # Whether and how changes to its rows enter the audit trail (see Audited).
    __audited__: Audited | None = None
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class CreatedAtMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
