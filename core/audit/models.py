from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.access.models import PrincipalKind
from core.db.base import Base, IdType, TenantOwned, utcnow
from core.db.types import UTCDateTime, enum_type


class OperationLog(TenantOwned, Base):
    __tablename__ = "operation_log"
    __audited__ = False
    __table_args__ = (
        Index("ix_operation_log_tenant_entity", "tenant_id", "entity", "entity_id"),
        Index("ix_operation_log_tenant_client", "tenant_id", "client_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))  # a PrincipalKind, or "system"
    actor_id: Mapped[int | None] = mapped_column(IdType)
    actor_label: Mapped[str] = mapped_column(String(254))
    operation: Mapped[str] = mapped_column(String(200))  # e.g. "POST /api/v1/deposits/{id}/approve"
    entity: Mapped[str] = mapped_column(String(64))  # table name
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # create | update | delete | a service verb
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The client the entry is about (None: about no client); data permissions filter on it. Not a
    # foreign key: the log outlives the client.
    client_id: Mapped[int | None] = mapped_column(IdType)


class LoginEvent(TenantOwned, Base):
    """The tenant's client and admin login log: every attempt, successful or not."""

    __tablename__ = "login_events"
    __audited__ = False

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[PrincipalKind] = mapped_column(enum_type(PrincipalKind))
    subject_id: Mapped[int | None] = mapped_column(IdType)
    email: Mapped[str] = mapped_column(String(254))
    success: Mapped[bool]
    reason: Mapped[str] = mapped_column(String(64), default="")
    ip: Mapped[str | None] = mapped_column(String(64))
