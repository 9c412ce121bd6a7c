"""Request and response bodies of client-portal registration and profile."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from core.access.schemas import AccountTokenText
from core.crm.models import (
    ClientType,
    KycStatus,
)
from core.crm.schemas.common import PromotionCode
from core.schemas import (
    CountryCode,
    Email,
    Input,
    LanguageCode,
    Name,
    Output,
    Patch,
    Phone,
)


class RegistrationIn(Input):
    tenant: str = Field(min_length=1, max_length=63, description="The company's slug")
    name: Name
    email: Email
    password: str = Field(min_length=1, max_length=128)
    phone: Phone | None = None
    country: CountryCode | None = None
    language: LanguageCode = "en"
    promotion_code: PromotionCode | None = Field(default=None, description="The promotion link's code")


class PortalProfileOut(Output):
    id: int
    client_type: ClientType
    name: str
    email: str
    phone: str | None
    country: str | None
    language: str
    kyc_status: KycStatus
    referrer_id: int | None
    created_at: datetime


class PortalProfileUpdate(Patch):
    clearable = frozenset({"phone"})

    name: Name | None = None
    phone: Phone | None = None
    language: LanguageCode | None = None


class RegisteredOut(Output):
    client: PortalProfileOut
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class InvitationOpenIn(Input):
    token: AccountTokenText


class InvitationOut(Output):
    """What an invitation link opens: the company, the address it was sent to, and the account."""

    company: str
    email: str
    name: str
    client_type: ClientType


class InvitationAcceptIn(Input):
    token: AccountTokenText
    password: str = Field(min_length=1, max_length=128)
    name: Name | None = Field(default=None, description="Defaults to the name the invitation carries")
    phone: Phone | None = None
