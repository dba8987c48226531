"""Outcome assessments, the scales a clinic uses, and "does another session help?" for one area.

Scales are the built-in ones (``tracker.outcomes.scales``), the clinic's custom numeric scales, and the image
metrics measured in the area's region of interest (codes ``metric_*``), which the response maths treat like any
lower-is-better score with a default minimal important difference of 10% of the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from tracker.errors import Forbidden, ValidationFailed
from tracker.extensions import db
from tracker.models import (
    Assessment, Clinic, CustomScale, Patient, Photo, PhotoMetric, Rater, TreatmentArea, TreatmentSession, User,
)
from tracker.outcomes import response as R
from tracker.outcomes.scales import BUILT_IN, Scale, ScoreError, custom_scale, validate_score
from tracker.security import authorize, scoped
from tracker.timeline.services import sessions_for_area

METRIC_SCALES = {
    "metric_delta_e": ("Striae contrast (ΔE)", "delta_e"),
    "metric_affected": ("Affected area (%)", "affected_fraction"),
    "metric_redness": ("Redness (mean a*)", "redness_a"),
    "metric_texture": ("Texture (local variance)", "texture"),
}
METRIC_MID_FRACTION = 0.10
DEFAULT_WINDOW = (28, 84)


def clinic_settings(clinic_id: int) -> dict[str, Any]:
    clinic = db.session.get(Clinic, clinic_id)
    return dict(clinic.outcome_settings or {}) if clinic else {}


def metric_scale(code: str) -> Scale:
    name, _key = METRIC_SCALES[code]
    # The MID given here is never used: metric responses take 10% of the baseline unless the clinic says otherwise.
    return custom_scale(code, name, 0, 1_000_000, True, 1, description="Measured from the aligned photos.")


def custom_scales(clinic_id: int) -> list[Scale]:
    rows = db.session.scalars(sa.select(CustomScale).where(CustomScale.clinic_id == clinic_id)
                              .order_by(CustomScale.name))
    return [custom_scale(r.code, r.name, r.minimum, r.maximum, r.lower_is_better, r.mid) for r in rows]


def available_scales(clinic_id: int) -> list[Scale]:
    return list(BUILT_IN.values()) + custom_scales(clinic_id)


def scale_for(clinic_id: int, code: str) -> Scale:
    if code in BUILT_IN:
        return BUILT_IN[code]
    if code in METRIC_SCALES:
        return metric_scale(code)
    for scale in custom_scales(clinic_id):
        if scale.code == code:
            return scale
    msg = f"Unknown scale '{code[:40]}'."
    raise ValidationFailed(msg, fields={"scale": msg})


def rater_of(actor: User) -> Rater:
    return Rater.PRACTITIONER if actor.is_staff else Rater.PATIENT


@dataclass(frozen=True)
class ScoreEntry:
    scale: str
    assessed_on: date
    score: float | None = None
    items: dict[str, float] | None = None
    note: str = ""


def record_assessment(actor: User, area: TreatmentArea, entry: ScoreEntry) -> Assessment:
    authorize(actor, "assessments.record")
    scale = scale_for(area.patient.clinic_id, entry.scale)
    if entry.scale in METRIC_SCALES:
        raise ValidationFailed("Image metrics are measured from the photos, not entered.", fields={"scale": "…"})
    rater = rater_of(actor)
    if scale.rater not in ("either", rater.value):
        raise Forbidden(f"{scale.label} is rated by the {scale.rater}.")
    if entry.assessed_on > date.today() + timedelta(days=1):
        raise ValidationFailed("An assessment cannot be in the future.",
                               fields={"assessed_on": "An assessment cannot be in the future."})
    birth = area.patient.date_of_birth
    if birth is not None and entry.assessed_on < birth:
        raise ValidationFailed("The date is before the patient was born.", fields={"assessed_on": "Too early."})
    try:
        score = validate_score(scale, entry.score, entry.items)
    except ScoreError as exc:
        raise ValidationFailed(exc.message, fields={exc.field: exc.message}) from None
    assessment = Assessment(patient_id=area.patient_id, area_id=area.id, scale=scale.code, score=score,
                            items=dict(entry.items) if entry.items else None, assessed_on=entry.assessed_on,
                            rater=rater, rater_id=actor.id, note=entry.note.strip()[:2000])
    db.session.add(assessment)
    db.session.commit()
    return assessment


def list_assessments(actor: User, area: TreatmentArea, scale: str | None = None) -> list[Assessment]:
    stmt = scoped(Assessment, actor).where(Assessment.area_id == area.id)
    if scale:
        stmt = stmt.where(Assessment.scale == scale)
    return list(db.session.scalars(stmt.order_by(Assessment.assessed_on, Assessment.id)))


def metric_series(actor: User, area: TreatmentArea, code: str) -> list[tuple[date, float, Photo]]:
    """One image metric over time: each measured photo's value in its view's region."""
    key = METRIC_SCALES[code][1]
    rows = db.session.execute(
        scoped(PhotoMetric, actor).add_columns(Photo)
        .join(Photo, Photo.id == PhotoMetric.photo_id)
        .where(Photo.area_id == area.id, Photo.deleted_at.is_(None))
        .order_by(Photo.taken_on, Photo.id)).all()
    scale = 100.0 if key == "affected_fraction" else 1.0  # shown as a percentage
    return [(photo.taken_on, round(float(metric.values[key]) * scale, 4), photo) for metric, photo in rows
            if metric.values.get(key) is not None]


def response_window(settings: dict[str, Any]) -> R.Window:
    start, end = settings.get("window") or DEFAULT_WINDOW
    return R.Window(start_days=int(start), end_days=int(end))


def response_mid(settings: dict[str, Any], code: str, mid: R.Mid | None) -> R.Mid:
    if mid is not None:
        return mid
    configured = (settings.get("mid") or {}).get(code)
    if configured:
        return R.Mid(points=configured.get("points"), fraction=configured.get("fraction"))
    return R.Mid(fraction=METRIC_MID_FRACTION) if code in METRIC_SCALES else R.Mid()


def session_points(sessions: list[TreatmentSession]) -> list[R.SessionPoint]:
    """The area's sessions for the response maths; when they belong to several courses, each is labelled with
    its course's place in time ("session 1 of course 2"), so two courses' session numbers stay apart."""
    order: dict[int, int] = {}
    for s in sorted(sessions, key=lambda s: (s.performed_on, s.number)):
        order.setdefault(s.course_id, len(order) + 1)
    several = len(order) > 1
    return [R.SessionPoint(number=s.number, performed_on=s.performed_on, course_id=s.course_id,
                           course=f"course {order[s.course_id]}" if several else "") for s in sessions]


def series(actor: User, area: TreatmentArea, code: str) -> list[R.Assessment]:
    if code in METRIC_SCALES:
        return [R.Assessment(assessed_on=day, score=value) for day, value, _ in metric_series(actor, area, code)]
    return [R.Assessment(assessed_on=a.assessed_on, score=a.score) for a in list_assessments(actor, area, code)]


def response_for(actor: User, area: TreatmentArea, code: str, *, mid: R.Mid | None = None) -> R.ResponseReport:
    """Per-session response and the plateau verdict for one area on one scale or metric."""
    patient = db.session.get(Patient, area.patient_id)
    scale = scale_for(patient.clinic_id, code)  # type: ignore[union-attr]
    settings = clinic_settings(patient.clinic_id)  # type: ignore[union-attr]
    return R.compute_response(session_points(sessions_for_area(area)), series(actor, area, code), scale,
                              window=response_window(settings), mid=response_mid(settings, code, mid))


def scales_in_use(actor: User, area: TreatmentArea) -> list[str]:
    """Codes with at least one value for this area: the charts the outcomes page shows."""
    codes = set(db.session.scalars(scoped(Assessment, actor).with_only_columns(Assessment.scale).where(
        Assessment.area_id == area.id).distinct()))
    order = list(BUILT_IN) + sorted(c for c in codes if c not in BUILT_IN)
    used = [c for c in order if c in codes]
    if db.session.scalar(scoped(PhotoMetric, actor).with_only_columns(sa.func.count()).join(
            Photo, Photo.id == PhotoMetric.photo_id).where(Photo.area_id == area.id)):
        used += list(METRIC_SCALES)
    return used
