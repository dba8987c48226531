"""Form building blocks shared by the HTML forms and the JSON API (which validates through the same forms)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import SelectMultipleField, widgets
from wtforms.validators import StopValidation

from tracker.errors import ValidationFailed


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes: keyboard- and phone-friendly, unlike a <select multiple>."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class NotInFuture:
    def __init__(self, message: str = "This date cannot be in the future.") -> None:
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        from datetime import date

        if field.data is not None and field.data > date.today():
            raise StopValidation(self.message)


def _as_formdata(payload: dict[str, Any]) -> MultiDict[str, str]:
    data: MultiDict[str, str] = MultiDict()
    for key, value in payload.items():
        if value is None:
            continue
        if isinstance(value, bool):
            data.add(key, "y" if value else "")
        elif isinstance(value, (list, tuple)):
            for item in value:
                data.add(key, str(item))
        elif isinstance(value, (str, int, float)):
            data.add(key, str(value))
        else:
            raise ValidationFailed(f"'{key}' has the wrong type.", fields={key: "Wrong type."})
    return data


def form_from_json(form_cls: type[FlaskForm], payload: Any, **kwargs: Any) -> FlaskForm:
    """Validate a JSON object with the same form the HTML page uses; 422 with field messages if invalid."""
    if not isinstance(payload, dict):
        raise ValidationFailed("Send a JSON object.")
    form = form_cls(formdata=_as_formdata(payload), meta={"csrf": False}, **kwargs)
    unknown = set(payload) - {field.name for field in form}
    if unknown:
        names = ", ".join(sorted(unknown))[:200]
        raise ValidationFailed(f"Unknown field(s): {names}.", fields={n[:60]: "Unknown field." for n in unknown})
    for field in form:
        if field.name not in payload:
            # A page pre-fills defaults (today's date…); a client must say what it means.
            field.data = [] if isinstance(field, SelectMultipleField) else None
    if not form.validate():
        fields = {name: errors[0] for name, errors in form.errors.items() if errors}
        raise ValidationFailed(next(iter(fields.values()), "Invalid input."), fields=fields)
    return form
