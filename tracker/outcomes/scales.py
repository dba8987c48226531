"""The outcome scales a clinic can score a treated area on, and the rules for a valid score.

Pure Python: no Flask, no database. Each scale is an immutable :class:`Scale`; :data:`BUILT_IN` holds the
published ones, :func:`custom_scale` builds a clinic-defined numeric one, :func:`validate_score` turns what a
person entered into the one number the response maths use (or raises :class:`ScoreError` with a sentence a
person can act on), and :func:`improvement` gives a change in which a positive number always means better.

Direction. Most scales here measure how *bad* something is (``lower_is_better``); satisfaction measures how
good. :func:`improvement` hides that: callers never compare raw numbers to decide "better".

GAIS is different in kind. The Global Aesthetic Improvement Scale does not measure a level: each rating
already compares the area with how it looked at baseline (1 very much improved ... 4 no change, 5 worse).
The response maths (:mod:`tracker.outcomes.response`) still treat it like any lower-is-better score, which
works because a lower rating means "more improved than baseline": a session's response on GAIS is the rating
recorded in the window after the session compared with the rating recorded before it, so "GAIS 3 before
session 2, 2 after it" is an improvement of 1 grade brought by session 2, and an unchanged rating means that
session added nothing (a plateau). At baseline GAIS is "no change" (4) by definition, so GAIS scales carry
``baseline_value=4``, which the response maths use as session 1's "before" when nobody recorded one.

Minimal important differences (``default_mid``). They are defaults a clinic can override per area, not
promises. Where the literature gives no threshold for this use (POSAS totals, the Davey score) the default
is an explicit assumption, said so in the scale's ``mid_source``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Rater = Literal["practitioner", "patient", "either"]
RATERS: tuple[str, ...] = ("practitioner", "patient", "either")
OVERALL = "overall"  # the item key of the optional "overall opinion" on multi-item scales
_TOLERANCE = 1e-9  # float noise allowed when checking that a score lies on its scale's step
MAX_CODE, MAX_NAME = 40, 120  # the lengths the custom_scales and assessments columns hold


class ScoreError(ValueError):
    """A score a person entered is not valid on its scale; ``message`` is safe to show them as is."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class ScaleError(ValueError):
    """A clinic-defined scale cannot be built as asked; ``message`` is safe to show as is."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ScaleItem:
    """One scored item of a multi-item scale (a POSAS item, a Davey quadrant)."""

    code: str
    name: str
    minimum: float
    maximum: float
    labels: dict[int, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Scale:
    """An outcome scale. Scores are numbers in [minimum, maximum] on multiples of ``step`` from ``minimum``
    (``step=None``: any number in range). Multi-item scales score each of ``items`` (step 1) and use the sum.
    """

    code: str
    name: str
    rater: Rater
    minimum: float
    maximum: float
    step: float | None
    lower_is_better: bool
    default_mid: float
    items: tuple[ScaleItem, ...] = ()
    labels: dict[int, str] = field(default_factory=dict, hash=False)
    description: str = ""
    reference: str = ""
    short_name: str = ""  # "GAIS", "Davey": used in messages and verdicts ("the Davey score")
    mid_source: str = ""  # where default_mid comes from, or that it is an assumption
    items_required: bool = True  # False: a total may be entered without its items (Davey)
    item_noun: str = "item"  # "quadrant" for Davey, in messages
    overall: ScaleItem | None = None  # optional overall opinion, validated but never part of the sum
    baseline_value: float | None = None  # the value at baseline by definition (GAIS: 4, no change)

    @property
    def label(self) -> str:
        return self.short_name or self.name

    def to_dict(self) -> dict[str, Any]:
        """The API shape of a scale definition."""
        return {
            "code": self.code, "name": self.name, "short_name": self.label, "rater": self.rater,
            "minimum": self.minimum, "maximum": self.maximum, "step": self.step,
            "lower_is_better": self.lower_is_better, "default_mid": self.default_mid,
            "mid_source": self.mid_source, "labels": {str(k): v for k, v in self.labels.items()},
            "items": [_item_dict(i) for i in self.items], "items_required": self.items_required,
            "overall": _item_dict(self.overall) if self.overall else None,
            "description": self.description, "reference": self.reference,
        }


def _item_dict(item: ScaleItem) -> dict[str, Any]:
    return {"code": item.code, "name": item.name, "minimum": item.minimum, "maximum": item.maximum,
            "labels": {str(k): v for k, v in item.labels.items()}}


# --- built-in scales ------------------------------------------------------------------------------------

_GAIS_LABELS = {1: "very much improved", 2: "much improved", 3: "improved", 4: "no change", 5: "worse"}
_GAIS_DESCRIPTION = (
    "A single rating of how the treated area looks now compared with baseline photographs: 1 very much "
    "improved, 2 much improved, 3 improved, 4 no change, 5 worse. It rates change, not severity, so the "
    "response to a session is the rating after it compared with the rating before it.")
_GAIS_REFERENCE = (
    "Narins RS, Brandt F, Leyden J, et al. A randomized, double-blind, multicenter comparison of the efficacy "
    "and tolerability of Restylane versus Zyplast for the correction of nasolabial folds. Dermatol Surg "
    "2003;29(6):588-595.")
_GAIS_MID = "One grade: the smallest step the scale can show; the usual responder definition."


def _gais(code: str, name: str, rater: Rater, short_name: str) -> Scale:
    return Scale(code=code, name=name, rater=rater, minimum=1, maximum=5, step=1, lower_is_better=True,
                 default_mid=1, labels=dict(_GAIS_LABELS), description=_GAIS_DESCRIPTION,
                 reference=_GAIS_REFERENCE, short_name=short_name, mid_source=_GAIS_MID, baseline_value=4)


def _posas_items(names: tuple[str, ...], labels: dict[int, str]) -> tuple[ScaleItem, ...]:
    return tuple(ScaleItem(code=n.replace(" ", "_"), name=n, minimum=1, maximum=10, labels=dict(labels))
                 for n in names)


_POSAS_REFERENCE = (
    "POSAS 2.0 (www.posas.nl). Draaijers LJ, Tempelman FR, Botman YA, et al. The patient and observer scar "
    "assessment scale: a reliable and feasible tool for scar evaluation. Plast Reconstr Surg "
    "2004;113(7):1960-1965. Van de Kar AL, Corion LU, Smeulders MJ, et al. Reliable and feasible evaluation "
    "of linear scars by the Patient and Observer Scar Assessment Scale. Plast Reconstr Surg "
    "2005;116(2):514-522.")
_POSAS_MID = (
    "Assumption: no minimal important difference has been published for POSAS totals in striae. Six points "
    "on the 6-60 sum is one point per item on average; set the clinic's own value if it has one.")
_PATIENT_ANCHORS = {1: "like normal skin", 10: "worst imaginable"}
_OBSERVER_ANCHORS = {1: "like normal skin", 10: "worst scar imaginable"}


def _posas(code: str, name: str, rater: Rater, items: tuple[str, ...], anchors: dict[int, str],
           description: str) -> Scale:
    return Scale(code=code, name=name, rater=rater, minimum=6, maximum=60, step=1, lower_is_better=True,
                 default_mid=6, items=_posas_items(items, anchors), labels={6: "like normal skin"},
                 description=description, reference=_POSAS_REFERENCE, short_name="POSAS", mid_source=_POSAS_MID,
                 overall=ScaleItem(OVERALL, "overall opinion", 1, 10, dict(anchors)))


_DAVEY_QUADRANT = {0: "no striae", 1: "1-4 striae", 2: "5 or more striae"}
_NRS_MID = ("Clinic default of 1 point (the brief's choice). Published minimal clinically important "
            "differences on 0-10 numeric rating scales are larger: about 2 points or 30% for pain (Farrar "
            "2001), 2-3 points for chronic itch (Reich 2016). Raise it for a stricter test.")


def _nrs(code: str, name: str, short_name: str, labels: dict[int, str], reference: str,
         *, lower_is_better: bool = True, mid_source: str = _NRS_MID, description: str = "") -> Scale:
    return Scale(code=code, name=name, rater="patient", minimum=0, maximum=10, step=1,
                 lower_is_better=lower_is_better, default_mid=1, labels=labels, description=description,
                 reference=reference, short_name=short_name, mid_source=mid_source)


BUILT_IN: dict[str, Scale] = {s.code: s for s in (
    _gais("gais", "Global Aesthetic Improvement Scale (practitioner)", "practitioner", "GAIS"),
    _gais("gais_patient", "Global Aesthetic Improvement Scale (patient)", "patient", "GAIS"),
    _posas("posas_patient", "POSAS 2.0 Patient Scale", "patient",
           ("pain", "itching", "colour", "stiffness", "thickness", "irregularity"), _PATIENT_ANCHORS,
           "The patient scores six items from 1 (like normal skin) to 10 (worst imaginable); the total is "
           "their sum, 6 to 60. The overall opinion (1-10) is recorded on its own and is not part of the sum."),
    _posas("posas_observer", "POSAS 2.0 Observer Scale", "practitioner",
           ("vascularity", "pigmentation", "thickness", "relief", "pliability", "surface area"),
           _OBSERVER_ANCHORS,
           "The observer scores six items from 1 (like normal skin) to 10 (worst scar imaginable); the total is "
           "their sum, 6 to 60. The overall opinion (1-10) is recorded on its own and is not part of the sum."),
    Scale(code="davey", name="Davey score (abdominal striae)", rater="practitioner", minimum=0, maximum=8, step=1,
          lower_is_better=True, default_mid=1,
          items=tuple(ScaleItem(q.replace(" ", "_"), q, 0, 2, dict(_DAVEY_QUADRANT))
                      for q in ("upper right", "upper left", "lower right", "lower left")),
          labels={0: "no striae", 8: "5 or more striae in every quadrant"},
          description="Lines through the umbilicus divide the abdomen into four quadrants (the patient's right "
                      "and left). Each quadrant scores 0 (no striae), 1 (1-4 striae) or 2 (5 or more); the "
                      "score is their sum, 0 to 8. The total may be entered without the quadrants.",
          reference="Davey CM. Factors associated with the occurrence of striae gravidarum. J Obstet Gynaecol "
                    "Br Commonw 1972;79(12):1113-1114.",
          short_name="Davey", mid_source="One point: the smallest step the score can show (one quadrant moving "
                                         "one grade). No published minimal important difference.",
          items_required=False, item_noun="quadrant"),
    _nrs("satisfaction", "Patient satisfaction (0-10)", "satisfaction",
         {0: "not at all satisfied", 10: "completely satisfied"}, "Numeric rating scale.", lower_is_better=False,
         mid_source="One point: clinic default; no published minimal important difference for this use.",
         description="How satisfied the patient is with the result so far, 0 to 10. Higher is better."),
    _nrs("itch", "Itch numeric rating scale (0-10)", "itch", {0: "no itch", 10: "worst imaginable itch"},
         "Reich A, Riepe C, Anastasiadou Z, et al. Itch assessment with visual analogue scale and numerical "
         "rating scale: determination of minimal clinically important difference in chronic itch. Acta Derm "
         "Venereol 2016;96(7):978-980.", description="Worst itch in the treated area over the last 24 hours."),
    _nrs("pain", "Pain numeric rating scale (0-10)", "pain", {0: "no pain", 10: "worst pain imaginable"},
         "Farrar JT, Young JP Jr, LaMoreaux L, et al. Clinical importance of changes in chronic pain intensity "
         "measured on an 11-point numerical pain rating scale. Pain 2001;94(2):149-158.",
         description="Pain in the treated area, 0 to 10."),
)}


def custom_scale(code: str, name: str, minimum: float, maximum: float, lower_is_better: bool, mid: float, *,
                 step: float | None = None, rater: Rater = "either", labels: Mapping[int, str] | None = None,
                 description: str = "") -> Scale:
    """A clinic-defined numeric scale (a measurement, a local score). ``step=None`` accepts any number in range.

    Raises :class:`ScaleError` when the definition cannot work (a built-in code, an empty range, a minimal
    important difference that is not positive or larger than the whole range).
    """
    code, name = code.strip(), name.strip()
    if not code or len(code) > MAX_CODE:
        raise ScaleError("code", f"Give the scale a short code of at most {MAX_CODE} characters.")
    if code in BUILT_IN:
        raise ScaleError("code", f"'{code}' is a built-in scale; choose another code.")
    if not name or len(name) > MAX_NAME:
        raise ScaleError("name", f"Give the scale a name of at most {MAX_NAME} characters.")
    if not (_is_number(minimum) and _is_number(maximum)) or minimum >= maximum:
        raise ScaleError("maximum", "The highest score must be a number above the lowest.")
    if step is not None and not (_is_number(step) and 0 < step <= maximum - minimum):
        raise ScaleError("step", "The step must be a positive number no larger than the range.")
    if not (_is_number(mid) and 0 < mid <= maximum - minimum):
        raise ScaleError("mid", "The minimal important difference must be above 0 and no larger than the range.")
    if rater not in RATERS:
        raise ScaleError("rater", "The rater is the practitioner, the patient, or either.")
    return Scale(code=code, name=name, rater=rater, minimum=float(minimum), maximum=float(maximum), step=step,
                 lower_is_better=lower_is_better, default_mid=float(mid), labels=dict(labels or {}),
                 description=description, reference="Clinic-defined.", short_name=name,
                 mid_source="Set by the clinic.")


# --- validation -----------------------------------------------------------------------------------------

def validate_score(scale: Scale, score: float | None, items: Mapping[str, float] | None = None) -> float:
    """The canonical score for what a person entered, or :class:`ScoreError`.

    Single-score scales: ``score`` within [minimum, maximum] and on the step. Multi-item scales: every item,
    each within its range, and the sum is returned; ``items`` may also hold ``"overall"`` (the overall opinion,
    checked but not added). When both a total and items are given they must agree. Davey alone accepts a
    total without its quadrants.
    """
    if scale.items and (items or scale.items_required):
        total = _items_total(scale, items or {})
        if score is not None and not math.isclose(_score_number(scale, score), total, abs_tol=_TOLERANCE):
            raise ScoreError("score", f"The total ({format_number(score)}) does not match the "
                                      f"{scale.item_noun}s, which add up to {format_number(total)}.")
        return total
    if items:
        raise ScoreError("items", f"{capitalize(scale.label)} is a single score; it has no {scale.item_noun}s.")
    if score is None:
        raise ScoreError("score", f"Enter a {scale.label} score: {_range_words(scale)}.")
    return _on_scale(scale, _score_number(scale, score))


def _items_total(scale: Scale, items: Mapping[str, float]) -> float:
    known = {i.code for i in scale.items} | ({OVERALL} if scale.overall else set())
    unknown = sorted(set(items) - known)
    if unknown:
        raise ScoreError("items", f"{scale.label} has no {scale.item_noun} called {join_words(unknown)}.")
    missing = [i.name for i in scale.items if items.get(i.code) is None]
    if missing:
        first = scale.items[0]
        raise ScoreError("items", f"Score every {scale.label} {scale.item_noun} from "
                                  f"{format_number(first.minimum)} to {format_number(first.maximum)}: "
                                  f"missing {join_words(missing)}.")
    if scale.overall and items.get(OVERALL) is not None:
        _item_value(scale, scale.overall, items[OVERALL])
    return float(sum(_item_value(scale, item, items[item.code]) for item in scale.items))


def _item_value(scale: Scale, item: ScaleItem, raw: float) -> float:
    value = _number(f"items.{item.code}", item.name, raw)
    if not item.minimum <= value <= item.maximum or not _on_step(value, item.minimum, 1):
        raise ScoreError(f"items.{item.code}", f"Score {item.name} with a whole number from "
                                               f"{_anchor(item.minimum, item.labels)} to "
                                               f"{_anchor(item.maximum, item.labels)}.")
    return float(round(value))


def _on_scale(scale: Scale, value: float) -> float:
    if not scale.minimum <= value <= scale.maximum:
        raise ScoreError("score", f"{capitalize(scale.label)} scores run from {_range_words(scale)}.")
    if scale.step is None:
        return float(value)
    if not _on_step(value, scale.minimum, scale.step):
        raise ScoreError("score", f"{capitalize(scale.label)} scores {_step_words(scale.step)}, from "
                                  f"{format_number(scale.minimum)} to {format_number(scale.maximum)}.")
    # Snap to the exact step so 2.0000000001 from a float round trip is stored as 2.
    return float(scale.minimum + round((value - scale.minimum) / scale.step) * scale.step)


def _score_number(scale: Scale, raw: Any) -> float:
    return _number("score", f"the {scale.label} score", raw)


def _number(field_name: str, what: str, raw: Any) -> float:
    # bool is an int in Python; a checkbox's True must not pass for a score of 1.
    if not _is_number(raw):
        raise ScoreError(field_name, f"Enter {what} as a number.")
    return float(raw)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _on_step(value: float, origin: float, step: float) -> bool:
    steps = (value - origin) / step
    return abs(steps - round(steps)) <= _TOLERANCE * max(1.0, abs(steps))


# --- improvement ----------------------------------------------------------------------------------------

def improvement(scale: Scale, before: float, after: float) -> float:
    """The change from ``before`` to ``after``, signed so that positive always means better.

    On lower-is-better scales (all built-ins but satisfaction) that is ``before - after``; on higher-is-better
    ones ``after - before``. On GAIS both values are ratings of change since baseline, so the result is how
    many grades more improved the later rating is (see the module docstring). Rounded to remove float noise.
    """
    change = before - after if scale.lower_is_better else after - before
    return round(change, 9) + 0.0  # + 0.0 turns -0.0 into 0.0


# --- wording --------------------------------------------------------------------------------------------

def format_number(value: float) -> str:
    """A score as people write it: 3, 2.5, 0.73, 0.004 (never 3.0 or 0.7299999); four significant digits."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}"


def _anchor(value: float, labels: Mapping[int, str]) -> str:
    label = labels.get(int(value)) if float(value).is_integer() else None
    return f"{format_number(value)} ({label})" if label else format_number(value)


def _range_words(scale: Scale) -> str:
    return f"{_anchor(scale.minimum, scale.labels)} to {_anchor(scale.maximum, scale.labels)}"


def _step_words(step: float) -> str:
    return "are whole numbers" if step == 1 else f"go in steps of {format_number(step)}"


def capitalize(text: str) -> str:
    """First letter upper case, the rest untouched ("GAIS" stays "GAIS", unlike str.capitalize)."""
    return text[:1].upper() + text[1:]


def join_words(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"

