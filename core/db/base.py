"""Declarative base, naming conventions and the tenant-owned mixin."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.db.types import UTCDateTime

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit keys.
IdType = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TenantOwned:
    """Mixin for every row that belongs to one tenant.

    Sessions filter these rows to the session's tenant on every SELECT, UPDATE and DELETE and
    stamp ``tenant_id`` on insert (see ``core.db.tenant_filter``); code never writes that WHERE itself.
    Set ``__audited__ = False`` on a model whose writes do not belong in the operation log.
    """

    __audited__ = True

    tenant_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=False
    )


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
