from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.sdk import Base, IdType, TenantOwned, UTCDateTime, utcnow


class Note(TenantOwned, Base):
    __tablename__ = "client_notes_notes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(254))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Digest(TenantOwned, Base):
    __tablename__ = "client_notes_digests"
    __table_args__ = (UniqueConstraint("tenant_id", "week_start"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    week_start: Mapped[date]
    notes: Mapped[int]
