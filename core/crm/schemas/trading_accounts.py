"""Request and response bodies of trading accounts."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from core.crm.models import (
    TradingPlatform,
)
from core.schemas import (
    CurrencyCode,
    Id,
    Input,
    Output,
    Patch,
)


class TradingAccountIn(Input):
    client_id: Id
    platform: TradingPlatform
    login: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    account_type: str = Field(min_length=1, max_length=64)
    currency: CurrencyCode
    leverage: int = Field(default=100, ge=1, le=5000)


class TradingAccountUpdate(Patch):
    account_type: str | None = Field(default=None, min_length=1, max_length=64)
    leverage: int | None = Field(default=None, ge=1, le=5000)
    archived: bool | None = None


class TradingAccountOut(Output):
    id: int
    client_id: int
    platform: TradingPlatform
    login: str
    account_type: str
    currency: str
    leverage: int
    archived: bool
    created_at: datetime
