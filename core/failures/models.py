from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, IdType, TenantOwned, utcnow
from core.db.types import UTCDateTime


class PluginFailure(TenantOwned, Base):
    """A plugin's event handler raised: what it was given, and what went wrong."""

    __tablename__ = "plugin_failures"
    __audited__ = False
    __table_args__ = (Index("ix_plugin_failures_open", "tenant_id", "plugin", "resolved", "at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    plugin: Mapped[str] = mapped_column(String(40))
    hook: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str] = mapped_column(Text, default="")
    resolved: Mapped[bool] = mapped_column(default=False)  # replayed successfully
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replay_error: Mapped[str] = mapped_column(Text, default="")
