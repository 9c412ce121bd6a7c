"""Request and response bodies of the CRM records."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator

from core.crm.models import (
    ClientType,
    DepositKind,
    DepositStatus,
    KycDocumentStatus,
    KycDocumentType,
    KycStatus,
    PropOrderStatus,
    TradingPlatform,
)
from core.schemas import (
    CountryCode,
    CurrencyCode,
    Email,
    Id,
    Input,
    LanguageCode,
    MoneyOut,
    MoneyOutput,
    Name,
    NonNegativeAmount,
    Output,
    Patch,
    Phone,
    PositiveAmount,
    ShortText,
)

# --- client groups -----------------------------------------------------------------------------


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


# --- ranks and tiers ---------------------------------------------------------------------------


class TierIn(Input):
    name: str = Field(min_length=1, max_length=100)


class RankIn(Input):
    name: str = Field(min_length=1, max_length=100)
    sort_order: int = Field(default=0, ge=0, le=10_000)
    tiers: list[TierIn] = Field(min_length=1, max_length=50, description="Lowest tier first")

    @field_validator("tiers")
    @classmethod
    def _distinct(cls, tiers: list[TierIn]) -> list[TierIn]:
        names = [t.name.lower() for t in tiers]
        if len(set(names)) != len(names):
            raise ValueError("tier names must be distinct")
        return tiers


class RankUpdate(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    sort_order: int | None = Field(default=None, ge=0, le=10_000)


class TierOut(Output):
    id: int
    name: str
    level: int


class RankOut(Output):
    id: int
    name: str
    sort_order: int
    tiers: list[TierOut]


# --- clients -----------------------------------------------------------------------------------


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


# --- deposits ----------------------------------------------------------------------------------


class ManualDepositIn(Input):
    """A deposit entered by staff on a client's behalf (kind "manual")."""

    client_id: Id
    amount: PositiveAmount
    currency: CurrencyCode
    note: ShortText = ""


class DepositRequestIn(Input):
    """A deposit request made by the client in the portal (kind "request")."""

    amount: PositiveAmount
    currency: CurrencyCode
    note: ShortText = ""


class DepositUpdate(Patch):
    """Corrections to a deposit that is still pending."""

    amount: PositiveAmount | None = None
    currency: CurrencyCode | None = None
    note: ShortText | None = None


class DepositDecisionIn(Input):
    note: ShortText = ""


class DepositOut(MoneyOutput):
    id: int
    client_id: int
    amount: MoneyOut
    currency: str
    kind: DepositKind
    status: DepositStatus
    note: str
    created_by_user_id: int | None
    decided_by_user_id: int | None
    decided_at: datetime | None
    decision_note: str
    created_at: datetime


# --- trading accounts --------------------------------------------------------------------------


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


# --- KYC documents -----------------------------------------------------------------------------


class KycDocumentIn(Input):
    """Staff upload on a client's behalf. (Files go to object storage; the CRM keeps the name.)"""

    client_id: Id
    doc_type: KycDocumentType
    file_name: str = Field(min_length=1, max_length=255)


class KycDocumentSubmit(Input):
    """A client's own submission in the portal."""

    doc_type: KycDocumentType
    file_name: str = Field(min_length=1, max_length=255)


class KycReviewIn(Input):
    note: ShortText = ""


class KycDocumentOut(Output):
    id: int
    client_id: int
    doc_type: KycDocumentType
    file_name: str
    status: KycDocumentStatus
    reviewed_by_user_id: int | None
    reviewed_at: datetime | None
    review_note: str
    created_at: datetime


# --- promotion links ---------------------------------------------------------------------------

PromotionCode = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


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


# --- prop challenges and orders ----------------------------------------------------------------


class PropChallengeIn(Input):
    name: Name
    description: str = Field(default="", max_length=5000)
    fee: NonNegativeAmount
    currency: CurrencyCode
    active: bool = True


class PropChallengeUpdate(Patch):
    name: Name | None = None
    description: str | None = Field(default=None, max_length=5000)
    fee: NonNegativeAmount | None = None
    currency: CurrencyCode | None = None
    active: bool | None = None


class PropChallengeOut(MoneyOutput):
    money_fields = ("fee",)

    id: int
    name: str
    description: str
    fee: MoneyOut
    currency: str
    active: bool
    created_at: datetime


class PriceAdjustmentOut(Output):
    source: str = Field(description="'core' or the module that adjusted the price")
    code: str
    label: str
    amount: str = Field(description="Signed change to the price, e.g. '-10.00'")


def _option_value(value: Any) -> Any:
    if (
        value is None
        or isinstance(value, str | bool)
        or (isinstance(value, int) and not isinstance(value, bool))
    ):
        return value
    raise ValueError("must be a string, a whole number, true, false or null (send decimals as strings)")


OptionValue = Annotated[Any, AfterValidator(_option_value)]


class OrderIn(Input):
    """A client's checkout. ``options`` carries choices that pricing extensions read (for example
    ``{"coupon_id": 12}``); an option no installed module understands is refused."""

    challenge_id: Id
    options: dict[str, OptionValue] = Field(default_factory=dict, max_length=10)


class QuoteOut(MoneyOutput):
    money_fields = ("list_price", "final_price")

    challenge_id: int
    currency: str
    list_price: MoneyOut
    final_price: MoneyOut
    adjustments: list[PriceAdjustmentOut]


class ChallengeOfferOut(MoneyOutput):
    """A challenge as offered to one client: its fee and what this client would pay."""

    money_fields = ("fee", "price")

    id: int
    name: str
    description: str
    currency: str
    fee: MoneyOut
    price: MoneyOut
    adjustments: list[PriceAdjustmentOut]


class OrderStatusIn(Input):
    reason: ShortText = ""


class PropOrderOut(MoneyOutput):
    money_fields = ("list_price", "final_price")

    id: int
    client_id: int
    challenge_id: int
    list_price: MoneyOut
    final_price: MoneyOut
    currency: str
    adjustments: list[PriceAdjustmentOut]
    pricing_options: dict[str, Any]
    status: PropOrderStatus
    status_changed_at: datetime | None
    failure_reason: str
    created_at: datetime


# --- client-portal registration and profile ----------------------------------------------------


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
