"""Follow-up decisions, the clinic's cohort view, and blinded rating with inter-rater agreement."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from itertools import combinations

import sqlalchemy as sa

from tracker import audit
from tracker.errors import Conflict, DomainError, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import (
    AdverseEvent, AlignmentStatus, Assessment, BlindedRating, CourseArea, Decision, FollowUpDecision, Patient, Photo,
    PhotoStatus, TreatmentArea, TreatmentCourse, TreatmentSession, User,
)
from tracker.outcomes import response as R
from tracker.outcomes import services as outcome_services
from tracker.outcomes.assessments import (
    available_scales, clinic_settings, list_assessments, response_mid, response_window, scale_for, scales_in_use,
)
from tracker.outcomes.scales import Scale
from tracker.timeline.services import ComparePair, build_timeline, pick_pair

from tracker.security import authorize, scoped

MIN_COHORT_CELL = 3  # fewer patients than this and a median could point at a person: not shown


# --- decisions ------------------------------------------------------------------------------------

def record_decision(actor: User, area: TreatmentArea, decision: str, *, touch_up_months: int | None = None,
                    note: str = "") -> FollowUpDecision:
    authorize(actor, "outcomes.review")
    if decision not in {d.value for d in Decision}:
        raise ValidationFailed("Choose a decision.", fields={"decision": "Choose a decision."})
    if decision == Decision.TOUCH_UP.value and not touch_up_months:
        msg = "Say in how many months the touch-up should be."
        raise ValidationFailed(msg, fields={"touch_up_months": msg})
    record = FollowUpDecision(patient_id=area.patient_id, area_id=area.id, decision=Decision(decision),
                              touch_up_months=touch_up_months if decision == Decision.TOUCH_UP.value else None,
                              note=note.strip()[:5000], decided_on=date.today(), practitioner_id=actor.id)
    db.session.add(record)
    db.session.commit()
    return record


def decisions(actor: User, area: TreatmentArea) -> list[FollowUpDecision]:
    return list(db.session.scalars(scoped(FollowUpDecision, actor).where(FollowUpDecision.area_id == area.id)
                                   .order_by(FollowUpDecision.created_at.desc())))


@dataclass(frozen=True)
class FollowUp:
    """What a practitioner looks at in a follow-up: one area's evidence in one place."""

    pair: ComparePair | None  # the view's baseline and latest photo, aligned when they could be
    sessions: list[TreatmentSession]
    unresolved_events: list[AdverseEvent]
    scale_codes: list[str]  # scales and metrics with values for the area: one chart each
    latest: dict[str, Assessment]  # the latest assessment on each scale
    scales: dict[str, Scale]
    decisions: list[FollowUpDecision]


def follow_up(actor: User, area: TreatmentArea) -> FollowUp:
    """Gather the follow-up review of an area (recorded in the audit trail as a view of the patient's record)."""
    authorize(actor, "outcomes.review")
    timeline = build_timeline(actor, area)
    audit.record("review.view", patient_id=area.patient_id, object_type="area", object_id=area.id)
    try:
        pair: ComparePair | None = pick_pair(actor, area, timeline, None, None, None)
    except DomainError:  # no two ready photos of one view yet
        pair = None
    patient = area.patient
    latest = {a.scale: a for a in list_assessments(actor, area)}  # in date order: the last one stays
    return FollowUp(
        pair=pair, sessions=outcome_services.list_sessions(actor, patient),
        unresolved_events=[e for e in outcome_services.list_events(actor, patient) if e.resolved_on is None],
        scale_codes=scales_in_use(actor, area), latest=latest,
        scales={s.code: s for s in available_scales(patient.clinic_id)}, decisions=decisions(actor, area))


# --- cohort ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CohortRow:
    modality: str
    indication: str
    scale: str
    patients: int
    cells: dict[int, R.CohortCell | None]  # None: too few patients to show


def cohort(actor: User, scale_code: str) -> list[CohortRow]:
    """Median improvement after session 1, 2, 3… per modality and indication, across the clinic's patients.

    Aggregates only: no names, no ids; cells with fewer than MIN_COHORT_CELL patients are withheld.
    """
    authorize(actor, "clinic.cohort")
    scale = scale_for(actor.clinic_id, scale_code)
    settings = clinic_settings(actor.clinic_id)
    window, mid = response_window(settings), response_mid(settings, scale_code, None)
    courses = db.session.execute(
        scoped(TreatmentCourse, actor).add_columns(CourseArea.area_id)
        .join(CourseArea, CourseArea.course_id == TreatmentCourse.id)).all()
    sessions: dict[int, list[R.SessionPoint]] = defaultdict(list)
    for s in db.session.scalars(scoped(TreatmentSession, actor)):
        sessions[s.course_id].append(R.SessionPoint(number=s.number, performed_on=s.performed_on))
    scores: dict[int, list[R.Assessment]] = defaultdict(list)
    for a in db.session.scalars(scoped(Assessment, actor).where(Assessment.scale == scale_code)):
        scores[a.area_id].append(R.Assessment(assessed_on=a.assessed_on, score=a.score))
    groups: dict[tuple[str, str], list[list[R.SessionResponse]]] = defaultdict(list)
    for course, area_id in courses:
        if sessions.get(course.id) and scores.get(area_id):
            report = R.compute_response(sessions[course.id], scores[area_id], scale, window=window, mid=mid)
            groups[(course.modality.label, course.indication.strip().capitalize())].append(report.sessions)
    rows = []
    for (modality, indication), per_patient in sorted(groups.items()):
        cells = R.cohort_improvement(per_patient)
        rows.append(CohortRow(modality, indication, scale.label, len(per_patient),
                              {n: (c if c.n >= MIN_COHORT_CELL else None) for n, c in sorted(cells.items())}))
    return rows


# --- blinded rating -------------------------------------------------------------------------------

@dataclass(frozen=True)
class BlindedPair:
    before: Photo
    after: Photo
    before_shown_left: bool

    @property
    def left(self) -> Photo:
        return self.before if self.before_shown_left else self.after

    @property
    def right(self) -> Photo:
        return self.after if self.before_shown_left else self.before


def _candidate_pairs(actor: User) -> list[tuple[Photo, Photo]]:
    """Baseline → later aligned photo of the same area and view, across the clinic."""
    photos = db.session.scalars(
        scoped(Photo, actor).where(Photo.deleted_at.is_(None), Photo.status == PhotoStatus.READY,
                                   Photo.alignment.in_([AlignmentStatus.ALIGNED, AlignmentStatus.BASELINE]))).all()
    baselines = {p.id: p for p in photos if p.alignment is AlignmentStatus.BASELINE}
    return [(baselines[p.aligned_to_id], p) for p in photos
            if p.alignment is AlignmentStatus.ALIGNED and p.aligned_to_id in baselines
            and (p.taken_on - baselines[p.aligned_to_id].taken_on).days >= 28]


def next_blinded_pair(actor: User, *, rng: random.Random | None = None) -> BlindedPair | None:
    authorize(actor, "outcomes.blinded")
    rated = {(b, a) for b, a in db.session.execute(
        sa.select(BlindedRating.before_photo_id, BlindedRating.after_photo_id)
        .where(BlindedRating.rater_id == actor.id))}
    todo = [(b, a) for b, a in _candidate_pairs(actor) if (b.id, a.id) not in rated]
    if not todo:
        return None
    rng = rng or random.SystemRandom()
    before, after = rng.choice(todo)
    return BlindedPair(before, after, rng.random() < 0.5)


def record_blinded(actor: User, before_id: int, after_id: int, *, before_shown_left: bool, first: str,
                   gais: int) -> BlindedRating:
    authorize(actor, "outcomes.blinded")
    pairs = {(b.id, a.id) for b, a in _candidate_pairs(actor)}
    if (before_id, after_id) not in pairs:
        raise NotFound("That pair is not available for blinded rating.")
    if not 1 <= gais <= 5:
        raise ValidationFailed("GAIS runs from 1 to 5.", fields={"gais": "GAIS runs from 1 to 5."})
    picked = {"left": before_shown_left, "right": not before_shown_left}.get(first)
    rating = BlindedRating(clinic_id=actor.clinic_id, rater_id=actor.id, before_photo_id=before_id,
                           after_photo_id=after_id, before_shown_left=before_shown_left, picked_after=picked,
                           gais=gais)
    db.session.add(rating)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict("You have already rated this pair.") from None
    return rating


@dataclass(frozen=True)
class Agreement:
    ratings: int
    raters: int
    pairs_rated_twice: int
    exact: float | None          # share of rater pairs giving the same grade on the same photo pair
    within_one: float | None     # … grades at most one apart
    weighted_kappa: float | None  # Cohen's kappa, linear weights, pooled over rater pairs
    identified_before: float | None  # share of ratings that picked the real "before" photo


def agreement(actor: User) -> Agreement:
    authorize(actor, "outcomes.blinded")
    ratings = db.session.scalars(scoped(BlindedRating, actor)).all()
    by_pair: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)
    for r in ratings:
        by_pair[(r.before_photo_id, r.after_photo_id)][r.rater_id] = r.gais
    couples = [(g1, g2) for grades in by_pair.values() for g1, g2 in combinations(grades.values(), 2)]
    picked = [r.picked_after for r in ratings if r.picked_after is not None]
    return Agreement(
        ratings=len(ratings), raters=len({r.rater_id for r in ratings}),
        pairs_rated_twice=sum(1 for g in by_pair.values() if len(g) >= 2),
        exact=sum(a == b for a, b in couples) / len(couples) if couples else None,
        within_one=sum(abs(a - b) <= 1 for a, b in couples) / len(couples) if couples else None,
        weighted_kappa=weighted_kappa(couples),
        identified_before=sum(picked) / len(picked) if picked else None,
    )


def weighted_kappa(couples: list[tuple[int, int]], categories: int = 5) -> float | None:
    """Cohen's kappa with linear weights on grades 1..categories; None when undefined."""
    if len(couples) < 2:
        return None
    n = len(couples)
    weight = [[1 - abs(i - j) / (categories - 1) for j in range(categories)] for i in range(categories)]
    observed = sum(weight[a - 1][b - 1] for a, b in couples) / n
    first = [sum(1 for a, _ in couples if a == k + 1) / n for k in range(categories)]
    second = [sum(1 for _, b in couples if b == k + 1) / n for k in range(categories)]
    expected = sum(weight[i][j] * first[i] * second[j] for i in range(categories) for j in range(categories))
    if expected >= 1:
        return None
    return (observed - expected) / (1 - expected)


