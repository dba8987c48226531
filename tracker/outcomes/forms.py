"""Forms for sessions, side effects, assessments and follow-up decisions (the API validates through them too)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField, DecimalField, FloatField, IntegerField, SelectField, StringField, TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from tracker.forms_common import MultiCheckboxField, NotInFuture
from tracker.models import Anaesthesia, Decision, EventKind, InjectionDepth, Severity, TreatmentCourse
from tracker.outcomes.services import SessionDetails


def _choices(values: list[tuple[str, str]], blank: str | None = None) -> list[SelectChoice]:
    head = [SelectChoice("", blank)] if blank is not None else []
    return head + [SelectChoice(v, label) for v, label in values]


class SessionForm(FlaskForm):
    performed_on = DateField("Date of the session", default=date.today,
                             validators=[DataRequired("Enter the date of the session (YYYY-MM-DD)."),
                                         NotInFuture("A session cannot be recorded in the future.")])
    number = IntegerField("Session number (leave empty for the next one)",
                          validators=[Optional(), NumberRange(1, 99, "Session numbers run from 1 to 99.")])
    area_ids = MultiCheckboxField("Areas treated", coerce=int, validators=[Optional()])
    harvest_site = StringField("Harvest site", validators=[Optional(), Length(max=120)],
                               render_kw={"placeholder": "e.g. periumbilical fat"})
    harvested_ml = DecimalField("Tissue harvested (ml)", places=1, validators=[
        Optional(), NumberRange(0, 5000, "Volumes are between 0 and 5000 ml.")])
    processed_ml = DecimalField("Processed volume (ml)", places=1, validators=[
        Optional(), NumberRange(0, 5000, "Volumes are between 0 and 5000 ml.")])
    cell_count = StringField("Cell count, if known", validators=[Optional(), Length(max=60)])
    injection_depth = SelectField("Injection depth", validators=[Optional()],
                                  choices=_choices([(d.value, d.value.capitalize()) for d in InjectionDepth], "—"))
    injection_pattern = StringField("Injection pattern", validators=[Optional(), Length(max=200)],
                                    render_kw={"placeholder": "e.g. linear threading along each stria"})
    anaesthesia = SelectField("Anaesthesia", validators=[Optional()],
                              choices=_choices([(a.value, a.value.capitalize()) for a in Anaesthesia], "—"))
    device_product = StringField("Device or product", validators=[Optional(), Length(max=200)])
    settings = StringField("Settings", validators=[Optional(), Length(max=500)])
    lot_number = StringField("Lot number", validators=[Optional(), Length(max=80)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])

    course_areas: list[tuple[int, str]] = []  # set per course by session_form_class

    def injected_fields(self) -> list[tuple[int, str, Any]]:
        """(area id, area name, its injected-volume field) for each of the course's areas."""
        return [(area_id, name, self[f"injected_{area_id}"]) for area_id, name in self.course_areas]

    def session_fields(self) -> dict[str, Any]:
        """What ``services.record_session`` and ``update_session`` take, from the validated form."""
        return {"performed_on": self.performed_on.data, "number": self.number.data, "notes": self.notes.data or "",
                "details": self.details()}

    def details(self) -> SessionDetails:
        def num(field: Any) -> float | None:
            return float(field.data) if field.data is not None else None

        injected = {area_id: float(field.data) for area_id, _name, field in self.injected_fields()
                    if field.data is not None}
        return SessionDetails(
            area_ids=tuple(self.area_ids.data or ()), injected_ml=injected,
            harvest_site=self.harvest_site.data or "", harvested_ml=num(self.harvested_ml),
            processed_ml=num(self.processed_ml), cell_count=self.cell_count.data or "",
            injection_depth=self.injection_depth.data or None, injection_pattern=self.injection_pattern.data or "",
            anaesthesia=self.anaesthesia.data or None, device_product=self.device_product.data or "",
            settings=self.settings.data or "", lot_number=self.lot_number.data or "")


def session_form_class(course: TreatmentCourse) -> type[SessionForm]:
    """The session form for a course: its areas as choices, and one injected-volume field per area."""
    areas = sorted(course.areas, key=lambda a: a.name)
    fields: dict[str, Any] = {
        f"injected_{a.id}": DecimalField(f"Injected into {a.name} (ml)", places=1, validators=[
            Optional(), NumberRange(0, 500, "Injected volumes per area are between 0 and 500 ml.")])
        for a in areas}

    def __init__(self: SessionForm, *args: Any, **kwargs: Any) -> None:
        SessionForm.__init__(self, *args, **kwargs)
        self.area_ids.choices = [SelectChoice(str(a.id), a.name) for a in areas]

    fields["__init__"] = __init__
    fields["course_areas"] = [(a.id, a.name) for a in areas]
    return type("CourseSessionForm", (SessionForm,), fields)


def session_form(course: TreatmentCourse, **kwargs: Any) -> tuple[SessionForm, list[tuple[int, str, Any]]]:
    form = session_form_class(course)(**kwargs)
    if not form.is_submitted() and not form.area_ids.data:
        form.area_ids.data = [area_id for area_id, _name in form.course_areas]
    return form, form.injected_fields()


class EventForm(FlaskForm):
    kind = SelectField("What happened", choices=_choices([(k.value, k.label) for k in EventKind]),
                       validators=[DataRequired("Choose what happened.")])
    severity = SelectField("How bad", choices=_choices([(s.value, s.value.capitalize()) for s in Severity]),
                           validators=[DataRequired("Choose mild, moderate or severe.")])
    onset = DateField("Started on", default=date.today, validators=[
        DataRequired("When did it start? (YYYY-MM-DD)"), NotInFuture("The onset cannot be in the future.")])
    area_id = SelectField("Where", coerce=lambda v: int(v) if v not in (None, "") else None,
                          validators=[Optional()])
    description = TextAreaField("Describe it (optional)", validators=[Optional(), Length(max=5000)])
    photo_id = SelectField("A photo of it (optional: upload it to the area first)",
                           coerce=lambda v: int(v) if v not in (None, "") else None, validators=[Optional()])

    def __init__(self, *args: Any, areas: list[tuple[int, str]] | None = None,
                 photos: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.area_id.choices = _choices([(str(i), name) for i, name in areas or []], "Not specific to one area")
        self.photo_id.choices = _choices([(str(i), label) for i, label in photos or []], "No photo")


class ResolveForm(FlaskForm):
    resolved_on = DateField("Resolved on", default=date.today, validators=[
        DataRequired("When did it resolve?"), NotInFuture("That date is in the future.")])


class AssessmentForm(FlaskForm):
    scale = SelectField("Scale", validators=[DataRequired("Choose a scale.")])
    score = FloatField("Score", validators=[Optional()])
    assessed_on = DateField("Assessed on", default=date.today, validators=[
        DataRequired("Enter the date of the assessment."), NotInFuture("An assessment cannot be in the future.")])
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)])


class DecisionForm(FlaskForm):
    decision = SelectField("Decision", choices=_choices([(d.value, d.label) for d in Decision]),
                           validators=[DataRequired("Choose a decision.")])
    touch_up_months = IntegerField("Touch-up in (months)", validators=[
        Optional(), NumberRange(1, 60, "Between 1 and 60 months.")])
    note = TextAreaField("Note", validators=[Optional(), Length(max=5000)])


class BlindedForm(FlaskForm):
    before_id = IntegerField(validators=[DataRequired()])
    after_id = IntegerField(validators=[DataRequired()])
    left_is_before = IntegerField(validators=[NumberRange(0, 1)])
    first = SelectField("Which photo do you think was taken first, before treatment?", choices=_choices(
        [("left", "Left"), ("right", "Right"), ("unsure", "Cannot tell")]), validators=[DataRequired()])
    gais = SelectField("Change from that photo to the other (GAIS)", choices=_choices([
        ("1", "1 — Very much improved"), ("2", "2 — Much improved"), ("3", "3 — Improved"), ("4", "4 — No change"),
        ("5", "5 — Worse")]), validators=[DataRequired("Choose a GAIS grade.")])
