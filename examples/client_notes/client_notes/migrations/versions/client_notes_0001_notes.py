"""client_notes: notes and weekly digests

Revision ID: client_notes_0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

import core.sdk

revision = "client_notes_0001"
down_revision = None
branch_labels = ("client_notes",)
depends_on = "core_0002"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "client_notes_notes",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column(
            "client_id", ID, sa.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("author", sa.String(254), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", core.sdk.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "client_notes_digests",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("notes", sa.Integer(), nullable=False),
        sa.UniqueConstraint("tenant_id", "week_start"),
    )


def downgrade() -> None:
    op.drop_table("client_notes_digests")
    op.drop_table("client_notes_notes")
