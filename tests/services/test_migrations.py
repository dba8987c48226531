"""Migrations: an empty database upgrades to head, the result matches the models (no drift), and downgrades."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from tests.conftest import PG_URL
from tracker.config import normalize_database_url


@pytest.fixture
def empty_db_url(tmp_path):
    """A brand-new empty database: a SQLite file, or a fresh schema on the PostgreSQL server."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(normalize_database_url(PG_URL))
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield f"{normalize_database_url(PG_URL)}?options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _drift(db) -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_from_empty_to_head_has_no_drift(tmp_path, empty_db_url):
    from tests.conftest import make_app
    from tracker.extensions import db

    app = make_app(tmp_path, pg=True, SQLALCHEMY_DATABASE_URI=empty_db_url)
    with app.app_context():
        upgrade()
        assert _drift(db) == []
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"clinics", "users", "patients", "treatment_areas", "treatment_courses"} <= tables
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert _drift(db) == []
        db.engine.dispose()


def test_audit_trail_is_append_only_in_the_database(tmp_path, empty_db_url):
    from tests.conftest import make_app
    from tracker.extensions import db

    app = make_app(tmp_path, pg=True, SQLALCHEMY_DATABASE_URI=empty_db_url)
    with app.app_context():
        upgrade()
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO audit_events (at, actor_role, action, object_type, object_id, outcome, "
                                 "ip, user_agent, detail) VALUES (CURRENT_TIMESTAMP, '', 'test', '', '', 'ok', '', "
                                 "'', '{}')"))
        for statement in ("UPDATE audit_events SET action = 'changed'", "DELETE FROM audit_events"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                with db.engine.begin() as conn:
                    conn.execute(sa.text(statement))
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT action FROM audit_events")).scalars().all() == ["test"]
        db.engine.dispose()


def test_audit_changes_column_migrates_both_ways_and_the_trail_stays_append_only(tmp_path, empty_db_url):
    """Adding audit_events.changes (and removing it again: batch mode copies the table on SQLite) keeps the
    triggers that refuse UPDATE and DELETE."""
    from tests.conftest import make_app
    from tracker.extensions import db

    app = make_app(tmp_path, pg=True, SQLALCHEMY_DATABASE_URI=empty_db_url)
    with app.app_context():
        upgrade(revision="c41e7d9a0b62")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO audit_events (at, actor_role, action, object_type, object_id, outcome, "
                                 "ip, user_agent, detail) VALUES (CURRENT_TIMESTAMP, '', 'before', '', '', 'ok', '', "
                                 "'', '{}')"))
        for step in (lambda: upgrade(revision="d7a4e5c2b913"), lambda: downgrade(revision="c41e7d9a0b62"), upgrade):
            step()
            for statement in ("UPDATE audit_events SET action = 'changed'", "DELETE FROM audit_events"):
                with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                    with db.engine.begin() as conn:
                        conn.execute(sa.text(statement))
            with db.engine.connect() as conn:
                assert conn.execute(sa.text("SELECT action FROM audit_events")).scalars().all() == ["before"]
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("audit_events")}
        assert "changes" in columns
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO audit_events (at, actor_role, action, object_type, object_id, outcome, "
                                 "ip, user_agent, detail, changes) VALUES (CURRENT_TIMESTAMP, '', 'photo.update', "
                                 "'photo', '1', 'ok', '', '', '{}', '{\"view\": {\"old\": null, \"new\": \"front\"}}')"))
        assert _drift(db) == []
        db.engine.dispose()
