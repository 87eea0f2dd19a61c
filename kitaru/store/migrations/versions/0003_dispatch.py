"""executions: where the last runner was dispatched (orchestrator flavor, job id, time) and when a cancel was asked

Revision ID: 0003_dispatch
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_dispatch'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('orchestrator', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('job_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('dispatched_at', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('cancel_requested_at', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_column('cancel_requested_at')
        batch_op.drop_column('dispatched_at')
        batch_op.drop_column('job_id')
        batch_op.drop_column('orchestrator')
