"""One sign-in throttle for every place a password or a second-step code is checked.

Web sign-in, API tokens, re-authentication, the two-step code page and the password change all share two
counters: one per account (``TRACKER_ACCOUNT_LIMIT``, keyed by the e-mail address, whether or not an account has
it) and one per client address (``TRACKER_LOGIN_LIMIT``). Only wrong passwords and codes count; a successful
check uses up nothing. The counters live in Flask-Limiter's storage (``TRACKER_RATELIMIT_STORAGE_URI``: memory or
Redis) and use its moving-window strategy.

The check comes before the password is verified, so a locked account answers 429 as fast for a known as for an
unknown address. Requests already in flight when the limit is reached are still verified: the count can exceed
the limit by the number of sign-ins the server handles at the same moment.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, request
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import TooManyRequests

from tracker.errors import Unauthorized
from tracker.extensions import limiter

NOT_A_GUESS = {"otp_required"}  # the password was right; the client has yet to send the code


def _counters(email: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    account = ("signin", "account", email.strip().lower()[:254])
    address = ("signin", "address", request.remote_addr or "")
    config = current_app.config
    return ([(item, account) for item in parse_many(config["TRACKER_ACCOUNT_LIMIT"])]
            + [(item, address) for item in parse_many(config["TRACKER_LOGIN_LIMIT"])])


def check(email: str) -> None:
    """429 (with Retry-After) when this account or this address has no failed attempts left."""
    if not limiter.enabled:
        return
    strategy = limiter.limiter
    for item, ids in _counters(email):
        if not strategy.test(item, *ids):
            reset_at = strategy.get_window_stats(item, *ids).reset_time
            raise TooManyRequests(retry_after=max(1, math.ceil(reset_at - time.time())))


def record_failure(email: str) -> None:
    if not limiter.enabled:
        return
    strategy = limiter.limiter
    for item, ids in _counters(email):
        strategy.hit(item, *ids)


@contextmanager
def attempt(email: str) -> Iterator[None]:
    """Around one check of a password or code for ``email``: refused first if its allowance is used up; a wrong
    password or code (``Unauthorized``) is then counted against the account and the address."""
    check(email)
    try:
        yield
    except Unauthorized as exc:
        if exc.code not in NOT_A_GUESS:
            record_failure(email)
        raise
