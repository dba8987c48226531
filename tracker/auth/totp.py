"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): the second factor of authenticator apps.

Pure functions on bytes and integers (no Flask, no database), so they are tested against the RFCs' vectors.
Parameters are the ones every authenticator app assumes: HMAC-SHA1, 6 digits, 30-second steps.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from urllib.parse import quote, urlencode

DIGITS = 6
STEP_SECONDS = 30
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommendation for SHA-1
DRIFT_STEPS = 1    # accept the previous and the next step too: phone clocks drift and people type slowly

_CODE = re.compile(r"^[0-9]{6}$")  # ASCII digits only (\d would also take other scripts)


def new_secret() -> str:
    """A random shared secret, base32 without padding (what authenticator apps read)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def _key(secret_b32: str) -> bytes:
    cleaned = secret_b32.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226 section 5.3: HMAC-SHA1 of the 8-byte counter, dynamically truncated."""
    mac = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10 ** digits).zfill(digits)


def step_at(unix_time: float) -> int:
    return int(unix_time // STEP_SECONDS)


def code_at(secret_b32: str, unix_time: float) -> str:
    return hotp(_key(secret_b32), step_at(unix_time))


def normalize_code(raw: str) -> str:
    """What people type: spaces and dashes are ignored ("123 456")."""
    return re.sub(r"[\s-]", "", raw or "")


def matching_step(secret_b32: str, raw_code: str, unix_time: float, *, after_step: int | None = None) -> int | None:
    """The time step whose code this is (within the drift window), or None.

    ``after_step`` is the last step already used: a code is good once, so neither it nor an older one is
    accepted again (RFC 6238 section 5.2)."""
    code = normalize_code(raw_code)
    if not _CODE.match(code):
        return None
    key = _key(secret_b32)
    now = step_at(unix_time)
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def provisioning_uri(secret_b32: str, *, account: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code (Key Uri Format)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode({"secret": secret_b32, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS,
                       "period": STEP_SECONDS})
    return f"otpauth://totp/{label}?{query}"


def grouped(secret_b32: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret_b32[i:i + 4] for i in range(0, len(secret_b32), 4))


def new_recovery_code() -> str:
    """A single-use recovery code: 10 characters of an unambiguous alphabet, shown as xxxxx-xxxxx."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def normalize_recovery_code(raw: str) -> str:
    return re.sub(r"[\s-]", "", (raw or "").lower())
