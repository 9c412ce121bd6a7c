"""platform mail: outbox messages that belong to no tenant (e-mail to platform operators)

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-12-03 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'core_0005'
down_revision: str | Sequence[str] | None = 'core_0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


# On SQLite the batch is a table copy: safe here, no table refers to email_messages, so dropping
# the old copy cascades nowhere.
def upgrade() -> None:
    with op.batch_alter_table('email_messages', schema=None) as batch_op:
        batch_op.alter_column('tenant_id', existing_type=ID, nullable=True)


def downgrade() -> None:
    # Every message belonged to a tenant before: platform mail has no place to go back to.
    op.execute(sa.text('DELETE FROM email_messages WHERE tenant_id IS NULL'))
    with op.batch_alter_table('email_messages', schema=None) as batch_op:
        batch_op.alter_column('tenant_id', existing_type=ID, nullable=False)
