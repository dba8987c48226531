"""Controlled vocabularies: the codes the API promises, with the words the UI shows."""

from __future__ import annotations

import enum

from wtforms.fields.choices import SelectChoice


class LabelledEnum(enum.StrEnum):
    """A string enum whose members carry a human label; ``choices()`` feeds forms and the OpenAPI doc."""

    _labels: dict[str, str]

    @property
    def label(self) -> str:
        return type(self)._labels[self.value]

    @classmethod
    def choices(cls) -> list[SelectChoice]:
        return [SelectChoice(m.value, m.label) for m in cls]

    @classmethod
    def codes(cls) -> list[str]:
        return [m.value for m in cls]


class BodyRegion(LabelledEnum):
    ABDOMEN = "abdomen"
    FLANKS = "flanks"
    HIPS = "hips"
    BUTTOCKS = "buttocks"
    THIGHS = "thighs"
    BREASTS = "breasts"
    UPPER_ARMS = "upper_arms"
    BACK = "back"
    FACE = "face"
    OTHER = "other"


BodyRegion._labels = {
    "abdomen": "Abdomen", "flanks": "Flanks", "hips": "Hips", "buttocks": "Buttocks", "thighs": "Thighs",
    "breasts": "Breasts", "upper_arms": "Upper arms", "back": "Back", "face": "Face", "other": "Other",
}


class View(LabelledEnum):
    FRONT = "front"
    LEFT_OBLIQUE = "left_oblique"
    RIGHT_OBLIQUE = "right_oblique"
    CLOSE_UP = "close_up"


View._labels = {
    "front": "Front", "left_oblique": "Left oblique", "right_oblique": "Right oblique", "close_up": "Close-up",
}


class Modality(LabelledEnum):
    STEM_CELL_INJECTION = "stem_cell_injection"
    FRACTIONAL_LASER = "fractional_laser"
    MICRONEEDLING = "microneedling"
    TOPICAL = "topical"
    CHEMICAL_PEEL = "chemical_peel"
    SURGERY = "surgery"
    OTHER = "other"


Modality._labels = {
    "stem_cell_injection": "Autologous adipose-derived stem cell injection",
    "fractional_laser": "Fractional laser",
    "microneedling": "Microneedling",
    "topical": "Topical",
    "chemical_peel": "Chemical peel",
    "surgery": "Surgery",
    "other": "Other",
}

FITZPATRICK_LABELS = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}

COMMON_INDICATIONS = (
    "Striae distensae",
    "Striae rubrae",
    "Striae albae",
    "Atrophic scars",
    "Acne scars",
    "Skin laxity",
)
