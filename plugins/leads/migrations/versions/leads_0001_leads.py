"""leads: leads, participants, tags, activities and conversion keys

Revision ID: leads_0001
Revises:
Create Date: 2026-12-06 20:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.sdk

revision: str = "leads_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("leads",)
depends_on: str | Sequence[str] | None = "core_0007"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = core.sdk.UTCDateTime(timezone=True)


def _tenant(table: str) -> list[sa.Column[int] | sa.ForeignKeyConstraint]:
    return [
        sa.Column("tenant_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"),
    ]


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "leads_leads",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_key", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("phone_key", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column(
            "status",
            _enum("leadstatus", "not_followed_up", "followed_up", "intention", "no_intention", "no_response",
                  "incorrect_data"),
            nullable=False,
        ),
        sa.Column("owner_user_id", ID, nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("joined_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("portal_status", _enum("portalstatus", "unregistered", "registered"), nullable=False),
        sa.Column("last_email_sent_at", WHEN, nullable=True),
        sa.Column("client_id", ID, nullable=True),
        sa.Column("converted_at", WHEN, nullable=True),
        sa.Column(
            "conversion",
            _enum("conversionaction", "registration_email", "portal_account", "bind", "auto_bind"),
            nullable=True,
        ),
        *_tenant("leads_leads"),
        sa.ForeignKeyConstraint(["owner_user_id"], ["users.id"], name="fk_leads_leads_owner_user_id_users", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name="fk_leads_leads_client_id_clients", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_leads_leads"),
        sa.UniqueConstraint("tenant_id", "client_id", name="uq_leads_leads_tenant_id_client_id"),
    )
    op.create_index("ix_leads_leads_tenant_id", "leads_leads", ["tenant_id"])
    op.create_index("ix_leads_leads_tenant_email_key", "leads_leads", ["tenant_id", "email_key"])
    op.create_index("ix_leads_leads_tenant_phone_key", "leads_leads", ["tenant_id", "phone_key"])
    op.create_index("ix_leads_leads_tenant_owner", "leads_leads", ["tenant_id", "owner_user_id"])

    op.create_table(
        "leads_participants",
        sa.Column("id", ID, nullable=False),
        sa.Column("lead_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        *_tenant("leads_participants"),
        sa.ForeignKeyConstraint(["lead_id"], ["leads_leads.id"], name="fk_leads_participants_lead_id_leads_leads", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_leads_participants_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_leads_participants"),
        sa.UniqueConstraint("tenant_id", "lead_id", "user_id", name="uq_leads_participants_tenant_id_lead_id_user_id"),
    )
    op.create_index("ix_leads_participants_tenant_id", "leads_participants", ["tenant_id"])
    op.create_index("ix_leads_participants_lead_id", "leads_participants", ["lead_id"])
    op.create_index("ix_leads_participants_user_id", "leads_participants", ["user_id"])

    op.create_table(
        "leads_tags",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("colour", sa.String(length=7), nullable=False),
        *_tenant("leads_tags"),
        sa.PrimaryKeyConstraint("id", name="pk_leads_tags"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_leads_tags_tenant_id_name"),
    )
    op.create_index("ix_leads_tags_tenant_id", "leads_tags", ["tenant_id"])

    op.create_table(
        "leads_taggings",
        sa.Column("id", ID, nullable=False),
        sa.Column("lead_id", ID, nullable=False),
        sa.Column("tag_id", ID, nullable=False),
        *_tenant("leads_taggings"),
        sa.ForeignKeyConstraint(["lead_id"], ["leads_leads.id"], name="fk_leads_taggings_lead_id_leads_leads", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["leads_tags.id"], name="fk_leads_taggings_tag_id_leads_tags", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_leads_taggings"),
        sa.UniqueConstraint("tenant_id", "lead_id", "tag_id", name="uq_leads_taggings_tenant_id_lead_id_tag_id"),
    )
    op.create_index("ix_leads_taggings_tenant_id", "leads_taggings", ["tenant_id"])
    op.create_index("ix_leads_taggings_lead_id", "leads_taggings", ["lead_id"])
    op.create_index("ix_leads_taggings_tag_id", "leads_taggings", ["tag_id"])

    op.create_table(
        "leads_activities",
        sa.Column("id", ID, nullable=False),
        sa.Column("lead_id", ID, nullable=False),
        sa.Column(
            "kind",
            _enum("activitykind", "created", "imported", "note", "call", "email", "meeting", "status", "owner",
                  "registration_email", "converted"),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        *_tenant("leads_activities"),
        sa.ForeignKeyConstraint(["lead_id"], ["leads_leads.id"], name="fk_leads_activities_lead_id_leads_leads", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_leads_activities"),
    )
    op.create_index("ix_leads_activities_tenant_id", "leads_activities", ["tenant_id"])
    op.create_index("ix_leads_activities_lead", "leads_activities", ["tenant_id", "lead_id", "id"])

    op.create_table(
        "leads_action_keys",
        sa.Column("id", ID, nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("lead_id", ID, nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        *_tenant("leads_action_keys"),
        sa.ForeignKeyConstraint(["lead_id"], ["leads_leads.id"], name="fk_leads_action_keys_lead_id_leads_leads", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_leads_action_keys"),
        sa.UniqueConstraint("tenant_id", "key", name="uq_leads_action_keys_tenant_id_key"),
    )
    op.create_index("ix_leads_action_keys_tenant_id", "leads_action_keys", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("leads_action_keys")
    op.drop_table("leads_activities")
    op.drop_table("leads_taggings")
    op.drop_table("leads_tags")
    op.drop_table("leads_participants")
    op.drop_table("leads_leads")
