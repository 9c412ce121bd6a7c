"""leads: files imported from the page, step by step

Revision ID: leads_0002
Revises: leads_0001
Create Date: 2026-12-06 23:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.sdk

revision: str = "leads_0002"
down_revision: str | Sequence[str] | None = "leads_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = core.sdk.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "leads_imports",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("state", sa.Enum("checked", "importing", "done", name="importstate", native_enum=False, length=32), nullable=False),
        sa.Column("next_row", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.Column("tenant_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_leads_imports_tenant_id_tenants", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_leads_imports_user_id_users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_leads_imports"),
    )
    op.create_index("ix_leads_imports_tenant_id", "leads_imports", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("leads_imports")
