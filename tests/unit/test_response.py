"""Per-session response and plateau on constructed series (definitions: tracker.outcomes.response)."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.outcomes.response import (
    Assessment,
    CohortCell,
    Mid,
    SessionPoint,
    SessionResponse,
    Window,
    cohort_improvement,
    compute_response,
)
from tracker.outcomes.scales import BUILT_IN, custom_scale, improvement

D0 = date(2026, 1, 5)
DAVEY = BUILT_IN["davey"]


def day(offset: int) -> date:
    return D0 + timedelta(days=offset)


def sessions(*offsets: int) -> list[SessionPoint]:
    return [SessionPoint(number, day(offset)) for number, offset in enumerate(offsets, start=1)]


def scores(*pairs: tuple[int, float]) -> list[Assessment]:
    return [Assessment(day(offset), score) for offset, score in pairs]


def triples(report) -> list[tuple]:
    return [(s.before, s.after, s.change) for s in report.sessions]


# Sessions six weeks apart; each assessment is taken on a session day before treatment, the last six weeks
# after session 3: the issue's series.
EVERY_SIX_WEEKS = sessions(0, 42, 84)


def issue_series(last: float) -> list[Assessment]:
    return scores((0, 7), (42, 5), (84, 3), (126, last))


# --- the issue's examples -------------------------------------------------------------------------------

def test_issue_example_plateau():
    report = compute_response(EVERY_SIX_WEEKS, issue_series(3), DAVEY)
    assert triples(report) == [(7, 5, 2), (5, 3, 2), (3, 3, 0)]
    assert [s.meaningful for s in report.sessions] == [True, True, False]
    assert [(s.before_on, s.after_on) for s in report.sessions] == [
        (day(0), day(42)), (day(42), day(84)), (day(84), day(126))]
    assert report.plateau is True and report.worsening is False
    assert report.mid_points == 1 and report.missing == []
    assert report.verdict == (
        "Session 3 brought no meaningful improvement on the Davey score (3 → 3, change 0; the minimal important "
        "difference is 1). Sessions 1 and 2 improved it by 2 each. The response on this measure has plateaued.")


def test_issue_example_no_plateau():
    report = compute_response(EVERY_SIX_WEEKS, issue_series(1), DAVEY)
    assert triples(report) == [(7, 5, 2), (5, 3, 2), (3, 1, 2)]
    assert report.plateau is False and report.worsening is False
    assert report.verdict == ("Session 3 improved the Davey score by 2 (3 → 1), more than the minimal important "
                              "difference of 1: the response has not plateaued.")


def test_to_dict_api_shape():
    data = compute_response(EVERY_SIX_WEEKS, issue_series(3), DAVEY).to_dict()
    assert {"scale", "sessions", "plateau", "verdict"} <= set(data)
    assert data["scale"] == "davey" and data["plateau"] is True and data["mid"] == 1
    assert data["sessions"][0] == {"number": 1, "performed_on": "2026-01-05", "before": 7, "after": 5, "change": 2,
                                   "before_on": "2026-01-05", "after_on": "2026-02-16", "before_implied": False,
                                   "meaningful": True, "label": "session 1", "course_id": None}
    assert data["window"] == {"start_days": 28, "end_days": 84}


def test_two_courses_on_one_area_keep_their_session_numbers_apart():
    """A course of three, then a touch-up course of one: the touch-up is "session 1 of course 2" in the table,
    the verdict and the missing-data sentences — never a second, ambiguous "session 1"."""
    points = [SessionPoint(n, day(offset), course="course 1", course_id=10) for n, offset in ((1, 0), (2, 42), (3, 84))]
    points.append(SessionPoint(1, day(300), course="course 2", course_id=11))
    report = compute_response(points, scores((0, 8), (42, 6), (84, 4), (126, 3), (300, 4), (342, 4)), DAVEY)
    assert [r.label for r in report.sessions] == ["session 1 of course 1", "session 2 of course 1",
                                                 "session 3 of course 1", "session 1 of course 2"]
    assert [r.change for r in report.sessions] == [2, 2, 1, 0] and report.plateau is True
    assert report.verdict.startswith("Session 1 of course 2 brought no meaningful improvement")
    assert "Session 1 of course 1, session 2 of course 1 and session 3 of course 1" not in report.verdict
    assert report.to_dict()["sessions"][3]["course_id"] == 11
    sparse = compute_response(points, scores((0, 8)), DAVEY)
    assert "after session 1 of course 2" in " ".join(sparse.missing)


# --- shapes of response ---------------------------------------------------------------------------------

def test_improving_every_session():
    report = compute_response(sessions(0, 42, 84, 126), scores((0, 8), (42, 6), (84, 4), (126, 2), (168, 0)),
                              DAVEY)
    assert [s.change for s in report.sessions] == [2, 2, 2, 2]
    assert report.plateau is False


def test_plateau_after_a_change_below_the_mid():
    scale = custom_scale("area", "striae area", 0, 100, True, 5)
    report = compute_response(EVERY_SIX_WEEKS, scores((0, 60), (42, 50), (84, 40), (126, 37)), scale)
    assert [s.change for s in report.sessions] == [10, 10, 3]
    assert report.plateau is True and report.worsening is False
    assert "change 3; the minimal important difference is 5" in report.verdict


def test_worsening():
    report = compute_response(EVERY_SIX_WEEKS, issue_series(4), DAVEY)
    assert report.sessions[-1].change == -1
    assert report.plateau is True and report.worsening is True
    assert report.verdict.startswith("The Davey score was worse after session 3 (3 → 4, change -1;")
    assert "The response on this measure has plateaued." in report.verdict


def test_never_improved_is_not_called_a_plateau_in_words():
    report = compute_response(EVERY_SIX_WEEKS, scores((0, 6), (42, 6), (84, 6), (126, 6)), DAVEY)
    assert report.plateau is True
    assert "Sessions 1 and 2 left it unchanged." in report.verdict
    assert report.verdict.endswith("No session so far has brought a meaningful improvement on this measure.")


def test_mixed_earlier_sessions_are_each_described():
    report = compute_response(EVERY_SIX_WEEKS, scores((0, 7), (42, 5), (84, 4), (126, 4)), DAVEY)
    assert "Session 1 improved it by 2 and session 2 improved it by 1." in report.verdict


def test_change_equal_to_the_mid_is_meaningful():
    report = compute_response(EVERY_SIX_WEEKS, scores((0, 7), (42, 5), (84, 3), (126, 2)), DAVEY)
    assert report.sessions[-1].meaningful is True and report.plateau is False
    assert "as much as the minimal important difference of 1" in report.verdict


# --- sparse data ----------------------------------------------------------------------------------------

def test_no_assessment_after_the_last_session():
    report = compute_response(EVERY_SIX_WEEKS, scores((0, 7), (42, 5), (84, 3)), DAVEY)
    assert triples(report) == [(7, 5, 2), (5, 3, 2), (3, None, None)]
    assert report.sessions[-1].meaningful is None
    assert report.plateau is None and report.worsening is None
    message = "No assessment between 4 and 12 weeks after session 3 (due 2026-04-27 to 2026-06-22)."
    assert report.missing == [message]
    assert report.verdict == (
        "Not enough data to judge session 3: no assessment between 4 and 12 weeks after session 3 (due "
        "2026-04-27 to 2026-06-22). Sessions 1 and 2 improved the Davey score by 2 each.")


def test_no_assessment_between_two_sessions():
    report = compute_response(EVERY_SIX_WEEKS, scores((0, 7), (126, 3)), DAVEY)
    assert triples(report) == [(7, None, None), (None, None, None), (None, 3, None)]
    assert report.plateau is None
    assert report.missing == [
        "No assessment between 4 and 12 weeks after session 1 (due 2026-02-02 to 2026-02-16, before session 2).",
        "No assessment between session 1 (2026-01-05) and session 2 (2026-02-16).",
        "No assessment between 4 and 12 weeks after session 2 (due 2026-03-16 to 2026-03-30, before session 3).",
        "No assessment between session 2 (2026-02-16) and session 3 (2026-03-30).",
    ]
    assert report.verdict == ("Not enough data to judge session 3: no assessment between session 2 (2026-02-16) "
                              "and session 3 (2026-03-30).")


def test_a_before_from_before_the_previous_session_is_not_used():
    # The baseline 7 would make session 2's change include session 1's effect.
    report = compute_response(sessions(0, 42), scores((0, 7), (84, 3)), DAVEY)
    assert report.sessions[1].before is None and report.sessions[1].change is None


def test_no_baseline():
    report = compute_response(sessions(0), scores((42, 5)), DAVEY)
    assert triples(report) == [(None, 5, None)]
    assert report.missing == ["No assessment on or before session 1 (2026-01-05)."]
    assert report.plateau is None


def test_no_sessions():
    report = compute_response([], scores((0, 7)), DAVEY)
    assert report.sessions == [] and report.plateau is None and report.worsening is None
    assert report.verdict == "Not enough data: no sessions recorded yet."
    assert report.missing == ["No sessions recorded yet."]
    assert report.to_dict()["sessions"] == []


def test_no_assessments():
    report = compute_response(sessions(0, 42), [], DAVEY)
    assert triples(report) == [(None, None, None), (None, None, None)]
    assert report.plateau is None and len(report.missing) == 4
    assert report.verdict.startswith("Not enough data to judge session 2: no assessment between session 1")


# --- dates and windows ----------------------------------------------------------------------------------

def test_same_day_assessment_counts_as_before_not_after():
    report = compute_response(sessions(0), scores((0, 7), (42, 5)), DAVEY)
    assert (report.sessions[0].before_on, report.sessions[0].after_on) == (day(0), day(42))
    only_same_day = compute_response(sessions(0), scores((0, 7)), DAVEY)
    assert only_same_day.sessions[0].after is None


@pytest.mark.parametrize(("offset", "counts"), [(27, False), (28, True), (84, True), (85, False)])
def test_window_edges_are_inclusive(offset, counts):
    report = compute_response(sessions(0), scores((0, 7), (offset, 5)), DAVEY)
    assert (report.sessions[0].after == 5) is counts


def test_latest_assessment_in_the_window_is_used():
    report = compute_response(sessions(0), scores((0, 7), (14, 2), (30, 6), (60, 5), (80, 4), (90, 1)), DAVEY)
    assert (report.sessions[0].after, report.sessions[0].after_on) == (4, day(80))


def test_next_session_inside_the_window_cuts_it_short():
    # Session 2 at 5 weeks: the assessment at 7 weeks shows sessions 1 and 2 together, so not session 1's "after".
    report = compute_response(sessions(0, 35), scores((0, 7), (30, 6), (49, 4), (70, 3)), DAVEY)
    first, second = report.sessions
    assert (first.after, first.after_on, first.change) == (6, day(30), 1)
    assert (second.before, second.before_on) == (6, day(30))
    assert (second.after, second.after_on, second.change) == (3, day(70), 3)


def test_next_session_on_an_assessment_day_shares_it():
    report = compute_response(sessions(0, 35), scores((0, 7), (35, 5), (70, 4)), DAVEY)
    assert report.sessions[0].after_on == report.sessions[1].before_on == day(35)


def test_next_session_before_the_window_opens():
    report = compute_response(sessions(0, 21, 63), scores((0, 7), (21, 6), (63, 4), (105, 3)), DAVEY)
    assert report.sessions[0].after is None and report.sessions[0].change is None
    assert report.missing == ["Session 2 came 3 weeks after session 1, before 4 weeks had passed, so session 1's "
                              "response cannot be measured on its own."]
    assert [s.change for s in report.sessions[1:]] == [2, 1]
    assert report.plateau is False
    cut_short = compute_response(sessions(0, 21, 60), scores((0, 7)), DAVEY).missing
    assert ("No assessment between 4 and 12 weeks after session 2 (due 2026-02-23 to 2026-03-06, before "
            "session 3).") in cut_short


def test_custom_window():
    window = Window(start_days=14, end_days=30)
    report = compute_response(sessions(0), scores((0, 7), (20, 5), (40, 3)), DAVEY, window=window)
    assert report.sessions[0].after == 5 and report.to_dict()["window"] == {"start_days": 14, "end_days": 30}
    sparse = compute_response(sessions(0), scores((0, 7)), DAVEY, window=window)
    assert sparse.missing == ["No assessment between 14 and 30 days after session 1 (due 2026-01-19 to 2026-02-04)."]


@pytest.mark.parametrize(("start", "end"), [(-1, 10), (20, 10), (0, 0)])
def test_window_refuses_impossible_ranges(start, end):
    with pytest.raises(ValueError):
        Window(start, end)


def test_unsorted_inputs_give_the_same_report():
    ordered = compute_response(EVERY_SIX_WEEKS, issue_series(3), DAVEY)
    shuffled_sessions, shuffled_scores = list(reversed(EVERY_SIX_WEEKS)), issue_series(3)
    random.Random(4).shuffle(shuffled_scores)
    assert compute_response(shuffled_sessions, shuffled_scores, DAVEY) == ordered


def test_duplicate_dates_are_averaged_whatever_the_order():
    first = compute_response(sessions(0), scores((0, 7), (0, 6), (42, 5), (42, 4)), DAVEY)
    second = compute_response(sessions(0), scores((42, 4), (0, 6), (42, 5), (0, 7)), DAVEY)
    assert first == second
    assert triples(first) == [(6.5, 4.5, 2)]


# --- minimal important difference -----------------------------------------------------------------------

METRIC = custom_scale("width", "stria width (mm)", 0, 20, True, 1)


def test_mid_in_points_overrides_the_default():
    report = compute_response(EVERY_SIX_WEEKS, issue_series(1), DAVEY, mid=Mid(points=3))
    assert report.mid_points == 3 and report.plateau is True
    assert [s.meaningful for s in report.sessions] == [False, False, False]
    assert report.verdict.endswith("No session so far has brought a meaningful improvement on this measure.")


def test_mid_as_a_fraction_of_the_baseline():
    # 10% of a baseline of 8 mm is 0.8 mm: 0.5 mm is not meaningful, 0.8 mm is.
    plateau = compute_response(EVERY_SIX_WEEKS, scores((0, 8), (42, 6.5), (84, 5.5), (126, 5.0)), METRIC,
                               mid=Mid(fraction=0.1))
    assert plateau.mid_points == 0.8
    assert [s.change for s in plateau.sessions] == [1.5, 1, 0.5]
    assert plateau.plateau is True
    assert "the minimal important difference is 0.8 (10% of the baseline 8)" in plateau.verdict
    going = compute_response(EVERY_SIX_WEEKS, scores((0, 8), (42, 6.5), (84, 5.5), (126, 4.7)), METRIC,
                             mid=Mid(fraction=0.1))
    assert going.sessions[-1].change == 0.8 and going.sessions[-1].meaningful is True
    assert going.plateau is False


def test_mid_as_a_fraction_without_a_baseline():
    report = compute_response(sessions(0, 42), scores((42, 6), (84, 5)), METRIC, mid=Mid(fraction=0.1))
    assert report.sessions[1].change == 1
    assert report.mid_points is None and report.plateau is None and report.sessions[1].meaningful is None
    no_baseline = ("The minimal important difference is 10% of the baseline, and there is no assessment on or "
                   "before session 1 to take it of.")
    assert report.missing[-1] == no_baseline
    assert report.verdict == f"Not enough data to judge session 2: {no_baseline[0].lower()}{no_baseline[1:]}"


@pytest.mark.parametrize("kwargs", [{"points": 1, "fraction": 0.1}, {"points": 0}, {"fraction": -0.1}])
def test_mid_refuses_impossible_values(kwargs):
    with pytest.raises(ValueError):
        Mid(**kwargs)


# --- direction and GAIS ---------------------------------------------------------------------------------

def test_higher_is_better_scale():
    satisfaction = BUILT_IN["satisfaction"]
    report = compute_response(EVERY_SIX_WEEKS, scores((0, 3), (42, 6), (84, 8), (126, 8)), satisfaction)
    assert [s.change for s in report.sessions] == [3, 2, 0]
    assert report.plateau is True
    worse = compute_response(EVERY_SIX_WEEKS, scores((0, 3), (42, 6), (84, 8), (126, 6)), satisfaction)
    assert worse.sessions[-1].change == -2 and worse.worsening is True
    assert worse.verdict.startswith("The satisfaction score was worse after session 3 (8 → 6, change -2;")


def test_gais_rates_change_since_baseline_which_is_no_change_by_definition():
    # GAIS 2 after session 1, 1 after session 2, still 1 after session 3: session 3 added nothing.
    report = compute_response(EVERY_SIX_WEEKS, scores((42, 2), (84, 1), (126, 1)), BUILT_IN["gais"])
    first = report.sessions[0]
    assert (first.before, first.before_on, first.before_implied, first.change) == (4, None, True, 2)
    assert [s.change for s in report.sessions] == [2, 1, 0]
    assert not any(s.before_implied for s in report.sessions[1:])
    assert report.plateau is True and report.missing == []


def test_gais_recorded_baseline_is_used_and_worse_is_worsening():
    report = compute_response(EVERY_SIX_WEEKS, scores((0, 4), (42, 3), (84, 2), (126, 3)),
                              BUILT_IN["gais_patient"])
    assert report.sessions[0].before_implied is False and report.sessions[0].before_on == day(0)
    assert [s.change for s in report.sessions] == [1, 1, -1]
    assert report.worsening is True


def test_implied_baseline_only_for_session_1():
    report = compute_response(EVERY_SIX_WEEKS, scores((42, 2), (126, 1)), BUILT_IN["gais"])
    assert report.sessions[2].before is None and report.plateau is None


# --- cohort ---------------------------------------------------------------------------------------------

def _responses(*changes: float | None) -> list[SessionResponse]:
    return [SessionResponse(n, day(42 * (n - 1)), None, None, None, None, c, None)
            for n, c in enumerate(changes, start=1)]


def test_cohort_median_and_quartiles_per_session():
    cohort = cohort_improvement([_responses(2, 2, 0), _responses(1, 3, None), _responses(4, 1, 1),
                                 _responses(3, None, None), _responses(None, 2, 1)])
    assert cohort == {1: CohortCell(4, 2.5, 1.75, 3.25), 2: CohortCell(4, 2, 1.75, 2.25),
                      3: CohortCell(3, 1, 0.5, 1)}
    assert cohort[1].to_dict() == {"n": 4, "median_change": 2.5, "q1": 1.75, "q3": 3.25}


def test_cohort_single_patient_and_empty():
    assert cohort_improvement([_responses(2)]) == {1: CohortCell(1, 2, 2, 2)}
    assert cohort_improvement([]) == {}
    assert cohort_improvement([_responses(None, None)]) == {}


def test_cohort_from_real_reports():
    reports = [compute_response(EVERY_SIX_WEEKS, issue_series(last), DAVEY).sessions for last in (3, 1, 4)]
    cohort = cohort_improvement(reports)
    assert cohort[1] == CohortCell(3, 2, 2, 2) and cohort[3] == CohortCell(3, 0, -0.5, 1)


# --- properties -----------------------------------------------------------------------------------------

SINGLE_SCORE = [BUILT_IN[c] for c in ("davey", "gais", "gais_patient", "satisfaction", "itch", "posas_observer")]


@st.composite
def series(draw):
    scale = draw(st.sampled_from(SINGLE_SCORE))
    gaps = draw(st.lists(st.integers(0, 120), min_size=1, max_size=4))
    offsets = list(itertools.accumulate(gaps))
    points = draw(st.permutations(sessions(*offsets)))
    score = st.integers(int(scale.minimum), int(scale.maximum))
    assessments = draw(st.lists(st.builds(lambda o, s: Assessment(day(o), s), st.integers(-30, 600), score),
                                max_size=12))
    return scale, points, assessments


@settings(database=None, deadline=None, max_examples=300)
@given(series())
def test_property_changes_follow_direction_and_plateau_needs_the_last_change(example):
    scale, points, assessments = example
    report = compute_response(points, assessments, scale)
    by_date = sorted(points, key=lambda p: (p.performed_on, p.number))
    assert [s.number for s in report.sessions] == [p.number for p in by_date]
    for i, s in enumerate(report.sessions):
        assert (s.change is None) == (s.before is None or s.after is None)
        if s.change is not None:
            raw = s.after - s.before
            assert s.change == improvement(scale, s.before, s.after)
            assert (s.change > 0) == ((raw < 0) if scale.lower_is_better else (raw > 0))
            assert s.meaningful == (s.change >= scale.default_mid)
        if s.before_on is not None:
            assert s.before_on <= s.performed_on
            assert i == 0 or s.before_on > by_date[i - 1].performed_on
        if s.after_on is not None:
            assert 28 <= (s.after_on - s.performed_on).days <= 84
            assert i + 1 == len(by_date) or s.after_on <= by_date[i + 1].performed_on
    last = report.sessions[-1]
    assert (report.plateau is None) == (last.change is None)
    if report.plateau is not None:
        assert report.plateau == (last.change < scale.default_mid)
        assert report.worsening == (last.change < 0)
    assert (report.missing == []) == all(s.change is not None for s in report.sessions)
    assert report.verdict
