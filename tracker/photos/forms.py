"""Forms for uploading and editing photos (the API validates through the same edit form)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, MultipleFileField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from tracker.forms_common import NotInFuture
from tracker.models import TreatmentArea, View


def view_choices(area: TreatmentArea) -> list[SelectChoice]:
    return [SelectChoice("", "Not specified")] + [SelectChoice(v, View(v).label) for v in area.views]


class UploadForm(FlaskForm):
    file = MultipleFileField("Photos")
    taken_on = DateField("Taken on (for photos that carry no date of their own)", validators=[
        Optional(), NotInFuture("The date a photo was taken cannot be in the future.")])
    view = SelectField("View", validators=[Optional()])
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)])

    def __init__(self, *args: object, area: TreatmentArea, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.view.choices = view_choices(area)


class PhotoEditForm(FlaskForm):
    taken_on = DateField("Taken on", validators=[NotInFuture("The date a photo was taken cannot be in the future.")])
    view = SelectField("View", validators=[Optional()])
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)])

    def __init__(self, *args: object, area: TreatmentArea, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.view.choices = view_choices(area)


class PhotoPatchForm(PhotoEditForm):
    """PATCH: every field optional; only the keys sent are changed."""

    taken_on = DateField("Taken on", validators=[
        Optional(), NotInFuture("The date a photo was taken cannot be in the future.")])
