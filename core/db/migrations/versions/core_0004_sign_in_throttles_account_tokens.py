"""sign-in throttling and e-mailed account tokens replace the per-account lockout

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-12-02 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db.types


revision: str = 'core_0004'
down_revision: str | Sequence[str] | None = 'core_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
LOCKOUT_TABLES = ('platform_operators', 'users', 'clients')


def upgrade() -> None:
    op.create_table('sign_in_throttles',
    sa.Column('id', ID, nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.Enum('pair', 'account', 'address', 'mail', name='throttlescope', native_enum=False, length=32), nullable=False),
    sa.Column('account_key', sa.String(length=64), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('blocks', sa.Integer(), nullable=False),
    sa.Column('blocked_until', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_in_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_throttles')),
    sa.UniqueConstraint('key', name=op.f('uq_sign_in_throttles_key'))
    )
    with op.batch_alter_table('sign_in_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_throttles_account_key'), ['account_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_throttles_last_failure_at'), ['last_failure_at'], unique=False)

    op.create_table('account_tokens',
    sa.Column('id', ID, nullable=False),
    sa.Column('purpose', sa.Enum('registration', 'password_reset', name='accounttokenpurpose', native_enum=False, length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.Enum('staff', 'api_key', 'client', 'operator', name='principalkind', native_enum=False, length=32), nullable=False),
    sa.Column('tenant_id', ID, nullable=True),
    sa.Column('subject_id', ID, nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('created_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_account_tokens_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_account_tokens_token_hash'))
    )
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_tokens_tenant_id'), ['tenant_id'], unique=False)

    # The per-account lockout is gone: throttling is keyed by e-mail and address instead. A plain
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a batch table copy: copying `clients` would
    # drop the old table, and with foreign keys on that cascades into every row referring to it.
    for table in LOCKOUT_TABLES:
        op.drop_column(table, 'locked_until')
        op.drop_column(table, 'failed_logins')


def downgrade() -> None:
    for table in LOCKOUT_TABLES:
        op.add_column(table, sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        op.add_column(table, sa.Column('locked_until', core.db.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_tokens_tenant_id'))
    op.drop_table('account_tokens')
    with op.batch_alter_table('sign_in_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_throttles_last_failure_at'))
        batch_op.drop_index(batch_op.f('ix_sign_in_throttles_account_key'))
    op.drop_table('sign_in_throttles')
