"""RFC 6238 / RFC 4226 arithmetic against the RFCs' own test vectors, and the rules around it."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest

from tracker.auth import totp

RFC_KEY = b"12345678901234567890"
RFC_SECRET = base64.b32encode(RFC_KEY).decode().rstrip("=")


@pytest.mark.parametrize(("counter", "code"), [
    (0, "755224"), (1, "287082"), (2, "359152"), (3, "969429"), (4, "338314"),
    (5, "254676"), (6, "287922"), (7, "162583"), (8, "399871"), (9, "520489"),
])
def test_hotp_matches_rfc_4226_appendix_d(counter, code):
    assert totp.hotp(RFC_KEY, counter) == code


@pytest.mark.parametrize(("unix_time", "eight_digits"), [
    (59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"), (1234567890, "89005924"),
    (2000000000, "69279037"), (20000000000, "65353130"),
])
def test_totp_matches_rfc_6238_appendix_b_sha1(unix_time, eight_digits):
    assert totp.hotp(RFC_KEY, totp.step_at(unix_time), digits=8) == eight_digits
    assert totp.code_at(RFC_SECRET, unix_time) == eight_digits[-6:]


def test_a_code_is_good_for_one_step_either_side_and_only_once():
    now = 1_700_000_000
    step = totp.step_at(now)
    for offset in (-1, 0, 1):
        code = totp.code_at(RFC_SECRET, now + offset * totp.STEP_SECONDS)
        assert totp.matching_step(RFC_SECRET, code, now) == step + offset
        assert totp.matching_step(RFC_SECRET, code, now, after_step=step + offset) is None, "replayed"
    for offset in (-2, 2):
        assert totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, now + offset * 30), now) is None


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "12 34 5x", "１２３４５６"])
def test_malformed_codes_never_match(typed):
    assert totp.matching_step(RFC_SECRET, typed, 59) is None


def test_spaces_and_dashes_are_ignored():
    code = totp.code_at(RFC_SECRET, 59)
    assert totp.matching_step(RFC_SECRET, f" {code[:3]} - {code[3:]} ", 59) == 1


def test_secrets_are_random_160_bit_base32():
    a, b = totp.new_secret(), totp.new_secret()
    assert a != b and len(base64.b32decode(a + "=" * (-len(a) % 8))) == totp.SECRET_BYTES
    assert totp.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"


def test_provisioning_uri_is_what_authenticator_apps_read():
    uri = totp.provisioning_uri(RFC_SECRET, account="ann@example.com", issuer="Progress Tracker")
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert parts.path == "/Progress%20Tracker:ann@example.com"
    query = parse_qs(parts.query)
    assert query["secret"] == [RFC_SECRET] and query["issuer"] == ["Progress Tracker"]
    assert query["digits"] == ["6"] and query["period"] == ["30"] and query["algorithm"] == ["SHA1"]


def test_recovery_codes_are_unambiguous_and_typed_loosely():
    codes = {totp.new_recovery_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 11 and code[5] == "-" and not set(code) & set("01ilo")
    assert totp.normalize_recovery_code(" ABCDE-fghjk ") == "abcdefghjk"
