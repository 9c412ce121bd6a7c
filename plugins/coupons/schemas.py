"""Request and response bodies of the coupons module."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, model_validator

from core.sdk import (
    AwareDatetime,
    CurrencyCode,
    Id,
    Input,
    ListQuery,
    MoneyOut,
    NonNegativeAmount,
    Output,
    Patch,
    PositiveAmount,
    display_amount,
    distinct_list,
    id_list,
)
from plugins.coupons.models import CouponStatus, DiscountMethod, DistributionMethod, UseCase

Ids100 = id_list(100)
Ids10_000 = id_list(10_000)
Ids500 = id_list(500)


Code = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]

# A segment another module offers, by its key: "<module>:<key>" (core.sdk.list_segments).
SegmentKey = Annotated[
    str, Field(min_length=3, max_length=100, pattern=r"^[a-z][a-z0-9_]{1,39}:[^:\s][^:]*$")
]


class TermsIn(Input):
    """The terms coupons and promo codes share (rules across fields: ``terms.check_terms``)."""

    discount_method: DiscountMethod
    discount_value: PositiveAmount = Field(description="An amount, or a percentage in (0, 100]")
    discount_currency: CurrencyCode | None = Field(default=None, description="Fixed amounts only")
    valid_from: AwareDatetime | None = Field(default=None, description="Omit both for unlimited validity")
    valid_until: AwareDatetime | None = None
    uses_per_client: int | None = Field(default=None, ge=1, le=1_000_000, description="Omit: unlimited")
    total_cap: int | None = Field(default=None, ge=1, le=100_000_000, description="Across all clients")
    minimum_fee: NonNegativeAmount | None = Field(
        default=None, description="Challenges cheaper do not qualify"
    )
    minimum_fee_currency: CurrencyCode | None = None
    challenge_ids: Ids500 | None = Field(default=None, description="Omit: every challenge")


class TermsUpdate(Patch):
    """A change of terms: the optional ones may be sent as null to remove them."""

    # The terms a discount can do without (those TermsIn leaves out by default).
    clearable = frozenset(name for name, field in TermsIn.model_fields.items() if not field.is_required())

    discount_method: DiscountMethod | None = None
    discount_value: PositiveAmount | None = None
    discount_currency: CurrencyCode | None = None
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    uses_per_client: int | None = Field(default=None, ge=1, le=1_000_000)
    total_cap: int | None = Field(default=None, ge=1, le=100_000_000)
    minimum_fee: NonNegativeAmount | None = None
    minimum_fee_currency: CurrencyCode | None = None
    challenge_ids: Ids500 | None = Field(default=None)


class CouponIn(TermsIn):
    name: str = Field(min_length=1, max_length=100)
    use_case: UseCase = UseCase.PROP_TRADING
    distribution_method: DistributionMethod
    promotion_link_ids: Ids100 = Field(default_factory=list)
    allow_with_promo_codes: bool = False


class CouponUpdate(TermsUpdate):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    distribution_method: DistributionMethod | None = None
    promotion_link_ids: Ids100 | None = Field(default=None)
    allow_with_promo_codes: bool | None = None


class TermsOut(Output):
    """Amounts with their currency's digits; percentages as entered (``12.5``)."""

    discount_method: DiscountMethod
    discount_value: MoneyOut
    discount_currency: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    uses_per_client: int | None
    total_cap: int | None
    redeemed: int
    minimum_fee: MoneyOut | None
    minimum_fee_currency: str | None
    challenge_ids: list[int] | None

    @model_validator(mode="after")
    def _display(self) -> Any:
        object.__setattr__(
            self, "discount_value", display_discount(self.discount_value, self.discount_currency)
        )
        if self.minimum_fee is not None and self.minimum_fee_currency:
            object.__setattr__(
                self, "minimum_fee", display_amount(self.minimum_fee, self.minimum_fee_currency)
            )
        return self


def display_discount(value: Decimal, currency: str | None) -> Decimal:
    if currency:
        return display_amount(value, currency)
    normalized = value.normalize()
    return normalized.quantize(Decimal(1)) if normalized == normalized.to_integral() else normalized


class CouponOut(TermsOut):
    id: int
    name: str
    use_case: UseCase
    distribution_method: DistributionMethod
    promotion_link_ids: list[int]
    allow_with_promo_codes: bool
    status: CouponStatus
    popup_title: str | None
    popup_text: str | None
    design_id: str | None
    created_at: datetime
    distributed_at: datetime | None
    revoked_at: datetime | None


class CouponQuery(ListQuery):
    status: CouponStatus | None = None
    distribution_method: DistributionMethod | None = None
    q: str | None = Field(default=None, max_length=100, description="Name contains")


class DistributeIn(Input):
    """Manual distribution names clients, client groups and/or segments other modules offer
    (resolved now; a client in two of them gets one coupon). Promotion-link coupons name none: new
    sign-ups receive them."""

    client_ids: Ids10_000 = Field(default_factory=list)
    group_ids: Ids100 = Field(default_factory=list)
    segments: distinct_list(SegmentKey, 20) = Field(  # type: ignore[valid-type]
        default_factory=list, description="Segment keys, `<module>:<key>` (`GET /api/v1/segments`)"
    )
    popup_title: str = Field(min_length=1, max_length=100)
    popup_text: str = Field(min_length=1, max_length=1000)
    design_id: str = Field(min_length=1, max_length=32)


class DistributedOut(Output):
    coupon: CouponOut
    recipients: int = Field(description="Clients who received it now (0 for promotion-link coupons)")


class DesignOut(Output):
    id: str
    name: str
    preview: dict[str, Any]


class PromoCodeIn(TermsIn):
    code: Code
    name: str = Field(min_length=1, max_length=100)
    allow_with_coupons: bool = False
    enabled: bool = True


class PromoCodeUpdate(TermsUpdate):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    allow_with_coupons: bool | None = None
    enabled: bool | None = None


class PromoCodeOut(TermsOut):
    id: int
    code: str
    name: str
    allow_with_coupons: bool
    enabled: bool
    created_at: datetime


class PromoQuery(ListQuery):
    enabled: bool | None = None
    q: str | None = Field(default=None, max_length=100, description="Code or name contains")


class CouponStatisticsOut(Output):
    coupon_id: int
    status: CouponStatus
    distribution_method: DistributionMethod
    clients_with_coupon: int
    total_cap: int | None = Field(description="Uses allowed across all clients; none: no cap")
    total_available: int | str | None = Field(
        description="Uses the coupon allows in all: clients with it times uses per client, at most the "
        'total cap; "unlimited"; for promotion links the total cap, or none'
    )
    remaining: int | str | None = Field(
        description="Uses that can still be taken: the clients' uses left, at most what the total cap "
        'leaves (which counts every client); "unlimited"; 0 once revoked or expired'
    )
    total_redeemed: int = Field(description="Uses of paid orders")
    reserved: int = Field(description="Uses held by orders not paid yet")


class PromoStatisticsOut(Output):
    promo_code_id: int
    code: str
    clients_who_used: int
    total_redeemed: int
    reserved: int
    total_cap: int | None
    remaining: int | None = Field(
        description="Uses the total cap leaves (every client counts); none: no cap; 0 while disabled "
        "or once expired"
    )


class HolderState(enum.StrEnum):
    UNUSED = "unused"
    PARTLY_USED = "partly_used"
    USED_UP = "used_up"
    EXPIRED = "expired"
    REVOKED = "revoked"


class HolderQuery(ListQuery):
    state: HolderState | None = None
    client_id: Id | None = None


class HolderOut(Output):
    client_id: int
    client_name: str
    client_email: str
    uses: int
    state: str = Field(description="unused, partly_used, used_up, expired or revoked")
    challenges: list[str] = Field(description="Prop challenges the coupon was used for (paid orders)")
    granted_at: datetime | None = None


class MyCouponOut(Output):
    id: int = Field(description="The coupon's id: send it as options.coupon_id at checkout")
    name: str
    discount_method: DiscountMethod
    discount_value: MoneyOut
    discount_currency: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    uses_left: int | None = Field(description="None: unlimited")
    valid: bool
    reason: str | None = Field(description="Why not usable: expired, not_started, used_up or revoked")
    design_id: str | None
    challenge_ids: list[int] | None

    @model_validator(mode="after")
    def _display(self) -> Any:
        object.__setattr__(
            self, "discount_value", display_discount(self.discount_value, self.discount_currency)
        )
        return self
