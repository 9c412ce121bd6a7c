from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from core.db.base import Base, IdType, TenantOwned, Timestamped
from core.db.types import UTCDateTime, enum_type


class JsonObjectText(TypeDecorator[dict[str, Any]]):
    """A JSON object kept in a TEXT column (the column predates it, so no migration): written with
    ``json.dumps``, read back as a dict. Text that is not a JSON object (written before, by a
    module that stored a plain string) reads as ``{"value": text}``, never as an error."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise TypeError(f"pop-up data must be a dict (a JSON object), not {type(value).__name__}")
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    def process_result_value(self, value: Any, dialect: Dialect) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            data = json.loads(value)
        except ValueError:
            return {"value": value}
        return data if isinstance(data, dict) else {"value": data}


class Popup(TenantOwned, Timestamped, Base):
    """A pop-up the client sees at next login until they dismiss it."""

    __tablename__ = "popups"
    __table_args__ = (Index("ix_popups_tenant_client_read", "tenant_id", "client_id", "read_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64), default="core")  # "core" or a module name
    # Optional payload for a module's portal widget (e.g. a coupon design id): a JSON object.
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonObjectText)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for its next attempt
    SENDING = "sending"  # claimed by a sender; its SMTP conversation may be under way
    SENT = "sent"
    FAILED = "failed"  # permanent failure or out of attempts
    UNCERTAIN = "uncertain"  # the sender died mid-send; re-sending could duplicate it


class EmailMessage(TenantOwned, Timestamped, Base):
    """A message in the outbox: a tenant's, or platform mail (``tenant_id`` NULL: e-mail to platform
    operators, written only through ``core.db.tenant_filter.add_platform_row``). Tenant sessions never
    see platform mail; the delivery worker, in all-tenants sessions, sends both alike."""

    __tablename__ = "email_messages"
    __audited__ = False  # the outbox is its own log: status, attempts and errors per message
    __platform_rows__ = True
    __table_args__ = (Index("ix_email_messages_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    # Nullable here only (NULL: platform mail); every other tenant-owned table keeps NOT NULL.
    tenant_id: Mapped[int | None] = mapped_column(  # type: ignore[assignment]
        IdType, ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=True
    )
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[EmailStatus] = mapped_column(enum_type(EmailStatus), default=EmailStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
