"""Forms for patient records, treated areas and treatment courses (also used to validate API JSON)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms import BooleanField, DateField, EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from tracker.forms_common import MultiCheckboxField, NotInFuture
from tracker.models import BodyRegion, Modality, View
from tracker.models.vocab import FITZPATRICK_LABELS


class PatientForm(FlaskForm):
    full_name = StringField("Full name", validators=[DataRequired("Enter the patient's name."), Length(max=200)])
    email = EmailField("E-mail (needed to invite them)", validators=[
        Optional(), Length(max=254), Email("Enter a valid e-mail address.")])
    date_of_birth = DateField("Date of birth", validators=[
        Optional(), NotInFuture("Date of birth must be in the past.")])
    fitzpatrick = SelectField("Fitzpatrick skin type", choices=[SelectChoice("", "Not recorded")] + [
        SelectChoice(str(k), v) for k, v in FITZPATRICK_LABELS.items()], validators=[Optional()], default="")
    external_ref = StringField("Clinic reference (optional)", validators=[Optional(), Length(max=64)])
    send_invitation = BooleanField("Send the patient an invitation to sign in now")

    @property
    def fitzpatrick_value(self) -> int | None:
        return int(self.fitzpatrick.data) if self.fitzpatrick.data else None


class AreaForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the area a name."), Length(max=120)],
                       render_kw={"placeholder": "Abdomen – lower left"})
    body_region = SelectField("Body region", choices=BodyRegion.choices(),
                              validators=[DataRequired("Choose a body region.")])
    views = MultiCheckboxField("Standard views", choices=View.choices(), default=[View.FRONT.value])


class CourseForm(FlaskForm):
    indication = StringField("Indication", validators=[DataRequired("Enter the indication."), Length(max=200)],
                             render_kw={"list": "indications", "placeholder": "Striae distensae"})
    modality = SelectField("Modality", choices=Modality.choices(), validators=[DataRequired("Choose a modality.")])
    planned_sessions = IntegerField("Planned sessions", default=3, validators=[
        DataRequired("How many sessions are planned?"), NumberRange(1, 20, "Plan between 1 and 20 sessions.")])
    interval_weeks = IntegerField("Weeks between sessions", default=6, validators=[
        DataRequired("How many weeks between sessions?"),
        NumberRange(1, 104, "The interval is between 1 and 104 weeks.")])
    start_date = DateField("Start date", validators=[DataRequired("Enter a start date (YYYY-MM-DD).")])
    area_ids = MultiCheckboxField("Areas treated", coerce=int, validators=[
        DataRequired("Choose at least one treated area.")])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])

    def __init__(self, *args: object, areas: list[tuple[int, str]] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.area_ids.choices = [SelectChoice(str(value), label) for value, label in areas or []]
