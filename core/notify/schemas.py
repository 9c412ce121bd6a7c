from __future__ import annotations

from datetime import datetime

from pydantic import EmailStr, Field

from core.notify.models import EmailStatus
from core.schemas import Input, Output


class Audience(Input):
    """Recipients: individual clients and/or whole client groups (resolved when sent; a client
    in two chosen groups receives one message)."""

    client_ids: list[int] = Field(default_factory=list, max_length=10_000)
    group_ids: list[int] = Field(default_factory=list, max_length=100)


class PopupIn(Input):
    recipients: Audience
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10_000)


class PopupOut(Output):
    id: int
    client_id: int
    title: str
    body: str
    source: str
    data: str | None
    read_at: datetime | None
    created_at: datetime


class SentOut(Output):
    recipients: int


class EmailIn(Input):
    recipients: Audience
    subject: str = Field(min_length=1, max_length=300)
    body_text: str = Field(min_length=1, max_length=100_000)
    body_html: str | None = Field(default=None, max_length=200_000)


class DirectEmailIn(Input):
    to_address: EmailStr
    subject: str = Field(min_length=1, max_length=300)
    body_text: str = Field(min_length=1, max_length=100_000)
    body_html: str | None = Field(default=None, max_length=200_000)


class EmailOut(Output):
    id: int
    client_id: int | None
    to_address: str
    subject: str
    status: EmailStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str
    sent_at: datetime | None
    message_id: str
    created_at: datetime


class NotificationCountOut(Output):
    unread_popups: int
    by_module: dict[str, int] = Field(default_factory=dict, description="Counts contributed by modules")
