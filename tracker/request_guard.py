"""The edge of the app: what every request passes before any view sees it.

- **Proxies.** ``TRACKER_PROXY_HOPS`` reverse proxies are believed about the client's address, scheme and path
  prefix (Werkzeug's ``ProxyFix``); with 0 (the default) ``X-Forwarded-*`` headers change nothing. The
  ``Host`` is never taken from ``X-Forwarded-Host``: the proxy passes the client's ``Host`` through.
- **Hosts.** Only host names in ``TRUSTED_HOSTS`` are answered (Flask checks, we answer 400 with our error page):
  the base URL's host, ``TRACKER_TRUSTED_HOSTS``, and outside production localhost/127.0.0.1.
- **Ids.** The ``int`` URL converter of every blueprint accepts only ids our tables can hold (ASCII digits, at
  most 2**31-1, PostgreSQL's INTEGER): anything else is not a route, so 404. ``security.load`` applies the same
  bound to ids from bodies and query strings.
- **JSON.** Every JSON body is parsed by the app's JSON provider, which first refuses (400) bodies larger than
  :data:`MAX_JSON_BYTES` or nested deeper than :data:`MAX_JSON_DEPTH`, before the parser recurses.
- **Text that cannot be stored.** A NUL (PostgreSQL text refuses it) or an unpaired surrogate (not encodable as
  UTF-8) in any form field, query parameter or JSON string is refused with 422 naming the field; in a path, 404;
  a NUL in a header (User-Agent and Idempotency-Key are stored), 400.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, request
from flask.globals import request_ctx
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from tracker.errors import DomainError, NotFound, PayloadTooLarge, ValidationFailed

MAX_ID = 2**31 - 1  # our ids are INTEGER columns: PostgreSQL's hold at most this (a larger value is an error there)
MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 1024 * 1024
UNSTORABLE_MESSAGE = "This text contains a character that cannot be stored (a NUL or an unpaired surrogate)."

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A JSON string (to its closing quote, or to the end when unterminated: never rescanned), or one bracket.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


def init_app(app: Flask) -> None:
    hops = app.config["TRACKER_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0,  # type: ignore[method-assign]
                                x_prefix=hops)
    if app.config.get("TRUSTED_HOSTS") is None:
        app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config)
    app.url_map.converters["int"] = IdConverter
    app.json = GuardedJSONProvider(app)
    # First of all hooks: nothing runs for a host we do not serve.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_untrusted_host)
    app.before_request(_refuse_unstorable_text)


def trusted_hosts(config: Any) -> list[str]:
    hosts = [urlsplit(config["TRACKER_BASE_URL"]).hostname or "", *config["TRACKER_TRUSTED_HOSTS"]]
    if config["TRACKER_ENV"] != "production":
        hosts += ["localhost", "127.0.0.1"]
    return list(dict.fromkeys(host for host in hosts if host))


# --- hosts ------------------------------------------------------------------------------------------

def _refuse_untrusted_host() -> None:
    """Flask noted the untrusted Host as the routing exception; answer it before any other hook runs."""
    exc = request.routing_exception
    if isinstance(exc, SecurityError):
        from tracker.links import base_url_adapter

        # The error page links home; build its links for our own address (the request's is refused).
        request_ctx.url_adapter = base_url_adapter(request_ctx.app)
        raise DomainError("This server does not answer for that host name.", code="untrusted_host") from exc


# --- ids in paths -------------------------------------------------------------------------------------

def digits_up_to(limit: int) -> str:
    """A regular expression for the decimal numbers 0..``limit`` (leading zeros allowed within its length)."""
    text = str(limit)
    options = [f"[0-9]{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        if digit != "0":
            rest = len(text) - i - 1
            options.append(text[:i] + f"[0-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    return "|".join([*options, text])


class IdConverter(IntegerConverter):
    """``<int:...>``: ASCII digits, at most :data:`MAX_ID`; anything else does not match the route, so 404 (checked
    in the pattern itself: a value the pattern matched but refused would make werkzeug answer 405 to some methods)."""

    regex = digits_up_to(MAX_ID)

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def valid_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


# --- JSON -------------------------------------------------------------------------------------------

class GuardedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing oversized or deeply nested documents before parsing them."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        refuse_deep_json(s)
        return super().loads(s, **kwargs)


def refuse_deep_json(document: str | bytes) -> None:
    data = document.encode("utf-8", "surrogatepass") if isinstance(document, str) else bytes(document)
    if len(data) > MAX_JSON_BYTES:
        raise PayloadTooLarge(f"The JSON document is too large (at most {MAX_JSON_BYTES // 1024} KB).")
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", data))
    depth = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise DomainError(f"The JSON document is nested too deeply (at most {MAX_JSON_DEPTH} levels).",
                                  code="too_deep")
        else:
            depth -= 1


# --- text that cannot be stored ---------------------------------------------------------------------------

def _label(name: str) -> str:
    return _UNSTORABLE.sub("?", name)[:60] or "?"


def _json_strings(value: Any, path: str) -> Any:
    """(path, text) of every key and string in a JSON document."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            yield child, str(key)
            yield from _json_strings(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_strings(item, f"{path}[{index}]" if path else f"[{index}]")


def _refuse_unstorable_text() -> None:
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and _UNSTORABLE.search(value):
            raise NotFound()
    for header, value in request.headers.items():
        if "\x00" in value:
            raise DomainError(f"The {_label(header)} header contains a character that cannot be stored.",
                              code="bad_header")
    pairs: list[tuple[str, str]] = []
    for source in (request.args, request.form):
        for key, value in source.items(multi=True):
            pairs += [(key, key), (key, value)]
    # Uploaded files' names are not checked: photos.services.display_filename cleans them (a phone's odd name
    # must not cost a photo).
    if request.is_json:
        pairs += list(_json_strings(request.get_json(silent=True), ""))
    fields = {_label(name): UNSTORABLE_MESSAGE for name, text in pairs if _UNSTORABLE.search(text)}
    if fields:
        names = ", ".join(list(fields)[:10])
        raise ValidationFailed(f"Some text contains a character that cannot be stored: {names}.",
                               fields=dict(list(fields.items())[:20]))
