"""One sign-in throttle (issue 11, defect 5): a per-account and a per-address counter shared by every place a
password or a second-step code is checked; only failures count."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from tests.factories import PASSWORD, api_token, login
from tracker.auth import totp
from tracker.extensions import db
from tracker.models import User, utcnow

LIMIT = 5  # TRACKER_ACCOUNT_LIMIT's first window: "5 per 5 minutes"


def _code(secret: str, steps_ahead: int = 0) -> str:
    return totp.code_at(secret, time.time() + steps_ahead * totp.STEP_SECONDS)


def _enable_two_step(app, email: str) -> str:
    secret = totp.new_secret()
    with app.app_context():
        db.session.execute(sa.update(User).where(User.email == email).values(totp_secret=secret,
                                                                             totp_enabled_at=utcnow()))
        db.session.commit()
    return secret


class Places:
    """Every place a password or code for patient A is checked, each able to fail once or be tried rightly."""

    def __init__(self, app, world):
        self.app, self.email = app, world["a"].email
        self.secret = _enable_two_step(app, self.email)
        self.signed_in = app.test_client()  # signed in before any failure: for re-authentication, password change
        login(self.signed_in, self.email)
        assert self.signed_in.post("/auth/two-step", data={"code": _code(self.secret)}).status_code == 302
        self.pending = app.test_client()  # passed the password step: for the second step
        assert login(self.pending, self.email).headers["Location"] == "/auth/two-step"
        self.other = app.test_client()

    def attempt(self, place: str, right: bool) -> int:
        password = PASSWORD if right else "wrong password"
        if place == "web":
            return login(self.other, self.email, password).status_code
        if place == "token":
            body = {"email": self.email, "password": password, "otp": _code(self.secret, 1)}
            return self.other.post("/api/v1/tokens", json=body).status_code
        if place == "confirm":
            return self.signed_in.post("/auth/confirm", data={"password": password}).status_code
        if place == "password":
            return self.signed_in.post("/auth/password", data={
                "current_password": password, "password": "a brand new passphrase",
                "confirm": "a brand new passphrase"}).status_code
        if place == "two-step":
            return self.pending.post("/auth/two-step", data={"code": _code(self.secret, 1) if right else "000000"}
                                     ).status_code
        raise AssertionError(place)


PLACES = ["web", "token", "confirm", "password", "two-step"]
FAILED = {"web": 401, "token": 401, "confirm": 401, "password": 400, "two-step": 401}


@pytest.mark.parametrize("failing_at", PLACES)
def test_failures_anywhere_lock_the_account_everywhere(app, world, failing_at):
    places = Places(app, world)
    assert [places.attempt(failing_at, right=False) for _ in range(LIMIT)] == [FAILED[failing_at]] * LIMIT
    for place in PLACES:
        refused = places.attempt(place, right=True)
        assert refused == 429, (place, refused)


def test_failures_spread_over_every_place_add_up(app, world):
    places = Places(app, world)
    assert [places.attempt(place, right=False) for place in PLACES] == [FAILED[p] for p in PLACES]
    locked = places.other.post("/api/v1/tokens", json={"email": world["a"].email, "password": PASSWORD})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
    assert locked.get_json()["error"]["message"] == "Too many attempts. Please wait a moment and try again."
    page = login(places.other, world["a"].email)
    assert page.status_code == 429 and page.headers["Retry-After"]


def test_tokens_then_web_and_the_reverse(app, client, world):
    for _ in range(LIMIT):
        assert client.post("/api/v1/tokens", json={"email": world["a"].email, "password": "nope"}).status_code == 401
    assert login(client, world["a"].email).status_code == 429
    for _ in range(LIMIT):
        assert login(client, world["b"].email, "nope").status_code == 401
    assert client.post("/api/v1/tokens", json={"email": world["b"].email, "password": PASSWORD}).status_code == 429
    assert login(client, world["prac_x"].email).status_code == 429, "ten failures from this address: it is locked too"
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.5"
    assert login(elsewhere, world["prac_x"].email).status_code == 302, "other accounts from other addresses are not"
    elsewhere.post("/auth/logout")
    assert login(elsewhere, world["a"].email).status_code == 429, "the account stays locked from any address"


def test_successful_sign_ins_never_use_up_the_allowance(app, client, world):
    for _ in range(20):
        assert login(client, world["a"].email).status_code == 302
        assert client.post("/auth/logout").status_code == 302
        assert client.post("/api/v1/tokens", json={"email": world["a"].email, "password": PASSWORD}
                           ).status_code == 201
    signed = app.test_client()
    login(signed, world["a"].email)
    for _ in range(20):
        assert signed.post("/auth/confirm", data={"password": PASSWORD}).status_code == 302


def test_a_correct_password_without_the_code_is_not_a_failed_guess(app, client, world):
    _enable_two_step(app, world["a"].email)
    for _ in range(LIMIT + 3):
        answer = client.post("/api/v1/tokens", json={"email": world["a"].email, "password": PASSWORD})
        assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "otp_required"


def test_the_per_address_counter_is_shared_across_places(app_factory):
    from tests.factories import build_world

    app = app_factory(TRACKER_LOGIN_LIMIT="4 per minute", TRACKER_ACCOUNT_LIMIT="100 per minute")
    with app.app_context():
        world = build_world()
    client = app.test_client()
    assert login(client, "one@example.com", "nope").status_code == 401
    assert client.post("/api/v1/tokens", json={"email": "two@example.com", "password": "x"}).status_code == 401
    signed = app.test_client()
    login(signed, world["prac_x"].email)
    assert signed.post("/auth/confirm", data={"password": "nope"}).status_code == 401
    assert login(client, "three@example.com", "nope").status_code == 401
    # Four failures from this address, each for a different account and place: every place now refuses it.
    assert login(client, world["b"].email).status_code == 429
    assert client.post("/api/v1/tokens", json={"email": world["b"].email, "password": PASSWORD}).status_code == 429
    assert signed.post("/auth/confirm", data={"password": PASSWORD}).status_code == 429


def test_a_locked_account_answers_the_same_whether_it_exists_or_not(client, world):
    for email in (world["a"].email, "nobody@example.com"):
        for _ in range(LIMIT):
            assert login(client, email, "nope").status_code == 401
    known, unknown = login(client, world["a"].email), login(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 429
    assert known.get_data() == unknown.get_data()


def test_the_api_token_flow_still_works_after_the_lock_expires(app_factory):
    from tests.factories import build_world

    app = app_factory(TRACKER_ACCOUNT_LIMIT="2 per 1 second")
    with app.app_context():
        world = build_world()
    client = app.test_client()
    for _ in range(2):
        assert login(client, world["a"].email, "nope").status_code == 401
    assert login(client, world["a"].email).status_code == 429
    time.sleep(1.1)
    assert api_token(client, world["a"].email)
