"""Forms for the clinic admin's staff page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length

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
