"""Forms for granting consent and for publishing consent texts."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from tracker.models import ConsentScope


class GrantForm(FlaskForm):
    scope = HiddenField(validators=[DataRequired()])
    text_version = IntegerField(validators=[DataRequired()])
    area_id = SelectField("For", coerce=lambda v: int(v) if v not in (None, "") else None, validators=[Optional()])
    agree = BooleanField("I have read this text and I agree to it", validators=[
        DataRequired("Tick the box to confirm you have read and agree.")])
    signature_name = StringField("Type your full name to sign", validators=[
        DataRequired("Type your full name to sign."), Length(max=200)], render_kw={"autocomplete": "name"})


class ConsentTextForm(FlaskForm):
    scope = SelectField("Scope", choices=[SelectChoice(s.value, s.label) for s in ConsentScope])
    body = TextAreaField("Text (Markdown; no HTML)", validators=[DataRequired(), Length(min=20, max=20000)])
