"""CSV exports of sessions, side effects and assessments, per patient or for the whole clinic.

Header row, ISO dates, one row per record, and cells that a spreadsheet would run as a formula are neutralised
(OWASP CSV injection): a leading ``= + - @`` or tab/CR gets a quote mark in front.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from tracker.errors import NotFound
from tracker.extensions import db
from tracker.models import AdverseEvent, Assessment, Patient, SessionArea, TreatmentArea, TreatmentSession, User
from tracker.security import authorize, scoped

KINDS = ("sessions", "adverse_events", "assessments")

COLUMNS = {
    "sessions": ["session_id", "patient_id", "patient_ref", "course_id", "number", "performed_on", "modality",
                 "area_ids", "injected_ml", "harvest_site", "harvested_ml", "processed_ml", "cell_count",
                 "injection_depth", "injection_pattern", "anaesthesia", "device_product", "settings", "lot_number",
                 "notes"],
    "adverse_events": ["event_id", "patient_id", "patient_ref", "area_id", "kind", "severity", "onset",
                       "resolved_on", "reporter", "description"],
    "assessments": ["assessment_id", "patient_id", "patient_ref", "area_id", "area_name", "scale", "score", "items",
                    "assessed_on", "rater", "note"],
}
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "value"):
        return str(value.value)
    text = str(value)
    if text.startswith(DANGEROUS_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _session_rows(actor: User, patient_ids: set[int] | None) -> Iterator[list[Any]]:
    stmt = scoped(TreatmentSession, actor).add_columns(Patient.external_ref)
    if patient_ids is not None:
        stmt = stmt.where(TreatmentSession.patient_id.in_(patient_ids))
    visible_ids = stmt.with_only_columns(TreatmentSession.id).scalar_subquery()
    links: dict[int, list[SessionArea]] = {}
    for link in db.session.scalars(sa.select(SessionArea).where(SessionArea.session_id.in_(visible_ids))):
        links.setdefault(link.session_id, []).append(link)
    for s, ref in db.session.execute(stmt.order_by(TreatmentSession.patient_id, TreatmentSession.performed_on)):
        areas = links.get(s.id, [])
        yield [s.id, s.patient_id, ref, s.course_id, s.number, s.performed_on, s.modality,
               ";".join(str(a.area_id) for a in areas),
               ";".join(f"{a.area_id}:{a.injected_ml}" for a in areas if a.injected_ml is not None),
               s.harvest_site, s.harvested_ml, s.processed_ml, s.cell_count, s.injection_depth, s.injection_pattern,
               s.anaesthesia, s.device_product, s.settings, s.lot_number, s.notes]


def _event_rows(actor: User, patient_ids: set[int] | None) -> Iterator[list[Any]]:
    stmt = scoped(AdverseEvent, actor).add_columns(Patient.external_ref)
    if patient_ids is not None:
        stmt = stmt.where(AdverseEvent.patient_id.in_(patient_ids))
    for e, ref in db.session.execute(stmt.order_by(AdverseEvent.patient_id, AdverseEvent.onset)):
        yield [e.id, e.patient_id, ref, e.area_id, e.kind, e.severity, e.onset, e.resolved_on, e.reporter,
               e.description]


def _assessment_rows(actor: User, patient_ids: set[int] | None) -> Iterator[list[Any]]:
    stmt = scoped(Assessment, actor).add_columns(Patient.external_ref, TreatmentArea.name).join(
        TreatmentArea, TreatmentArea.id == Assessment.area_id)
    if patient_ids is not None:
        stmt = stmt.where(Assessment.patient_id.in_(patient_ids))
    for a, ref, area_name in db.session.execute(stmt.order_by(Assessment.patient_id, Assessment.assessed_on)):
        items = ";".join(f"{k}:{v}" for k, v in sorted((a.items or {}).items()))
        yield [a.id, a.patient_id, ref, a.area_id, area_name, a.scale, a.score, items, a.assessed_on, a.rater,
               a.note]


ROWS = {"sessions": _session_rows, "adverse_events": _event_rows, "assessments": _assessment_rows}


def to_csv(header: list[str], rows: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()


def export(actor: User, kind: str, patient: Patient | None = None) -> str:
    """One CSV. With a patient: that patient's records; without: every record of the actor's clinic."""
    if kind not in KINDS:
        raise NotFound()
    authorize(actor, "exports.patient" if patient is not None else "exports.clinic")
    return to_csv(COLUMNS[kind], ROWS[kind](actor, {patient.id} if patient is not None else None))
