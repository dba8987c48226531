"""Domain errors raised by services, and the HTTP handlers that turn any error into a page or JSON.

Services raise ``DomainError`` subclasses with a message written for the person using the app; views
and the API map them to a status code. Nothing here ever shows a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if "code" in extra:  # a more specific machine-readable code than the class's
            self.code = str(extra.pop("code"))
        self.extra = extra


class NotFound(DomainError):
    status = 404
    code = "not_found"

    def __init__(self, message: str = "Not found.", **kw: Any) -> None:
        super().__init__(message, **kw)


class Forbidden(DomainError):
    status = 403
    code = "forbidden"

    def __init__(self, message: str = "You do not have permission to do that.", **kw: Any) -> None:
        super().__init__(message, **kw)


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status = 413
    code = "too_large"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_type"


class Unavailable(DomainError):
    status = 503
    code = "unavailable"

    def __init__(self, message: str = "Service temporarily unavailable; nothing was saved. Please retry.",
                 **kw: Any) -> None:
        super().__init__(message, **kw)


HTTP_MESSAGES = {
    400: "The request could not be understood.",
    401: "Please sign in.",
    403: "You do not have permission to do that.",
    404: "We could not find that page.",
    405: "That action is not allowed here.",
    409: "That conflicts with something that already exists.",
    413: "The upload is too large.",
    415: "That type of content is not supported.",
    422: "Some of the information is not valid.",
    429: "Too many attempts. Please wait a moment and try again.",
    500: "Something went wrong on our side. Nothing you did caused it.",
    503: "Service temporarily unavailable; nothing was saved. Please retry.",
}


def wants_json() -> bool:
    """API paths always; pages too when a script asked for JSON (the upload progress bars do)."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def json_error(status: int, code: str, message: str, fields: dict[str, str] | None = None,
               **extra: Any) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    body.update(extra)
    response = jsonify({"error": body})
    response.status_code = status
    return response


def _render(status: int, code: str, message: str, fields: dict[str, str] | None = None,
            **extra: Any) -> Response | tuple[str, int]:
    if wants_json():
        return json_error(status, code, message, fields, **extra)
    return render_template("errors/error.html", status=status, message=message, fields=fields or {}), status


def _http_code(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def register_error_handlers(app: Flask) -> None:
    from tracker.extensions import db

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Any:
        return _render(exc.status, exc.code, exc.message, exc.fields, **exc.extra)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        return _render(400, "csrf_failed", exc.description or "The form expired. Please try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        message = HTTP_MESSAGES.get(status, exc.description or "Error.")
        if status == 413:
            limit = app.config["TRACKER_MAX_UPLOAD_MB"]
            message = f"The file is too large (max {limit} MB)."
        response = _render(status, _http_code(exc), message)
        if status == 429:
            return _with_retry_after(response, exc)
        if status == 405:  # RFC 9110: a 405 names the methods the resource does allow
            return _with_header(response, "Allow", dict(exc.get_headers()).get("Allow", ""))
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path.replace("\n", "\\n"))
        return _render(500, "internal_error", HTTP_MESSAGES[500])


def _with_retry_after(response: Any, exc: HTTPException) -> Any:
    return _with_header(response, "Retry-After", exc.get_response().headers.get("Retry-After") or "60")


def _with_header(response: Any, name: str, value: str) -> Response:
    if isinstance(response, tuple):
        body, status = response
        response = Response(body, status=status, mimetype="text/html")
    response.headers[name] = value
    return response  # type: ignore[no-any-return]
