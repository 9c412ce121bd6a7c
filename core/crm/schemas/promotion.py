"""Request and response bodies of promotion links."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from core.crm.models import (
    ClientType,
)
from core.crm.schemas.common import PromotionCode
from core.schemas import (
    Id,
    Input,
    Name,
    Output,
    Patch,
)


class PromotionLinkIn(Input):
    name: Name
    code: PromotionCode | None = Field(default=None, description="Generated when omitted")
    client_type: ClientType = ClientType.TRADER
    referrer_id: Id | None = None
    enabled: bool = True


class PromotionLinkUpdate(Patch):
    clearable = frozenset({"referrer_id"})

    name: Name | None = None
    client_type: ClientType | None = None
    referrer_id: Id | None = None
    enabled: bool | None = None


class PromotionLinkOut(Output):
    id: int
    code: str
    name: str
    client_type: ClientType
    referrer_id: int | None
    enabled: bool
    created_at: datetime
    registrations: int = 0
