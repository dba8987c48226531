"""Audit trail: the fields a change to the record changed (old -> new)

Revision ID: d7a4e5c2b913
Revises: c41e7d9a0b62
Create Date: 2026-12-07 16:30:00

Adding a nullable column is a plain ALTER TABLE on SQLite and PostgreSQL, so the append-only triggers on
audit_events stay in place. Removing it on SQLite makes batch mode copy the table, which drops its triggers:
the downgrade puts them back.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7a4e5c2b913'
down_revision = 'c41e7d9a0b62'
branch_labels = None
depends_on = None


APPEND_ONLY_SQLITE = (
    "DROP TRIGGER IF EXISTS audit_events_no_update",
    "DROP TRIGGER IF EXISTS audit_events_no_delete",
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
)


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('changes', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('changes')
    if op.get_bind().dialect.name == "sqlite":
        for statement in APPEND_ONLY_SQLITE:
            op.execute(statement)
