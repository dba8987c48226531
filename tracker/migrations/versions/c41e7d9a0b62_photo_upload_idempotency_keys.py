"""Idempotency keys on photo uploads: a retried upload finds the first one

Revision ID: c41e7d9a0b62
Revises: b8d3f0a27c15
Create Date: 2026-11-25 17:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c41e7d9a0b62'
down_revision = 'b8d3f0a27c15'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=64), nullable=True))
        batch_op.create_index('uq_photos_patient_idempotency_key', ['patient_id', 'idempotency_key'], unique=True)


def downgrade():
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_index('uq_photos_patient_idempotency_key')
        batch_op.drop_column('idempotency_key')
