"""Pure rules: safe redirects, password policy, configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.auth.sessions import safe_next
from tracker.config import ConfigError, load_config, normalize_database_url


@pytest.mark.parametrize("target", [
    "https://evil.example", "//evil.example", "/\\evil.example", "https:evil.example", "javascript:alert(1)",
    "\\\\evil.example", "/\x00x", "/\r\nLocation: x", "", None, "relative/path", "/" + "a" * 3000,
])
def test_safe_next_refuses(target):
    assert safe_next(target, "/home") == "/home"


@pytest.mark.parametrize("target", ["/", "/patients/?q=x", "/patients/3#areas"])
def test_safe_next_keeps_local_paths(target):
    assert safe_next(target, "/home") == target


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


@pytest.mark.parametrize(("password", "problem"), [
    ("1234567", "at least 8"),
    ("password", "most common"),
    ("Password1", "most common"),
    ("Tangerine Kite 42", None),
    ("qwerty123", "most common"),
    ("aaaaaaaaaaaa", "too easy"),
    ("someone@example.com", "e-mail"),
    ("x" * 257, "at most 256"),
    ("correct horse battery staple " * 2, None),
])
def test_password_problem(app_ctx, password, problem):
    from tracker.auth.passwords import password_problem

    result = password_problem(password, email="someone@example.com")
    if problem is None:
        assert result is None
    else:
        assert result is not None and problem in result


def test_hash_verify_round_trip_and_unknown_user_costs_a_verification(app_ctx):
    from tracker.auth.passwords import hash_password, verify_password

    stored = hash_password("a fine passphrase")
    assert stored.startswith("$argon2id$") and "a fine passphrase" not in stored
    assert verify_password(stored, "a fine passphrase")
    assert not verify_password(stored, "a fine passphrasE")
    assert not verify_password(None, "anything at all")


def test_production_refuses_to_start_without_secret_key(tmp_path: Path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config({"TRACKER_ENV": "production"}, tmp_path)
    with pytest.raises(ConfigError, match="at least 32"):
        load_config({"TRACKER_ENV": "production", "SECRET_KEY": "short"}, tmp_path)


def test_development_generates_and_keeps_a_secret_key(tmp_path: Path):
    first = load_config({}, tmp_path)["SECRET_KEY"]
    assert len(first) == 64 and (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert load_config({}, tmp_path)["SECRET_KEY"] == first


def test_defaults_need_nothing_installed(tmp_path: Path):
    config = load_config({}, tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'tracker.db'}"
    assert config["TRACKER_UPLOAD_DIR"].endswith("uploads") and config["REDIS_URL"] == ""
    assert config["MAX_CONTENT_LENGTH"] > 30 * 1024 * 1024


def test_bad_settings_are_refused(tmp_path: Path):
    with pytest.raises(ConfigError):
        load_config({"TRACKER_ENV": "staging"}, tmp_path)
    with pytest.raises(ConfigError):
        load_config({"TRACKER_MAX_UPLOAD_MB": "lots"}, tmp_path)


def test_postgres_urls_use_psycopg3():
    assert normalize_database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_imaging_never_imports_flask():
    import ast

    root = Path(__file__).resolve().parents[2] / "tracker" / "imaging"
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("flask", "tracker.models", "tracker.extensions")), (path, name)


def test_the_top_3000_breached_passwords_that_meet_the_length_rule_are_all_refused(app_ctx):
    """ASVS 6.2.4: every one of the 3,000 most frequent breached passwords that is long enough is refused,
    in any capitalisation."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    from tracker.auth.passwords import MIN_LENGTH, password_problem

    top = [w for w in FREQUENCY_LISTS["passwords"][:3000] if len(w) >= MIN_LENGTH]
    assert len(top) > 800
    accepted = [w for w in top if password_problem(w) is None or password_problem(w.capitalize()) is None]
    assert accepted == []
    assert password_problem("Tangerine Kite 42") is None
