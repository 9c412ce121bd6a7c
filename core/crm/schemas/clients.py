"""Request and response bodies of clients and their referral tree."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from core.crm.models import (
    ClientType,
    KycStatus,
)
from core.schemas import (
    CountryCode,
    Email,
    Id,
    Input,
    LanguageCode,
    Name,
    Output,
    Patch,
    Phone,
)


class ClientIn(Input):
    client_type: ClientType
    name: Name
    email: Email
    phone: Phone | None = None
    country: CountryCode | None = None
    language: LanguageCode = "en"
    group_id: Id | None = None
    rank_id: Id | None = None
    tier_id: Id | None = Field(default=None, description="Defaults to the rank's lowest tier")
    referrer_id: Id | None = None
    assigned_user_id: Id | None = Field(default=None, description="Defaults to the creating user")
    team_id: Id | None = Field(default=None, description="Defaults to the assigned user's team")
    portal_password: str | None = Field(default=None, min_length=1, max_length=128)


class ClientUpdate(Patch):
    clearable = frozenset(
        {"phone", "country", "group_id", "rank_id", "tier_id", "referrer_id", "assigned_user_id", "team_id"}
    )

    client_type: ClientType | None = None
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    country: CountryCode | None = None
    language: LanguageCode | None = None
    group_id: Id | None = None
    rank_id: Id | None = None
    tier_id: Id | None = None
    referrer_id: Id | None = None
    assigned_user_id: Id | None = None
    team_id: Id | None = None
    suspended: bool | None = None


class ClientOut(Output):
    id: int
    client_type: ClientType
    name: str
    email: str
    phone: str | None
    country: str | None
    language: str
    group_id: int | None
    rank_id: int | None
    tier_id: int | None
    referrer_id: int | None
    assigned_user_id: int | None
    team_id: int | None
    promotion_link_id: int | None
    kyc_status: KycStatus
    suspended: bool
    created_at: datetime
    updated_at: datetime


class DownlineOut(Output):
    id: int
    name: str
    email: str
    client_type: ClientType
    referrer_id: int | None
    depth: int = Field(description="1 for a direct downline, 2 for its downlines, and so on")


CLIENT_CSV_COLUMNS = list(ClientOut.model_fields)
