"""operation log: the client each entry is about, for data permissions

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-12-01 23:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'core_0003'
down_revision: str | Sequence[str] | None = 'core_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('operation_log', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True)
        )
        batch_op.create_index('ix_operation_log_tenant_client', ['tenant_id', 'client_id'], unique=False)
    _backfill_client_ids()


# Entry ids and JSON values that are a positive 64-bit integer, checked before any CAST (which would
# fail on PostgreSQL for anything else).
_DIGITS = {
    'postgresql': "{value} ~ '^[0-9]{{1,18}}$'",
    'sqlite': "{value} <> '' AND {value} NOT GLOB '*[^0-9]*' AND length({value}) <= 18",
}
_JSON_CLIENT_ID = {
    'postgresql': "({column} ->> 'client_id')",
    'sqlite': "CAST(json_extract({column}, '$.client_id') AS TEXT)",
}


def _backfill_client_ids() -> None:
    """The client each existing entry is about, as the recorder now records it: an entry on a
    client is about that client; one whose values carry ``client_id`` (a client-owned row's
    creation or deletion, a tier-upgrade action) is about that client; an update of a client-owned
    row that still exists is about the row's client. Everything else stays about no client."""
    bind = op.get_bind()
    dialect = bind.dialect.name
    digits, extract = _DIGITS[dialect], _JSON_CLIENT_ID[dialect]
    op.execute(
        "UPDATE operation_log SET client_id = CAST(entity_id AS BIGINT) "
        f"WHERE entity = 'clients' AND client_id IS NULL AND {digits.format(value='entity_id')}"
    )
    for column in ('after', 'before'):
        value = extract.format(column=column)
        op.execute(
            f"UPDATE operation_log SET client_id = CAST({value} AS BIGINT) "
            f"WHERE client_id IS NULL AND {column} IS NOT NULL AND {digits.format(value=value)}"
        )
    inspector = sa.inspect(bind)
    for table in inspector.get_table_names():
        columns = {column['name'] for column in inspector.get_columns(table)}
        if table == 'operation_log' or not {'id', 'tenant_id', 'client_id'} <= columns:
            continue
        # The WHERE clause is checked before the SET expression: the CAST only sees digits.
        op.execute(
            f"UPDATE operation_log SET client_id = (SELECT owned.client_id FROM {table} AS owned "
            "WHERE owned.tenant_id = operation_log.tenant_id "
            "AND owned.id = CAST(operation_log.entity_id AS BIGINT)) "
            f"WHERE entity = '{table}' AND client_id IS NULL AND {digits.format(value='entity_id')}"
        )


def downgrade() -> None:
    with op.batch_alter_table('operation_log', schema=None) as batch_op:
        batch_op.drop_index('ix_operation_log_tenant_client')
        batch_op.drop_column('client_id')
