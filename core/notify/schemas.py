from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from core.notify.models import EmailStatus
from core.schemas import Email, Input, Output, id_list

Ids100 = id_list(100)
Ids10_000 = id_list(10_000)


class Audience(Input):
    """Recipients: individual clients and/or whole client groups (resolved when sent; a client
    in two chosen groups receives one message)."""

    client_ids: Ids10_000 = Field(default_factory=list)
    group_ids: Ids100 = Field(default_factory=list)


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
    data: dict[str, Any] | None = Field(description="A module's payload for its portal widget (an object)")
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
    to_address: Email
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
