"""identity: execution owners, model alias writers, secret grants

Revision ID: 0005_identity
Revises: 0004_memory
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_identity"
down_revision = "0004_memory"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("owner_name", sa.String(length=255), nullable=True))
    with op.batch_alter_table("model_aliases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.String(length=64), nullable=True))
    op.create_table("secret_grants",
                    sa.Column("secret", sa.String(length=255), nullable=False),
                    sa.Column("principal_id", sa.String(length=64), nullable=False),
                    sa.Column("created_at", sa.Float(), nullable=False),
                    sa.PrimaryKeyConstraint("secret", "principal_id"))


def downgrade() -> None:
    op.drop_table("secret_grants")
    with op.batch_alter_table("model_aliases", schema=None) as batch_op:
        batch_op.drop_column("created_by")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_column("owner_name")
        batch_op.drop_column("owner_id")
