"""Request and response bodies of client groups."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from core.schemas import (
    Input,
    Output,
    Patch,
    ShortText,
)


class ClientGroupIn(Input):
    name: str = Field(min_length=1, max_length=100)
    description: ShortText = ""


class ClientGroupUpdate(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: ShortText | None = None


class ClientGroupOut(Output):
    id: int
    name: str
    description: str
    created_at: datetime


class SegmentOut(Output):
    """A segment a module offers (``crm_client_segments``): target it by ``key``."""

    key: str = Field(description="`<module>:<key>`")
    plugin: str
    label: str
    description: str
