"""Forms for signing in and managing one's own password."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from tracker.auth.passwords import MAX_LENGTH, MIN_LENGTH


def new_password_field(label: str = "New password") -> PasswordField:
    return PasswordField(label, validators=[
        DataRequired("Choose a password."),
        Length(min=MIN_LENGTH, max=MAX_LENGTH, message=f"Use at least {MIN_LENGTH} characters."),
    ], render_kw={"autocomplete": "new-password", "minlength": MIN_LENGTH})


def confirm_field() -> PasswordField:
    return PasswordField("Repeat the password", validators=[
        DataRequired("Repeat the password."), EqualTo("password", "The two passwords do not match."),
    ], render_kw={"autocomplete": "new-password"})


def email_field(label: str = "E-mail") -> EmailField:
    return EmailField(label, validators=[
        DataRequired("Enter your e-mail address."), Length(max=254), Email("Enter a valid e-mail address."),
    ], render_kw={"autocomplete": "email"})


class LoginForm(FlaskForm):
    email = email_field()
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField("Keep me signed in on this device (patients only)")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password.")],
                                     render_kw={"autocomplete": "current-password"})
    password = new_password_field()
    confirm = confirm_field()


class ReauthenticateForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})


class TwoFactorCodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired("Enter the code."), Length(max=32)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autocapitalize": "off",
                                  "spellcheck": "false"})


class ResetRequestForm(FlaskForm):
    email = email_field()


class NewPasswordForm(FlaskForm):
    password = new_password_field()
    confirm = confirm_field()


class AcceptInvitationForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=200)],
                       render_kw={"autocomplete": "name"})
    password = new_password_field("Choose a password")
    confirm = confirm_field()
