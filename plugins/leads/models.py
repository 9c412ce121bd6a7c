"""Leads, the people who work them, their tags, their timeline, and conversion's bookkeeping."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.sdk import Base, IdType, TenantOwned, UTCDateTime, enum_type, utcnow


class LeadStatus(enum.StrEnum):
    """Where the work on a lead stands (the vendor's six)."""

    NOT_FOLLOWED_UP = "not_followed_up"
    FOLLOWED_UP = "followed_up"
    INTENTION = "intention"
    NO_INTENTION = "no_intention"
    NO_RESPONSE = "no_response"
    INCORRECT_DATA = "incorrect_data"


class PortalStatus(enum.StrEnum):
    UNREGISTERED = "unregistered"
    REGISTERED = "registered"  # converted: bound to the client it became, read-only since


class ConversionAction(enum.StrEnum):
    REGISTRATION_EMAIL = "registration_email"  # the lead registered through its e-mailed link
    PORTAL_ACCOUNT = "portal_account"  # staff opened a client portal account for it
    BIND = "bind"  # staff bound it to an existing client
    AUTO_BIND = "auto_bind"  # a client registered by other means with the lead's e-mail address


class Lead(TenantOwned, Base):
    """A prospect. ``email_key`` and ``phone_key`` are the normalized e-mail and E.164 number the
    duplicate checks compare (never the name). Once Registered, ``client_id`` points at the client
    it became (one lead per client: a constraint) and its conversion fields are read-only."""

    __tablename__ = "leads_leads"
    __table_args__ = (
        UniqueConstraint("tenant_id", "client_id"),
        Index("ix_leads_leads_tenant_email_key", "tenant_id", "email_key"),
        Index("ix_leads_leads_tenant_phone_key", "tenant_id", "phone_key"),
        Index("ix_leads_leads_tenant_owner", "tenant_id", "owner_user_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    email_key: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    phone_key: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(8), default="en")
    source: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[LeadStatus] = mapped_column(enum_type(LeadStatus), default=LeadStatus.NOT_FOLLOWED_UP)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    comment: Mapped[str] = mapped_column(Text, default="")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # set once, by the system
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    portal_status: Mapped[PortalStatus] = mapped_column(
        enum_type(PortalStatus), default=PortalStatus.UNREGISTERED
    )
    last_email_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    conversion: Mapped[ConversionAction | None] = mapped_column(enum_type(ConversionAction))


class Participant(TenantOwned, Base):
    """A back-office user working a lead besides its owner (they see it under "own" scope too)."""

    __tablename__ = "leads_participants"
    __table_args__ = (UniqueConstraint("tenant_id", "lead_id", "user_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads_leads.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class Tag(TenantOwned, Base):
    """A broker's own label for leads ("VIP event 2026")."""

    __tablename__ = "leads_tags"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    colour: Mapped[str] = mapped_column(String(7), default="#6b7280")


class Tagging(TenantOwned, Base):
    __tablename__ = "leads_taggings"
    __table_args__ = (UniqueConstraint("tenant_id", "lead_id", "tag_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads_leads.id", ondelete="CASCADE"), index=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("leads_tags.id", ondelete="CASCADE"), index=True)


class ActivityKind(enum.StrEnum):
    CREATED = "created"
    IMPORTED = "imported"
    NOTE = "note"
    CALL = "call"
    EMAIL = "email"  # an e-mail staff sent or logged
    MEETING = "meeting"
    STATUS = "status"  # the status changed
    OWNER = "owner"  # the owner changed
    REGISTRATION_EMAIL = "registration_email"  # the registration e-mail was sent
    CONVERTED = "converted"


# Kinds staff may write themselves; the others are the module's record of what happened.
STAFF_KINDS = (ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING)


class Activity(TenantOwned, Base):
    """One entry of a lead's timeline, never changed."""

    __tablename__ = "leads_activities"
    __audited__ = False  # the timeline is the record
    __table_args__ = (Index("ix_leads_activities_lead", "tenant_id", "lead_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads_leads.id", ondelete="CASCADE"))
    kind: Mapped[ActivityKind] = mapped_column(enum_type(ActivityKind))
    text: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActionKey(TenantOwned, Base):
    """A conversion action's idempotency key: the same key again answers what the first did."""

    __tablename__ = "leads_action_keys"
    __audited__ = False
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads_leads.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportState(enum.StrEnum):
    CHECKED = "checked"  # read and checked: nothing written yet
    IMPORTING = "importing"  # being written, step by step (``next_row`` says how far)
    DONE = "done"


class ImportFile(TenantOwned, Base):
    """A CSV file imported from the page. Checked once whole; then written step by step, each
    step the next rows in a short transaction of its own: the page shows how far it got, other
    work of the broker never waits long, and an interrupted import resumes where it stopped. The
    file's text is dropped once it is imported."""

    __tablename__ = "leads_imports"
    __audited__ = False  # its leads are the record

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    file_name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(100), default="import")
    rows: Mapped[int] = mapped_column(default=0)
    valid: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)
    state: Mapped[ImportState] = mapped_column(enum_type(ImportState), default=ImportState.CHECKED)
    next_row: Mapped[int] = mapped_column(default=0)  # rows done
    imported: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
