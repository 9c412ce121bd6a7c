"""tenants.access_generation: cached principals are refused once what they hold changes

Revision ID: core_0006
Revises: core_0005
Create Date: 2026-12-04 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'core_0006'
down_revision: str | Sequence[str] | None = 'core_0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not a batch: on SQLite a batch copies the table and drops the old one, and
# dropping ``tenants`` would cascade to every tenant's rows.
def upgrade() -> None:
    op.add_column('tenants', sa.Column('access_generation', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    op.drop_column('tenants', 'access_generation')
