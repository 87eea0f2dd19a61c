"""durable memory: versioned entries, latest-version index, audit and compaction logs

Revision ID: 0004_memory
Revises: 0003_dispatch
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_memory'
down_revision = '0003_dispatch'
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('memory_entries',
    sa.Column('scope', sa.String(length=255), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('scope_type', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('deleted', sa.Integer(), server_default='0', nullable=False),
    sa.Column('exec_id', sa.String(length=64), nullable=True),
    sa.Column('actor', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'key', 'version')
    )
    op.create_table('memory_keys',
    sa.Column('scope', sa.String(length=255), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('scope_type', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('deleted', sa.Integer(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'key')
    )
    op.create_table('memory_audit',
    sa.Column('id', _id(), autoincrement=True, nullable=False),
    sa.Column('scope', sa.String(length=255), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('metadata', sa.Text(), server_default='{}', nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('memory_audit', schema=None) as batch_op:
        batch_op.create_index('ix_memory_audit_scope', ['scope', 'id'], unique=False)
    op.create_table('memory_compactions',
    sa.Column('id', _id(), autoincrement=True, nullable=False),
    sa.Column('scope', sa.String(length=255), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('metadata', sa.Text(), server_default='{}', nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('memory_compactions', schema=None) as batch_op:
        batch_op.create_index('ix_memory_compactions_scope', ['scope', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('memory_compactions', schema=None) as batch_op:
        batch_op.drop_index('ix_memory_compactions_scope')
    op.drop_table('memory_compactions')
    with op.batch_alter_table('memory_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_memory_audit_scope')
    op.drop_table('memory_audit')
    op.drop_table('memory_keys')
    op.drop_table('memory_entries')
