"""Bearer-token authentication for the API."""

from __future__ import annotations

from typing import Any

from flask import g, request

from tracker.api.contract import check_body
from tracker.auth.services import user_for_api_token
from tracker.errors import DomainError, Unauthorized, UnsupportedMediaType
from tracker.models import User

PUBLIC_ENDPOINTS = {"api.create_token", "api.openapi", "api.public_gallery", "api.consent_texts"}


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate_request() -> None:
    """before_request for the API: every endpoint but the public ones needs a valid bearer token."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return
    token = bearer_token()
    user = user_for_api_token(token) if token else None
    if user is None:
        raise Unauthorized("A valid bearer token is required (POST /api/v1/tokens to get one).")
    g.api_user = user


def api_user() -> User:
    return g.api_user  # type: ignore[no-any-return]


def json_body() -> Any:
    if not request.is_json:
        raise UnsupportedMediaType("Send JSON with Content-Type: application/json.")
    payload = request.get_json(silent=True)
    if payload is None:
        raise DomainError("The request body is not valid JSON.")
    check_body(payload)  # the operation's schema in the OpenAPI document (tracker/api/contract.py)
    return payload
