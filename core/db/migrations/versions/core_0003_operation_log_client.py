"""operation log: the client each entry is about, for data permissions

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-12-01 23:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'core_0003'
down_revision: str | Sequence[str] | None = 'core_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('operation_log', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True)
        )
        batch_op.create_index('ix_operation_log_tenant_client', ['tenant_id', 'client_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('operation_log', schema=None) as batch_op:
        batch_op.drop_index('ix_operation_log_tenant_client')
        batch_op.drop_column('client_id')
