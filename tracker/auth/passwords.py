"""Password hashing (argon2id) and the rules a new password must meet."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

MIN_LENGTH = 8
MAX_LENGTH = 256  # long passphrases are welcome; this only bounds the hashing work

_HASHERS = {
    # OWASP's argon2id baseline (19 MiB, t=2, p=1).
    "argon2id": PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),
    # Tests only: same algorithm, tiny cost, so hundreds of accounts hash in milliseconds.
    "argon2id-fast": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}
# A fixed hash to verify against when the account does not exist, so both paths cost the same.
_DUMMY: dict[str, str] = {}


def _hasher() -> PasswordHasher:
    return _HASHERS[current_app.config["TRACKER_PASSWORD_HASH"]]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-work check: an unknown account still pays for one verification."""
    hasher = _hasher()
    if stored_hash is None:
        name = current_app.config["TRACKER_PASSWORD_HASH"]
        if name not in _DUMMY:  # made once: hashing on every miss would make unknown e-mails twice as slow
            _DUMMY[name] = hasher.hash("dummy password for timing")
        stored_hash = _DUMMY[name]
        password = password + "\0never"
    try:
        return hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    """zxcvbn's 30,000 most frequent passwords from public breaches (ranked; ASVS 6.2.4 asks for the top 3,000),
    plus our own list of ones that ranking misses (clinic words, keyboard walks with capitals and digits)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    path = Path(__file__).with_name("common_passwords.txt")
    ours = (line.strip().lower() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return frozenset(ours) | frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why this password is refused, in the user's words, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in _common_passwords():
        return "That password is one of the most common ones. Please choose another."
    local = email.split("@", 1)[0].lower()
    if (local and len(local) >= 4 and lowered == local) or (email and lowered == email.lower()):
        return "Your password must not be your e-mail address."
    if len(set(password)) < 3:
        return "That password is too easy to guess. Please choose another."
    return None
