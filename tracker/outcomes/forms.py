"""Forms for recording treatment sessions."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class SessionForm(FlaskForm):
    performed_on = DateField("Date of the session", default=date.today,
                             validators=[DataRequired("Enter the date of the session.")])
    number = IntegerField("Session number (leave empty for the next one)",
                          validators=[Optional(), NumberRange(1, 99, "Session numbers run from 1 to 99.")])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])
