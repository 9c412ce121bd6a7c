"""status_system: statuses, standings and history

Revision ID: status_system_0001
Revises:
Create Date: 2026-12-06 02:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.sdk

revision: str = "status_system_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("status_system",)
depends_on: str | Sequence[str] | None = "core_0002"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = core.sdk.UTCDateTime(timezone=True)


def _tenant(table: str) -> list[sa.Column[int] | sa.ForeignKeyConstraint]:
    return [
        sa.Column("tenant_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"),
    ]


def upgrade() -> None:
    op.create_table(
        "status_system_statuses",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("caption", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("colour", sa.String(length=7), nullable=False),
        sa.Column("icon", sa.String(length=20), nullable=False),
        sa.Column("visible_to_clients", sa.Boolean(), nullable=False),
        sa.Column("grants", sa.String(length=500), nullable=False),
        sa.Column("group_id", ID, nullable=True),
        sa.Column("criteria", sa.JSON(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        *_tenant("status_system_statuses"),
        sa.ForeignKeyConstraint(
            ["group_id"], ["client_groups.id"], name="fk_status_system_statuses_group_id_client_groups", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_status_system_statuses"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_status_system_statuses_tenant_id_name"),
    )
    op.create_index("ix_status_system_statuses_tenant_id", "status_system_statuses", ["tenant_id"])

    op.create_table(
        "status_system_standings",
        sa.Column("id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("status_id", ID, nullable=True),
        sa.Column("since", WHEN, nullable=False),
        sa.Column("promoted_at", WHEN, nullable=True),
        sa.Column("lock_status_id", ID, nullable=True),
        sa.Column("lock_reason", sa.String(length=500), nullable=False),
        sa.Column("lock_expires_at", WHEN, nullable=True),
        sa.Column("floor_status_id", ID, nullable=True),
        sa.Column("floor_reason", sa.String(length=500), nullable=False),
        sa.Column("floor_expires_at", WHEN, nullable=True),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_tenant("status_system_standings"),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_status_system_standings_client_id_clients", ondelete="CASCADE"
        ),
        *(
            sa.ForeignKeyConstraint(
                [column], ["status_system_statuses.id"],
                name=f"fk_status_system_standings_{column}", ondelete="SET NULL",
            )
            for column in ("status_id", "lock_status_id", "floor_status_id")
        ),
        sa.PrimaryKeyConstraint("id", name="pk_status_system_standings"),
        sa.UniqueConstraint("tenant_id", "client_id", name="uq_status_system_standings_tenant_id_client_id"),
    )
    op.create_index("ix_status_system_standings_tenant_id", "status_system_standings", ["tenant_id"])

    op.create_table(
        "status_system_history",
        sa.Column("id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("previous_status_id", ID, nullable=True),
        sa.Column("previous_name", sa.String(length=100), nullable=True),
        sa.Column("status_id", ID, nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column(
            "cause",
            sa.Enum("rule", "demotion", "manual", "lock", "floor", "expiry", name="cause", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("evaluation", sa.JSON(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        *_tenant("status_system_history"),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_status_system_history_client_id_clients", ondelete="CASCADE"
        ),
        *(
            sa.ForeignKeyConstraint(
                [column], ["status_system_statuses.id"],
                name=f"fk_status_system_history_{column}", ondelete="SET NULL",
            )
            for column in ("status_id", "previous_status_id")
        ),
        sa.PrimaryKeyConstraint("id", name="pk_status_system_history"),
    )
    op.create_index("ix_status_system_history_tenant_id", "status_system_history", ["tenant_id"])
    op.create_index("ix_status_system_history_client", "status_system_history", ["tenant_id", "client_id", "id"])
    op.create_index("ix_status_system_history_time", "status_system_history", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_table("status_system_history")
    op.drop_table("status_system_standings")
    op.drop_table("status_system_statuses")
