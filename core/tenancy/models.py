from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, IdType, utcnow
from core.db.types import UTCDateTime


class Tenant(Base):
    """A broker. Not tenant-owned itself: only platform operators list or create tenants."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    base_currencies: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on every marketplace change of this tenant: other processes watch it to refresh
    # their cache of the tenant's enabled plugins.
    marketplace_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # Bumped by every transaction that changes what a signed-in principal of this tenant holds:
    # each request compares it with the generation its cached principal was built at.
    access_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
