"""tier_upgrade settlements written in batches: state, cursor, writing run, start time

Revision ID: tier_upgrade_0002
Revises: tier_upgrade_0001
Create Date: 2026-12-02 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.sdk


revision: str = 'tier_upgrade_0002'
down_revision: str | Sequence[str] | None = 'tier_upgrade_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('tier_upgrade_settlements', schema=None) as batch_op:
        # Settlements written before this revision were written whole: finished.
        batch_op.add_column(
            sa.Column(
                'state',
                sa.Enum('running', 'finished', name='settlementstate', native_enum=False, length=32),
                nullable=False,
                server_default='finished',
            )
        )
        batch_op.add_column(sa.Column('run_id', ID, nullable=True))
        batch_op.add_column(sa.Column('last_client_id', ID, nullable=True))
        batch_op.add_column(sa.Column('started_at', core.sdk.UTCDateTime(timezone=True), nullable=True))
        batch_op.alter_column(
            'finished_at', existing_type=core.sdk.UTCDateTime(timezone=True), nullable=True
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_tier_upgrade_settlements_run_id_job_runs'),
            'job_runs',
            ['run_id'],
            ['id'],
            ondelete='SET NULL',
        )
    op.execute('UPDATE tier_upgrade_settlements SET started_at = finished_at')
    with op.batch_alter_table('tier_upgrade_settlements', schema=None) as batch_op:
        batch_op.alter_column(
            'started_at', existing_type=core.sdk.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.alter_column('state', existing_type=sa.String(length=32), server_default=None)


def downgrade() -> None:
    # Unfinished settlements cannot be represented before this revision.
    op.execute("DELETE FROM tier_upgrade_settlements WHERE state = 'running'")
    with op.batch_alter_table('tier_upgrade_settlements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tier_upgrade_settlements_run_id_job_runs'), type_='foreignkey')
        batch_op.alter_column(
            'finished_at', existing_type=core.sdk.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.drop_column('started_at')
        batch_op.drop_column('last_client_id')
        batch_op.drop_column('run_id')
        batch_op.drop_column('state')
