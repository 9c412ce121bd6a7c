"""status_system: when a client was warned that their status is at risk

Revision ID: status_system_0002
Revises: status_system_0001
Create Date: 2026-12-06 06:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.sdk

revision: str = "status_system_0002"
down_revision: str | Sequence[str] | None = "status_system_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("status_system_standings") as batch:
        batch.add_column(sa.Column("warned_at", core.sdk.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("status_system_standings") as batch:
        batch.drop_column("warned_at")
