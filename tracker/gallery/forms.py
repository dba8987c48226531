"""Forms for gallery proposals and the public consultation request."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional


class ProposalForm(FlaskForm):
    before_id = IntegerField("Before photo", validators=[DataRequired()])
    after_id = IntegerField("After photo", validators=[DataRequired()])
    crop = StringField("Crop to (left, top, width, height in pixels of the aligned photo)",
                       validators=[Optional(), Length(max=80)])
    blur = TextAreaField("Areas to blur (one rectangle per line: left, top, width, height)",
                         validators=[Optional(), Length(max=2000)])


class ConsultationForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired("Tell us your name."), Length(max=200)],
                       render_kw={"autocomplete": "name"})
    email = EmailField("E-mail", validators=[Optional(), Email("Enter a valid e-mail address."), Length(max=254)],
                       render_kw={"autocomplete": "email"})
    phone = StringField("Phone", validators=[Optional(), Length(max=40)], render_kw={"autocomplete": "tel"})
    area_of_concern = StringField("Area of concern", validators=[Optional(), Length(max=200)])
    preferred_time = StringField("When may we call?", validators=[Optional(), Length(max=120)])
    message = TextAreaField("Message", validators=[Optional(), Length(max=5000)])
    consent_to_contact = BooleanField("You may contact me about this request")
    # Honeypot: hidden from people by CSS and aria-hidden; bots fill it.
    website = StringField("Leave this empty", validators=[Optional(), Length(max=200)])
