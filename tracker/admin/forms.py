"""Forms for the clinic admin's staff page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms import FloatField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from tracker.auth.forms import email_field
from tracker.models import Role

STAFF_ROLES = [SelectChoice(r.value, r.label) for r in (Role.PRACTITIONER, Role.CLINIC_ADMIN)]


class StaffInvitationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter their name."), Length(max=200)])
    email = email_field()
    role = SelectField("Role", choices=STAFF_ROLES, validators=[DataRequired()])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=STAFF_ROLES, validators=[DataRequired()])


class ActiveForm(FlaskForm):
    active = HiddenField(validators=[DataRequired()])


class OutcomeSettingsForm(FlaskForm):
    window_start = IntegerField("Response window starts (days after a session)", default=28,
                               validators=[DataRequired("Required."), NumberRange(1, 365)])
    window_end = IntegerField("Response window ends (days after a session)", default=84,
                              validators=[DataRequired("Required."), NumberRange(2, 365)])
    guidance = TextAreaField("What patients should expect after treatment (shown with their side-effect diary)",
                             validators=[Length(max=5000)])


class CustomScaleForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired("Give the scale a code."), Length(max=40)],
                       render_kw={"placeholder": "e.g. vss"})
    name = StringField("Name", validators=[DataRequired("Give the scale a name."), Length(max=120)])
    minimum = FloatField("Lowest score", validators=[InputRequired("Enter the lowest score.")])
    maximum = FloatField("Highest score", validators=[InputRequired("Enter the highest score.")])
    lower_is_better = SelectField("Direction", choices=[SelectChoice("1", "Lower is better"),
                                                        SelectChoice("0", "Higher is better")])
    mid = FloatField("Minimal important difference (points)", validators=[InputRequired("Enter it.")])
