"""initial schema

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('artifacts',
    sa.Column('exec_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('tags', sa.Text(), server_default='[]', nullable=False),
    sa.Column('ref', sa.Text(), nullable=False),
    sa.Column('invocation_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('exec_id', 'name')
    )
    op.create_table('checkpoint_attempts',
    sa.Column('exec_id', sa.String(length=64), nullable=False),
    sa.Column('invocation_id', sa.String(length=255), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.Float(), nullable=False),
    sa.Column('ended_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('exec_id', 'invocation_id', 'attempt')
    )
    op.create_table('checkpoint_calls',
    sa.Column('exec_id', sa.String(length=64), nullable=False),
    sa.Column('invocation_id', sa.String(length=255), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('input_hash', sa.String(length=64), nullable=True),
    sa.Column('input_preview', sa.Text(), nullable=True),
    sa.Column('output', sa.Text(), nullable=True),
    sa.Column('cache_key', sa.String(length=64), nullable=True),
    sa.Column('reused_from', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('metadata', sa.Text(), server_default='{}', nullable=False),
    sa.Column('started_at', sa.Float(), nullable=False),
    sa.Column('ended_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('exec_id', 'invocation_id')
    )
    with op.batch_alter_table('checkpoint_calls', schema=None) as batch_op:
        batch_op.create_index('ix_checkpoint_calls_cache', ['cache_key'], unique=False)
        batch_op.create_index('ux_checkpoint_calls_seq', ['exec_id', 'seq'], unique=True)

    op.create_table('executions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('flow_name', sa.String(length=255), nullable=False),
    sa.Column('flow_source', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('stack', sa.String(length=255), nullable=False),
    sa.Column('config', sa.Text(), nullable=False),
    sa.Column('inputs', sa.Text(), nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('failure', sa.Text(), nullable=True),
    sa.Column('original_exec_id', sa.String(length=64), nullable=True),
    sa.Column('replay_from', sa.String(length=255), nullable=True),
    sa.Column('cancel_requested', sa.Integer(), server_default='0', nullable=False),
    sa.Column('lease_owner', sa.String(length=128), nullable=True),
    sa.Column('lease_expires_at', sa.Float(), nullable=True),
    sa.Column('runs', sa.Integer(), server_default='0', nullable=False),
    sa.Column('metadata', sa.Text(), server_default='{}', nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.Column('ended_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.create_index('ix_executions_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_executions_flow_created', ['flow_name', 'created_at'], unique=False)
        batch_op.create_index('ix_executions_status_created', ['status', 'created_at'], unique=False)

    op.create_table('logs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('exec_id', sa.String(length=64), nullable=False),
    sa.Column('invocation_id', sa.String(length=255), nullable=True),
    sa.Column('ts', sa.Float(), nullable=False),
    sa.Column('stream', sa.String(length=16), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('logs', schema=None) as batch_op:
        batch_op.create_index('ix_logs_exec', ['exec_id', 'id'], unique=False)

    op.create_table('model_aliases',
    sa.Column('alias', sa.String(length=255), nullable=False),
    sa.Column('model', sa.String(length=255), nullable=False),
    sa.Column('secret', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('alias')
    )
    op.create_table('secrets',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('settings',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('stacks',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('spec', sa.Text(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('waits',
    sa.Column('exec_id', sa.String(length=64), nullable=False),
    sa.Column('invocation_id', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('question', sa.Text(), nullable=True),
    sa.Column('schema', sa.Text(), nullable=True),
    sa.Column('metadata', sa.Text(), server_default='{}', nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('answered_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('exec_id', 'invocation_id')
    )
    with op.batch_alter_table('waits', schema=None) as batch_op:
        batch_op.create_index('ix_waits_status', ['status', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('waits', schema=None) as batch_op:
        batch_op.drop_index('ix_waits_status')

    op.drop_table('waits')
    op.drop_table('stacks')
    op.drop_table('settings')
    op.drop_table('secrets')
    op.drop_table('model_aliases')
    with op.batch_alter_table('logs', schema=None) as batch_op:
        batch_op.drop_index('ix_logs_exec')

    op.drop_table('logs')
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_index('ix_executions_status_created')
        batch_op.drop_index('ix_executions_flow_created')
        batch_op.drop_index('ix_executions_created')

    op.drop_table('executions')
    with op.batch_alter_table('checkpoint_calls', schema=None) as batch_op:
        batch_op.drop_index('ux_checkpoint_calls_seq')
        batch_op.drop_index('ix_checkpoint_calls_cache')

    op.drop_table('checkpoint_calls')
    op.drop_table('checkpoint_attempts')
    op.drop_table('artifacts')
