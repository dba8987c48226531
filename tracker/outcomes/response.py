"""Per-session response and plateau: what each session of a course did to one outcome score of one area.

Pure Python: no Flask, no database. The input is one course's sessions and the assessments of one treated
area on one scale; the output is a :class:`ResponseReport`. These definitions are the product's promises:

Window.
    A session's effect is read between ``Window.start_days`` and ``Window.end_days`` after it (default 28-84
    days, 4-12 weeks): earlier, redness and swelling from the treatment blur the picture; later, the next
    session or time alone take over. An assessment on the session's own day never counts as "after" it.

Before.
    The last assessment on or before the session's date. An assessment on the day of a session counts as
    before it: it is taken before treatment. From session 2 on it must also be after the previous session,
    otherwise the change would include the previous session's effect; when there is none, ``before`` is
    missing. On GAIS, which rates change since baseline and is "no change" (4) at baseline by definition,
    session 1 uses that 4 when no rating was recorded (``before_implied``).

After.
    The latest assessment inside the window that is not after the next session's date (an assessment on the
    next session's day is taken before that treatment, so it is both this session's "after" and the next
    one's "before"). The latest one is used because remodelling goes on for weeks: it shows the fullest
    effect of this session not yet mixed with the next. When the next session falls before the window even
    opens, the session's response cannot be measured on its own and ``after`` is missing.

Several assessments on one day.
    Their mean is the day's score, so the result never depends on the order they were given in.

Change.
    :func:`tracker.outcomes.scales.improvement` of before and after: positive always means better, whatever
    the scale's direction. None when before or after is missing. On GAIS both are ratings of change since
    baseline, so the change is how many grades more improved the rating after the session is than the rating
    before it (see :mod:`tracker.outcomes.scales`).

Minimal important difference (MID).
    :class:`Mid` in points, or as a fraction of the baseline (session 1's ``before``: ``Mid(fraction=0.1)``
    is 10% of it), or by default the scale's ``default_mid``. A change is ``meaningful`` when it is at least
    the MID.

Plateau.
    Judged on the most recent session only. None ("not enough data") when that session's change cannot be
    computed (its before or after is missing; ``missing`` says which and when it was due) or when a
    fractional MID has no baseline. Otherwise True when that change is below the MID, False when it is not.
    Earlier sessions do not change the flag, only the words: "has plateaued" when an earlier session did
    bring a meaningful improvement, "no session so far has brought a meaningful improvement" when none did.
    ``worsening`` is True when that change is negative (a plateau too). The verdict says so in words with
    the numbers behind it and claims nothing beyond them: it describes what the scores did after each
    session, not why, and predicts nothing.

Sessions and assessments are sorted here; callers may pass them in any order.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from tracker.outcomes.scales import Scale, capitalize, format_number, improvement, join_words


def _session_label(number: int, course: str) -> str:
    """"session 2", or "session 1 of course 2" when the area was treated in several courses."""
    return f"session {number}" + (f" of {course}" if course else "")


@dataclass(frozen=True)
class SessionPoint:
    """A treatment session of the course: its number and the day it was performed.

    ``course`` names the course ("course 2") when the area was treated in more than one, so that two "session 1"s
    cannot be confused; ``course_id`` is passed through to the report."""

    number: int
    performed_on: date
    course: str = ""
    course_id: int | None = None

    @property
    def label(self) -> str:
        return _session_label(self.number, self.course)


@dataclass(frozen=True)
class Assessment:
    """One recorded score of the area on the scale (already validated, so within range)."""

    assessed_on: date
    score: float


@dataclass(frozen=True)
class Window:
    """Days after a session within which an assessment shows that session's effect (inclusive)."""

    start_days: int = 28
    end_days: int = 84

    def __post_init__(self) -> None:
        if not 0 <= self.start_days <= self.end_days or self.end_days < 1:
            msg = "The window must start on or after the session day and end at least a day after it."
            raise ValueError(msg)

    def describe(self) -> str:
        """'4 and 12 weeks' or '30 and 80 days'."""
        if self.start_days % 7 == 0 and self.end_days % 7 == 0:
            return f"{self.start_days // 7} and {self.end_days // 7} weeks"
        return f"{self.start_days} and {self.end_days} days"


@dataclass(frozen=True)
class Mid:
    """A minimal important difference: ``points`` on the scale, or a ``fraction`` of the baseline value, or
    neither for the scale's default."""

    points: float | None = None
    fraction: float | None = None

    def __post_init__(self) -> None:
        if self.points is not None and self.fraction is not None:
            raise ValueError("Give the minimal important difference in points or as a fraction, not both.")
        for value in (self.points, self.fraction):
            if value is not None and not value > 0:
                raise ValueError("The minimal important difference must be above 0.")

    def resolve(self, scale: Scale, baseline: float | None) -> float | None:
        """The MID in points, or None when it is a fraction and there is no baseline to take it of."""
        if self.fraction is None:
            return float(self.points if self.points is not None else scale.default_mid)
        if baseline is None:
            return None
        return round(self.fraction * abs(baseline), 9)

    def describe(self, points: float | None, baseline: float | None) -> str:
        """'1', or '0.7 (10% of the baseline 7)'."""
        if self.fraction is None or points is None or baseline is None:
            return format_number(points) if points is not None else "unknown"
        return f"{format_number(points)} ({format_number(self.fraction * 100)}% of the baseline " \
               f"{format_number(baseline)})"


@dataclass(frozen=True)
class SessionResponse:
    """What one session did: the scores before and after it and the change (positive = better)."""

    number: int
    performed_on: date
    before: float | None
    before_on: date | None
    after: float | None
    after_on: date | None
    change: float | None
    meaningful: bool | None
    before_implied: bool = False
    course: str = ""  # as SessionPoint.course
    course_id: int | None = None

    @property
    def label(self) -> str:
        return _session_label(self.number, self.course)

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "performed_on": self.performed_on.isoformat(),
                "before": self.before, "after": self.after, "change": self.change,
                "before_on": _iso(self.before_on), "after_on": _iso(self.after_on),
                "before_implied": self.before_implied, "meaningful": self.meaningful,
                "label": self.label, "course_id": self.course_id}


@dataclass(frozen=True)
class ResponseReport:
    """The response of one area on one scale across a course, and whether it has plateaued."""

    scale_code: str
    sessions: list[SessionResponse]
    plateau: bool | None
    verdict: str
    missing: list[str]
    mid_points: float | None
    worsening: bool | None = None
    window: Window = Window()

    def to_dict(self) -> dict[str, Any]:
        """The API shape."""
        return {"scale": self.scale_code, "sessions": [s.to_dict() for s in self.sessions],
                "plateau": self.plateau, "worsening": self.worsening, "verdict": self.verdict,
                "missing": list(self.missing), "mid": self.mid_points,
                "window": {"start_days": self.window.start_days, "end_days": self.window.end_days}}


@dataclass(frozen=True)
class CohortCell:
    """Improvement after one session number across patients: how many, median and quartiles."""

    n: int
    median_change: float
    q1: float
    q3: float

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "median_change": self.median_change, "q1": self.q1, "q3": self.q3}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# --- the computation ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Day:
    on: date
    score: float


def compute_response(sessions: Iterable[SessionPoint], assessments: Iterable[Assessment], scale: Scale, *,
                     window: Window = Window(), mid: Mid = Mid()) -> ResponseReport:
    """Each session's before, after and change, and the plateau verdict (definitions: module docstring)."""
    ordered = sorted(sessions, key=lambda s: (s.performed_on, s.number))
    if not ordered:
        return ResponseReport(scale.code, [], None, "Not enough data: no sessions recorded yet.",
                              ["No sessions recorded yet."], None, None, window)
    days = _daily_scores(assessments)
    pairs = [_pair(scale, days, ordered, i, window) for i in range(len(ordered))]
    baseline = pairs[0].before
    mid_points = mid.resolve(scale, baseline)
    responses = [_with_meaning(p, mid_points) for p in pairs]
    per_session = [_missing(responses[i], ordered, i, window) for i in range(len(ordered))]
    no_mid = [] if mid_points is not None else [_no_baseline_message(ordered[0], mid)]
    last = responses[-1]
    plateau = None if last.change is None or mid_points is None else not last.meaningful
    worsening = None if plateau is None or last.change is None else last.change < 0
    words = _Words(scale, mid_points, mid.describe(mid_points, baseline))
    verdict = words.verdict(responses, plateau, per_session[-1] or no_mid)
    missing = [m for messages in per_session for m in messages] + no_mid
    return ResponseReport(scale.code, responses, plateau, verdict, missing, mid_points, worsening, window)


def _daily_scores(assessments: Iterable[Assessment]) -> list[_Day]:
    by_day: dict[date, list[float]] = defaultdict(list)
    for a in assessments:
        by_day[a.assessed_on].append(float(a.score))
    return [_Day(on, round(statistics.fmean(scores), 9)) for on, scores in sorted(by_day.items())]


def _pair(scale: Scale, days: Sequence[_Day], ordered: Sequence[SessionPoint], i: int,
          window: Window) -> SessionResponse:
    session = ordered[i]
    previous = ordered[i - 1].performed_on if i else None
    following = ordered[i + 1].performed_on if i + 1 < len(ordered) else None
    before = _latest(days, after=previous, until=session.performed_on)
    opens, closes = _window_dates(session, following, window)
    after = _latest(days, after=opens - timedelta(days=1), until=closes) if opens <= closes else None
    implied = before is None and i == 0 and scale.baseline_value is not None
    before_score = scale.baseline_value if implied else (before.score if before else None)
    change = improvement(scale, before_score, after.score) if before_score is not None and after else None
    return SessionResponse(session.number, session.performed_on, before_score, before.on if before else None,
                           after.score if after else None, after.on if after else None, change, None, implied,
                           course=session.course, course_id=session.course_id)


def _latest(days: Sequence[_Day], *, after: date | None, until: date) -> _Day | None:
    """The latest day in (after, until]; ``after=None`` means no lower bound."""
    inside = [d for d in days if (after is None or d.on > after) and d.on <= until]
    return inside[-1] if inside else None


def _window_dates(session: SessionPoint, following: date | None, window: Window) -> tuple[date, date]:
    """First and last day an assessment counts as this session's "after" (opens > closes: never)."""
    opens = session.performed_on + timedelta(days=max(window.start_days, 1))
    closes = session.performed_on + timedelta(days=window.end_days)
    return opens, min(closes, following) if following else closes


def _with_meaning(response: SessionResponse, mid_points: float | None) -> SessionResponse:
    if response.change is None or mid_points is None:
        return response
    return replace(response, meaningful=response.change >= mid_points)


# --- what is missing ------------------------------------------------------------------------------------

def _missing(response: SessionResponse, ordered: Sequence[SessionPoint], i: int, window: Window) -> list[str]:
    """Why this session's change cannot be computed, if it cannot: one sentence per missing value."""
    out = []
    if response.before is None:
        out.append(_no_before_message(ordered, i))
    if response.after is None:
        out.append(_no_after_message(ordered, i, window))
    return out


def _no_before_message(ordered: Sequence[SessionPoint], i: int) -> str:
    session = ordered[i]
    if i == 0:
        return f"No assessment on or before {session.label} ({session.performed_on.isoformat()})."
    previous = ordered[i - 1]
    return (f"No assessment between {previous.label} ({previous.performed_on.isoformat()}) and "
            f"{session.label} ({session.performed_on.isoformat()}).")


def _no_after_message(ordered: Sequence[SessionPoint], i: int, window: Window) -> str:
    session = ordered[i]
    following = ordered[i + 1] if i + 1 < len(ordered) else None
    opens, closes = _window_dates(session, following.performed_on if following else None, window)
    if following and opens > closes:
        gap = (following.performed_on - session.performed_on).days
        return (f"{capitalize(following.label)} came {_span(gap)} after {session.label}, before "
                f"{_span(window.start_days)} had passed, so {session.label}'s response cannot be "
                f"measured on its own.")
    cut = f", before {following.label}" if following and closes == following.performed_on else ""
    return (f"No assessment between {window.describe()} after {session.label} "
            f"(due {opens.isoformat()} to {closes.isoformat()}{cut}).")


def _no_baseline_message(first: SessionPoint, mid: Mid) -> str:
    return (f"The minimal important difference is {format_number((mid.fraction or 0) * 100)}% of the baseline, "
            f"and there is no assessment on or before {first.label} to take it of.")


def _span(days: int) -> str:
    if days and days % 7 == 0:
        return _plural(days // 7, "week")
    return _plural(days, "day")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


# --- the verdict ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Words:
    """Builds the verdict sentences for one scale and MID."""

    scale: Scale
    mid_points: float | None
    mid_words: str

    @property
    def measure(self) -> str:
        return f"the {self.scale.label} score"

    def verdict(self, responses: Sequence[SessionResponse], plateau: bool | None, reasons: Sequence[str]) -> str:
        """``reasons``: why the last session cannot be judged, when it cannot."""
        last, earlier = responses[-1], responses[:-1]
        if plateau is None:
            because = "; ".join(_lower(r.rstrip(".")) for r in reasons)
            return _sentences(f"Not enough data to judge {last.label}: {because}",
                              self.earlier(earlier, self.measure))
        if not plateau:
            return self.improved(last)
        return _sentences(self.not_improved(last), self.earlier(earlier, "it"), self.conclusion(earlier))

    def improved(self, last: SessionResponse) -> str:
        assert last.change is not None  # type narrowing, guaranteed above # nosec B101
        relation = "as much as" if last.change == self.mid_points else "more than"
        return (f"{capitalize(last.label)} improved {self.measure} by {format_number(last.change)} "
                f"({_values(last)}), {relation} the minimal important difference of {self.mid_words}: the "
                f"response has not plateaued.")

    def not_improved(self, last: SessionResponse) -> str:
        assert last.change is not None  # type narrowing, guaranteed above # nosec B101
        numbers = (f"({_values(last)}, change {format_number(last.change)}; the minimal important difference is "
                   f"{self.mid_words})")
        if last.change < 0:
            return f"{capitalize(self.measure)} was worse after {last.label} {numbers}"
        return f"{capitalize(last.label)} brought no meaningful improvement on {self.measure} {numbers}"

    @staticmethod
    def earlier(responses: Sequence[SessionResponse], measure: str) -> str:
        """What the earlier sessions did, in one sentence ("Sessions 1 and 2 improved it by 2 each")."""
        judged = [r for r in responses if r.change is not None]
        if not judged:
            return ""
        changes = {r.change for r in judged}
        if len(judged) > 1 and len(changes) == 1:
            change = judged[0].change
            each = " each" if change else ""
            if not any(r.course for r in judged):
                return f"Sessions {join_words([str(r.number) for r in judged])} {_effect(change, measure)}{each}"
            return f"{capitalize(join_words([r.label for r in judged]))} {_effect(change, measure)}{each}"
        return capitalize(join_words([f"{r.label} {_effect(r.change, measure)}" for r in judged]))

    @staticmethod
    def conclusion(responses: Sequence[SessionResponse]) -> str:
        if any(r.meaningful for r in responses):
            return "The response on this measure has plateaued"
        if any(r.change is not None for r in responses):
            return "No session so far has brought a meaningful improvement on this measure"
        return ""


def _effect(change: float | None, measure: str) -> str:
    assert change is not None  # type narrowing, guaranteed above # nosec B101
    if change > 0:
        return f"improved {measure} by {format_number(change)}"
    if change < 0:
        return f"made {measure} worse by {format_number(-change)}"
    return f"left {measure} unchanged"


def _values(response: SessionResponse) -> str:
    assert response.before is not None and response.after is not None  # type narrowing, guaranteed above # nosec B101
    return f"{format_number(response.before)} → {format_number(response.after)}"


def _sentences(*parts: str) -> str:
    return " ".join(p.rstrip(".") + "." for p in parts if p)


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


# --- the cohort -----------------------------------------------------------------------------------------

def cohort_improvement(per_patient: Iterable[Iterable[SessionResponse]]) -> dict[int, CohortCell]:
    """Per session number, the median improvement after that session across patients, with quartiles.

    Only computable changes count; a session number nobody has a change for is absent. Quartiles are
    ``statistics.quantiles(method="inclusive")`` (linear interpolation between data points, as numpy's
    default); with one patient all three are that patient's change.
    """
    changes: dict[int, list[float]] = defaultdict(list)
    for responses in per_patient:
        for r in responses:
            if r.change is not None:
                changes[r.number].append(r.change)
    return {number: _cell(values) for number, values in sorted(changes.items())}


def _cell(values: list[float]) -> CohortCell:
    if len(values) == 1:
        return CohortCell(1, values[0], values[0], values[0])
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return CohortCell(len(values), round(median, 9), round(q1, 9), round(q3, 9))
