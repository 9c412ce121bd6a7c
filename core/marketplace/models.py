from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, IdType, TenantOwned, utcnow
from core.db.types import UTCDateTime, enum_type


class PluginStatus(enum.StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    UNINSTALLED = "uninstalled"  # data kept for a reinstall until purged


class TenantPlugin(TenantOwned, Base):
    """A plugin's state for one tenant."""

    __tablename__ = "tenant_plugins"
    # Settings may hold secrets: marketplace actions log themselves, with secrets masked.
    __audited__ = False
    __table_args__ = (UniqueConstraint("tenant_id", "plugin"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    plugin: Mapped[str] = mapped_column(String(40))
    status: Mapped[PluginStatus] = mapped_column(enum_type(PluginStatus))
    version: Mapped[str] = mapped_column(String(40))  # the version installed
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    installed_by: Mapped[str] = mapped_column(String(254))
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    licence_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # paid plugins only
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
