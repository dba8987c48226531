"""Re-authentication: when a browser session last proved its password

Revision ID: 7e2a9c41d5b0
Revises: 41d0c1380605
Create Date: 2026-11-25 17:40:00

Existing sessions count as authenticated when they were created.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7e2a9c41d5b0'
down_revision = '41d0c1380605'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authenticated_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE login_sessions SET authenticated_at = created_at")
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.alter_column('authenticated_at', existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade():
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_column('authenticated_at')
