"""Random secrets handed to people (session ids, API tokens, invitation and reset links).

Only the SHA-256 of a token is stored; a token has 256 bits of entropy, so a plain hash is enough
(a KDF is for low-entropy passwords).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
