"""Request and response bodies of prop challenges and orders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from core.crm.models import (
    PropOrderStatus,
)
from core.schemas import (
    CurrencyCode,
    Id,
    Input,
    MoneyOut,
    MoneyOutput,
    Name,
    NonNegativeAmount,
    Output,
    Patch,
    ShortText,
)


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
