"""deferred_work: work plugins ask for in a unit of work, done after it commits

Revision ID: core_0008
Revises: core_0007
Create Date: 2026-12-07 07:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db.types

revision: str = 'core_0008'
down_revision: str | Sequence[str] | None = 'core_0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('deferred_work',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plugin', sa.String(length=40), nullable=False),
    sa.Column('task', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('created_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('run_after', core.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_deferred_work_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deferred_work')),
    sa.UniqueConstraint('tenant_id', 'plugin', 'task', 'key', name=op.f('uq_deferred_work_tenant_id_plugin_task_key'))
    )
    with op.batch_alter_table('deferred_work', schema=None) as batch_op:
        batch_op.create_index('ix_deferred_work_due', ['run_after'], unique=False)
        batch_op.create_index(batch_op.f('ix_deferred_work_tenant_id'), ['tenant_id'], unique=False)


def downgrade() -> None:
    op.drop_table('deferred_work')
