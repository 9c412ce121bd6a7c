"""clients.phone_e164: the number as duplicate checks compare it (E.164), indexed per tenant

Revision ID: core_0007
Revises: core_0006
Create Date: 2026-12-06 20:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.crm.phones import normalize_phone

revision: str = 'core_0007'
down_revision: str | Sequence[str] | None = 'core_0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


# Plain ALTER TABLE, not a batch: on SQLite a batch copies the table (see core_0006).
def upgrade() -> None:
    op.add_column('clients', sa.Column('phone_e164', sa.String(length=20), nullable=True))
    op.create_index('ix_clients_tenant_phone_e164', 'clients', ['tenant_id', 'phone_e164'])
    connection = op.get_bind()
    last = 0
    while True:  # existing numbers, a batch at a time, read as the ORM now writes them
        rows = connection.execute(
            sa.text(
                "SELECT id, phone, country FROM clients WHERE phone IS NOT NULL AND id > :last "
                "ORDER BY id LIMIT :batch"
            ),
            {"last": last, "batch": BATCH},
        ).all()
        if not rows:
            break
        updates = [
            {"id": row.id, "e164": e164}
            for row in rows
            if (e164 := normalize_phone(row.phone, row.country)) is not None
        ]
        if updates:
            connection.execute(sa.text("UPDATE clients SET phone_e164 = :e164 WHERE id = :id"), updates)
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index('ix_clients_tenant_phone_e164', table_name='clients')
    op.drop_column('clients', 'phone_e164')
