"""Statuses, each client's standing (status, lock, floor) and the append-only history of changes."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.sdk import Base, IdType, TenantOwned, UTCDateTime, enum_type, utcnow


class Cause(enum.StrEnum):
    """Why a client's status changed (the history's ``cause``)."""

    RULE = "rule"  # the rules reached a higher status
    DEMOTION = "demotion"  # the rules no longer hold the status (automatic demotion)
    MANUAL = "manual"  # staff assigned a status once
    LOCK = "lock"  # staff locked a status (or lifted a lock)
    FLOOR = "floor"  # staff set a minimum status (or lifted it)
    EXPIRY = "expiry"  # a lock or a floor ran out


class Status(TenantOwned, Base):
    """One level of the broker's ladder. ``position`` orders them (0 is the lowest: every new
    client's status); ``criteria`` is the rule tree that reaches it (None: by hand only)."""

    __tablename__ = "status_system_statuses"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)
    caption: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")  # the client's "status details"
    colour: Mapped[str] = mapped_column(String(7), default="#6b7280")
    icon: Mapped[str] = mapped_column(String(20), default="star")
    visible_to_clients: Mapped[bool] = mapped_column(default=True)
    grants: Mapped[str] = mapped_column(String(500), default="")  # what the status unlocks, in words
    group_id: Mapped[int | None] = mapped_column(ForeignKey("client_groups.id", ondelete="SET NULL"))
    criteria: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Standing(TenantOwned, Base):
    """A client's status and what staff set for them. A client without a row holds the lowest
    status with no lock and no floor: a million new clients cost no rows."""

    __tablename__ = "status_system_standings"
    __audited__ = False  # the history records every change, with its cause and actor
    __table_args__ = (UniqueConstraint("tenant_id", "client_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    status_id: Mapped[int | None] = mapped_column(
        ForeignKey("status_system_statuses.id", ondelete="SET NULL")
    )
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the grace period runs from it
    lock_status_id: Mapped[int | None] = mapped_column(
        ForeignKey("status_system_statuses.id", ondelete="SET NULL")
    )
    lock_reason: Mapped[str] = mapped_column(String(500), default="")
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    floor_status_id: Mapped[int | None] = mapped_column(
        ForeignKey("status_system_statuses.id", ondelete="SET NULL")
    )
    floor_reason: Mapped[str] = mapped_column(String(500), default="")
    floor_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(200), default="")  # who set the lock or floor
    # When the client was told their status is at risk (cleared when it no longer is): told once.
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=0)


class HistoryEntry(TenantOwned, Base):
    """One real change of a client's status, never updated or deleted. Names are kept as they
    were, so the history reads the same after a status is renamed or deleted."""

    __tablename__ = "status_system_history"
    __audited__ = False
    __table_args__ = (
        Index("ix_status_system_history_client", "tenant_id", "client_id", "id"),
        Index("ix_status_system_history_time", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    previous_status_id: Mapped[int | None] = mapped_column(
        ForeignKey("status_system_statuses.id", ondelete="SET NULL")
    )
    previous_name: Mapped[str | None] = mapped_column(String(100))
    status_id: Mapped[int | None] = mapped_column(
        ForeignKey("status_system_statuses.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(100))
    direction: Mapped[str] = mapped_column(String(10))  # up, down, same_level
    cause: Mapped[Cause] = mapped_column(enum_type(Cause))
    actor: Mapped[str] = mapped_column(String(200))  # "system", "user:<email>", "plugin:<name>"
    reason: Mapped[str] = mapped_column(String(500), default="")
    evaluation: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the checklist that decided it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
