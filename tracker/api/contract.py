"""The OpenAPI document is the contract of the API's input: query parameters (before the view runs) and JSON bodies
(when the view reads its body, after its permission check) are checked against the operation's entry in
``tracker.api.openapi``, so what the document promises about types,
ranges, formats, enums and required fields is exactly what is enforced, in one place, for every endpoint.

The views still validate through the same WTForms forms as the HTML pages (rules about meaning: a date not in the
future, an area of this patient). The document decides the shape; the form decides the sense. A body that breaks
the document is 422 with ``error.fields`` naming each field, in words a person can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import request
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

from tracker.api.openapi import build_spec
from tracker.errors import ValidationFailed

_RULE_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_KIND = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
         "object": "an object", "array": "a list", "null": "null"}


@dataclass(frozen=True)
class Operation:
    body: Draft202012Validator | None
    query: dict[str, tuple[Draft202012Validator, dict[str, Any]]]


def openapi_path(rule: str) -> str:
    """``/api/v1/patients/<int:patient_id>`` → ``/api/v1/patients/{patient_id}``."""
    return _RULE_VARIABLE.sub(r"{\1}", rule)


@cache
def _operations() -> dict[tuple[str, str], Operation]:
    spec = build_spec()
    components = spec["components"]

    def validator(schema: dict[str, Any]) -> Draft202012Validator:
        # Refs point into the document ("#/components/schemas/…"): carry the components along with the schema.
        return Draft202012Validator({**schema, "components": components}, format_checker=FormatChecker())

    operations = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            query = {p["name"]: (validator(p["schema"]), p["schema"]) for p in operation.get("parameters", ())
                     if p["in"] == "query"}
            operations[(path, method.upper())] = Operation(validator(body) if body else None, query)
    return operations


def _operation() -> Operation | None:
    if request.url_rule is None:
        return None
    return _operations().get((openapi_path(request.url_rule.rule), request.method))


def check_query() -> None:
    """before_request of the API blueprint (after authentication): refuse query parameters the document does not
    allow (each named once, of its type, within its range or enum)."""
    operation = _operation()
    if operation is None:
        return
    fields: dict[str, str] = {}
    for name, (validator, schema) in operation.query.items():
        values = request.args.getlist(name)
        if not values:
            continue
        if len(values) > 1:
            fields[name] = "Give this parameter once."
            continue
        error = next(iter(validator.iter_errors(_from_query(values[0], schema))), None)
        if error is not None:
            fields[name] = _message(error)
    _refuse(fields)


def check_body(payload: Any) -> None:
    """Refuse a JSON body the operation's request schema does not allow. Called when a view reads its body
    (``tracker.api.auth.json_body``), so a role that may not call the function at all is told 403 first."""
    operation = _operation()
    if operation is None or operation.body is None:
        return
    fields: dict[str, str] = {}
    for error in sorted(operation.body.iter_errors(payload), key=lambda e: list(e.absolute_path)):
        fields.setdefault(_field(error), _message(error))
    _refuse(fields)


def _refuse(fields: dict[str, str]) -> None:
    if fields:
        name, message = next(iter(fields.items()))
        raise ValidationFailed(f"{name}: {message}" if name else message, fields=fields)


def _from_query(raw: str, schema: dict[str, Any]) -> Any:
    """Query values arrive as text; read them as the type the document declares (or leave them text)."""
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"[+-]?\d{1,19}", raw.strip()):
        return int(raw)
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw


def _field(error: ValidationError) -> str:
    """The top-level field the error is about (as the forms name theirs): ``views`` for ``views[2]``."""
    path = [str(part) for part in error.absolute_path]
    if not path and error.validator == "required":
        missing = re.match(r"'([^']*)' is a required property", error.message)
        path.append(missing.group(1) if missing else "")
    elif not path and error.validator == "additionalProperties":
        extra = re.findall(r"'([^']*)'", error.message)
        path.append(extra[0] if extra else "")
    return path[0][:80] if path else ""


def _message(error: ValidationError) -> str:
    rule, expected = error.validator, error.validator_value
    if rule == "required":
        return "Required."
    if rule == "additionalProperties":
        return "Unknown field."
    if rule == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return "Must be " + " or ".join(_KIND.get(k, k) for k in kinds) + "."
    if rule == "enum":
        return "Choose one of: " + ", ".join(str(v) for v in expected)[:300] + "."
    if rule == "const":
        return f"Must be {expected!r}."
    if rule == "format":
        return {"date": "Use YYYY-MM-DD.", "date-time": "Use an ISO 8601 date and time.",
                "email": "Enter an e-mail address."}.get(str(expected), f"Must be a valid {expected}.")
    if rule in ("minimum", "exclusiveMinimum"):
        return f"Must be at least {expected}." if rule == "minimum" else f"Must be more than {expected}."
    if rule in ("maximum", "exclusiveMaximum"):
        return f"Must be at most {expected}." if rule == "maximum" else f"Must be less than {expected}."
    if rule == "minLength":
        return "Required." if expected == 1 else f"At least {expected} characters."
    if rule == "maxLength":
        return f"At most {expected} characters."
    if rule == "minItems":
        return "Choose at least one." if expected == 1 else f"At least {expected} items."
    if rule == "maxItems":
        return f"At most {expected} items."
    if rule == "pattern":
        return "Not in the expected form."
    if rule in ("anyOf", "oneOf"):
        # nullable(X) is anyOf [X, null]: say what was wrong against X.
        inner = [e for e in error.context or () if e.validator_value != "null"]
        return _message(best_match(inner)) if inner else "Not one of the accepted forms."
    return "Not valid."
