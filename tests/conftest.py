"""Shared fixtures: an app on a real database (SQLite by default, PostgreSQL when TEST_DATABASE_URL is set),
a test client, and a small world of two clinics with a user of every role.
"""

from __future__ import annotations

import os
import threading
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import World, build_world

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (set TEST_DATABASE_URL for PostgreSQL)'}"


@pytest.fixture(scope="session")
def pg_schema_ready() -> bool:
    """Create the tables once per run on PostgreSQL; each test then truncates them."""
    if not PG_URL:
        return False
    from tracker.config import normalize_database_url
    from tracker.models import Base

    engine = sa.create_engine(normalize_database_url(PG_URL))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
        Base.metadata.create_all(conn)
    engine.dispose()
    return True


def make_app(tmp_path: Path, pg: bool, **overrides: Any) -> Flask:
    from tracker import create_app

    url = PG_URL if pg else f"sqlite:///{tmp_path / 'test.db'}"
    config = {
        "TRACKER_ENV": "testing",
        "SQLALCHEMY_DATABASE_URI": url,
        "TRACKER_UPLOAD_DIR": str(tmp_path / "uploads"),
        "TRACKER_MAIL_BACKEND": "memory",
        "TRACKER_PASSWORD_HASH": "argon2id-fast",
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "tracker.test",
        "TRACKER_BASE_URL": "http://tracker.test",
        "TRACKER_INSTANCE_DIR": str(tmp_path / "instance"),
        **overrides,
    }
    from tracker.config import normalize_database_url

    config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(config["SQLALCHEMY_DATABASE_URI"])
    app = create_app(config)
    from tracker.extensions import db, limiter
    from tracker.mail import init_mailer

    with app.app_context():
        if not pg:
            db.create_all()
        limiter.reset()
    init_mailer(app)
    return app


def truncate_all(app: Flask) -> None:
    from tracker.extensions import db

    with app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()


@pytest.fixture
def app_factory(tmp_path: Path, pg_schema_ready: bool) -> Iterator[Any]:
    made: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        app = make_app(tmp_path, pg_schema_ready, **overrides)
        made.append(app)
        return app

    yield factory
    from tracker.extensions import db

    for app in made:
        with app.app_context():
            db.session.remove()
            if pg_schema_ready:
                truncate_all(app)
            db.engine.dispose()
    for app in made:
        stray = mail_links_off_base_url(app)
        assert not stray, f"a mail linked somewhere other than TRACKER_BASE_URL: {stray}"


def mail_links_off_base_url(app: Flask) -> list[str]:
    """Every link in every mail a test's app sent must start with its TRACKER_BASE_URL (links are never built
    from the request): checked after each test, so any mail-sending flow a test drives is covered."""
    base = app.config["TRACKER_BASE_URL"] + "/"
    outbox = getattr(app.extensions.get("tracker_mailer"), "outbox", [])
    return [link for message in outbox for link in re.findall(r"https?://[^\s]+", message.get_content())
            if not link.startswith(base)]


@pytest.fixture
def app(app_factory: Any) -> Flask:
    return app_factory()


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """What README says a production deployment sets: a secret key, its public address, the counters' store."""
    monkeypatch.setenv("SECRET_KEY", "p" * 40)
    monkeypatch.setenv("TRACKER_BASE_URL", "https://tracker.test")
    monkeypatch.setenv("TRACKER_RATELIMIT_STORAGE_URI", "memory://")
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        return build_world()


@pytest.fixture
def outbox(app: Flask) -> list[Any]:
    return app.extensions["tracker_mailer"].outbox  # type: ignore[no-any-return]


@pytest.fixture
def staff(client: FlaskClient, world: World) -> dict[str, str]:
    """Bearer headers of clinic X's practitioner."""
    from tests.factories import api_token

    return api_token(client, world["prac_x"].email)


@pytest.fixture
def patient(client: FlaskClient, world: World) -> dict[str, str]:
    """Bearer headers of patient A (clinic X)."""
    from tests.factories import api_token

    return api_token(client, world["a"].email)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The suite's own database on the real Redis server, empty before and after the test."""
    from redis import Redis

    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except Exception as exc:  # noqa: BLE001 - a clear failure beats a confusing one
        pytest.fail(f"These tests need the Redis server at {REDIS_URL}: {exc}")
    connection.flushdb()
    yield REDIS_URL
    connection.flushdb()
    connection.close()


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """A real HTTP server (werkzeug, threaded) for ``app`` on a free local port; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
