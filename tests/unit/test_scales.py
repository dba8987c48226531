"""Outcome scales: the built-in definitions, valid scores, clinic-defined scales, and the direction of change."""

from __future__ import annotations

import math

import pytest

from tracker.outcomes.scales import (
    BUILT_IN,
    Scale,
    ScaleError,
    ScoreError,
    custom_scale,
    format_number,
    improvement,
    validate_score,
)

POSAS_PATIENT = {"pain": 2, "itching": 3, "colour": 5, "stiffness": 1, "thickness": 4, "irregularity": 6}
POSAS_OBSERVER = {"vascularity": 2, "pigmentation": 5, "thickness": 3, "relief": 4, "pliability": 2,
                  "surface_area": 3}


def test_exactly_the_built_in_codes():
    assert set(BUILT_IN) == {"gais", "gais_patient", "posas_patient", "posas_observer", "davey", "satisfaction",
                             "itch", "pain"}
    assert all(code == scale.code for code, scale in BUILT_IN.items())


@pytest.mark.parametrize(("code", "rater", "minimum", "maximum", "lower_is_better", "mid"), [
    ("gais", "practitioner", 1, 5, True, 1),
    ("gais_patient", "patient", 1, 5, True, 1),
    ("posas_patient", "patient", 6, 60, True, 6),
    ("posas_observer", "practitioner", 6, 60, True, 6),
    ("davey", "practitioner", 0, 8, True, 1),
    ("satisfaction", "patient", 0, 10, False, 1),
    ("itch", "patient", 0, 10, True, 1),
    ("pain", "patient", 0, 10, True, 1),
])
def test_built_in_definitions(code, rater, minimum, maximum, lower_is_better, mid):
    scale = BUILT_IN[code]
    assert (scale.rater, scale.minimum, scale.maximum, scale.lower_is_better, scale.default_mid) == (
        rater, minimum, maximum, lower_is_better, mid)
    assert scale.step == 1
    assert scale.name and scale.description and scale.reference and scale.mid_source


def test_gais_anchors_and_baseline():
    for code in ("gais", "gais_patient"):
        scale = BUILT_IN[code]
        assert scale.labels == {1: "very much improved", 2: "much improved", 3: "improved", 4: "no change",
                                5: "worse"}
        assert scale.baseline_value == 4


@pytest.mark.parametrize(("code", "items"), [
    ("posas_patient", ["pain", "itching", "colour", "stiffness", "thickness", "irregularity"]),
    ("posas_observer", ["vascularity", "pigmentation", "thickness", "relief", "pliability", "surface_area"]),
    ("davey", ["upper_right", "upper_left", "lower_right", "lower_left"]),
])
def test_multi_item_scales_items(code, items):
    scale = BUILT_IN[code]
    assert [i.code for i in scale.items] == items
    assert sum(i.minimum for i in scale.items) == scale.minimum
    assert sum(i.maximum for i in scale.items) == scale.maximum


def test_posas_overall_opinion_is_separate_from_the_sum():
    for code in ("posas_patient", "posas_observer"):
        scale = BUILT_IN[code]
        assert scale.overall is not None and (scale.overall.minimum, scale.overall.maximum) == (1, 10)
        assert "overall" not in {i.code for i in scale.items}


def test_scales_are_frozen_and_hashable():
    scale = BUILT_IN["davey"]
    with pytest.raises(AttributeError):
        scale.minimum = 1  # type: ignore[misc]
    assert len({*BUILT_IN.values()}) == len(BUILT_IN)


def test_to_dict_is_plain_data():
    data = BUILT_IN["posas_patient"].to_dict()
    assert data["code"] == "posas_patient" and data["minimum"] == 6 and data["maximum"] == 60
    assert [i["code"] for i in data["items"]][:2] == ["pain", "itching"]
    assert data["overall"]["code"] == "overall" and data["labels"] == {"6": "like normal skin"}


# --- single scores --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "score"), [
    ("gais", 1), ("gais", 5), ("gais_patient", 3), ("davey", 0), ("davey", 8), ("satisfaction", 0),
    ("satisfaction", 10), ("itch", 7), ("pain", 0), ("gais", 2.0), ("davey", 3.0000000000001),
])
def test_valid_single_scores(code, score):
    result = validate_score(BUILT_IN[code], score)
    assert result == round(score) and isinstance(result, float)


def test_gais_range_message():
    with pytest.raises(ScoreError) as caught:
        validate_score(BUILT_IN["gais"], 6)
    assert caught.value.field == "score"
    assert caught.value.message == "GAIS scores run from 1 (very much improved) to 5 (worse)."


@pytest.mark.parametrize(("code", "score", "fragment"), [
    ("gais", 0, "run from 1 (very much improved) to 5 (worse)"),
    ("davey", 9, "Davey scores run from 0 (no striae) to 8"),
    ("davey", -1, "Davey scores run from 0"),
    ("satisfaction", 11, "Satisfaction scores run from 0 (not at all satisfied) to 10 (completely satisfied)"),
    ("itch", 2.5, "Itch scores are whole numbers, from 0 to 10"),
    ("pain", 10.5, "Pain scores run from 0 (no pain) to 10"),
    ("gais", None, "Enter a GAIS score: 1 (very much improved) to 5 (worse)"),
    ("gais", "3", "Enter the GAIS score as a number"),
    ("gais", True, "as a number"),
    ("davey", math.nan, "as a number"),
    ("pain", math.inf, "as a number"),
])
def test_invalid_single_scores(code, score, fragment):
    with pytest.raises(ScoreError) as caught:
        validate_score(BUILT_IN[code], score)
    assert fragment in caught.value.message and caught.value.field == "score"


def test_single_score_scale_refuses_items():
    with pytest.raises(ScoreError) as caught:
        validate_score(BUILT_IN["gais"], 2, {"pain": 1})
    assert caught.value.field == "items" and "single score" in caught.value.message


# --- multi-item scores ----------------------------------------------------------------------------------

def test_posas_patient_sum():
    assert validate_score(BUILT_IN["posas_patient"], None, POSAS_PATIENT) == 21


def test_posas_observer_sum_with_overall_not_added():
    assert validate_score(BUILT_IN["posas_observer"], None, {**POSAS_OBSERVER, "overall": 9}) == 19


def test_posas_total_that_matches_the_items_is_accepted_and_one_that_does_not_is_refused():
    assert validate_score(BUILT_IN["posas_patient"], 21, POSAS_PATIENT) == 21
    with pytest.raises(ScoreError) as caught:
        validate_score(BUILT_IN["posas_patient"], 30, POSAS_PATIENT)
    assert caught.value.message == "The total (30) does not match the items, which add up to 21."


def test_posas_missing_item_message():
    items = {k: v for k, v in POSAS_PATIENT.items() if k != "itching"}
    with pytest.raises(ScoreError) as caught:
        validate_score(BUILT_IN["posas_patient"], None, items)
    assert caught.value.field == "items"
    assert caught.value.message == "Score every POSAS item from 1 to 10: missing itching."


def test_posas_item_given_as_none_counts_as_missing():
    with pytest.raises(ScoreError, match="missing pain and colour"):
        validate_score(BUILT_IN["posas_patient"], None, {**POSAS_PATIENT, "pain": None, "colour": None})


def test_posas_total_alone_is_refused():
    with pytest.raises(ScoreError, match="missing pain, itching, colour, stiffness, thickness and irregularity"):
        validate_score(BUILT_IN["posas_patient"], 21)


@pytest.mark.parametrize(("item", "value"), [("pain", 0), ("pain", 11), ("thickness", 2.5), ("overall", 11)])
def test_posas_item_out_of_range(item, value):
    with pytest.raises(ScoreError) as caught:
        validate_score(BUILT_IN["posas_patient"], None, {**POSAS_PATIENT, item: value})
    assert caught.value.field == f"items.{item}"
    assert "whole number from 1 (like normal skin) to 10 (worst imaginable)" in caught.value.message


def test_posas_unknown_item():
    with pytest.raises(ScoreError, match="POSAS has no item called vascularity"):
        validate_score(BUILT_IN["posas_patient"], None, {**POSAS_PATIENT, "vascularity": 3})


def test_posas_item_not_a_number():
    with pytest.raises(ScoreError, match="Enter itching as a number") as caught:
        validate_score(BUILT_IN["posas_patient"], None, {**POSAS_PATIENT, "itching": "3"})
    assert caught.value.field == "items.itching"


def test_davey_by_quadrants_or_total():
    quadrants = {"upper_right": 0, "upper_left": 1, "lower_right": 2, "lower_left": 2}
    assert validate_score(BUILT_IN["davey"], None, quadrants) == 5
    assert validate_score(BUILT_IN["davey"], 5) == 5
    with pytest.raises(ScoreError, match="Score every Davey quadrant from 0 to 2: missing lower left"):
        validate_score(BUILT_IN["davey"], None, {k: v for k, v in quadrants.items() if k != "lower_left"})
    with pytest.raises(ScoreError, match=r"Score upper left with a whole number from 0 \(no striae\) to 2"):
        validate_score(BUILT_IN["davey"], None, {**quadrants, "upper_left": 3})


# --- custom scales --------------------------------------------------------------------------------------

def test_custom_scale_continuous():
    scale = custom_scale("width_mm", "Widest stria (mm)", 0, 20, True, 0.5)
    assert isinstance(scale, Scale) and scale.step is None and scale.default_mid == 0.5
    assert scale.rater == "either" and scale.label == "Widest stria (mm)"
    assert validate_score(scale, 3.27) == 3.27
    with pytest.raises(ScoreError, match=r"Widest stria \(mm\) scores run from 0 to 20"):
        validate_score(scale, 21)


def test_custom_scale_with_step_and_labels():
    scale = custom_scale("texture", "texture", 0, 5, False, 1, step=0.5, labels={0: "rough", 5: "smooth"})
    assert validate_score(scale, 2.5) == 2.5
    with pytest.raises(ScoreError, match=r"Texture scores go in steps of 0.5, from 0 to 5"):
        validate_score(scale, 2.25)
    with pytest.raises(ScoreError, match=r"run from 0 \(rough\) to 5 \(smooth\)"):
        validate_score(scale, 6)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"code": " "}, "code"),
    ({"code": "davey"}, "code"),
    ({"code": "x" * 41}, "code"),
    ({"name": ""}, "name"),
    ({"name": "x" * 121}, "name"),
    ({"minimum": 5, "maximum": 5}, "maximum"),
    ({"minimum": 10, "maximum": 0}, "maximum"),
    ({"maximum": math.inf}, "maximum"),
    ({"mid": 0}, "mid"),
    ({"mid": 11}, "mid"),
    ({"step": 0}, "step"),
    ({"rater": "robot"}, "rater"),
])
def test_custom_scale_refusals(kwargs, field):
    args = {"code": "local", "name": "Local score", "minimum": 0, "maximum": 10, "lower_is_better": True,
            "mid": 1, **kwargs}
    with pytest.raises(ScaleError) as caught:
        custom_scale(**args)
    assert caught.value.field == field and caught.value.message


# --- improvement ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "before", "after", "expected"), [
    ("davey", 7, 5, 2), ("davey", 3, 4, -1), ("davey", 3, 3, 0),
    ("posas_patient", 40, 28, 12), ("itch", 2, 6, -4),
    ("satisfaction", 4, 7, 3), ("satisfaction", 8, 5, -3),
    ("gais", 3, 2, 1), ("gais", 4, 1, 3), ("gais", 2, 5, -3),
])
def test_improvement_is_positive_when_better(code, before, after, expected):
    assert improvement(BUILT_IN[code], before, after) == expected


def test_improvement_removes_float_noise_and_negative_zero():
    scale = custom_scale("x", "x", 0, 10, True, 0.1)
    assert improvement(scale, 7.3, 6.57) == 0.73
    assert math.copysign(1, improvement(BUILT_IN["satisfaction"], 5, 5)) == 1


@pytest.mark.parametrize(("value", "text"), [(3, "3"), (3.0, "3"), (2.5, "2.5"), (0.7299999999, "0.73"),
                                             (-1.0, "-1"), (0.004, "0.004"), (6.666666, "6.667")])
def test_format_number(value, text):
    assert format_number(value) == text
