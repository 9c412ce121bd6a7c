"""Pricing of prop-challenge orders: the one place a price is computed.

``price_order`` starts from the challenge's fee and lets extensions adjust it (the next step is
where marketplace modules, such as coupons, take part). Each adjustment is kept with its source
so the order shows how its price came about. Options the client chose at checkout (a coupon,
a promo code) must each be consumed by some extension: an option nobody understands is an
error, never silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core import reference
from core.context import Ctx
from core.crm.models import Client, PropChallenge
from core.errors import InvalidInput
from core.plugins.dispatch import chain


@dataclass(frozen=True)
class PriceAdjustment:
    source: str  # "core" or the module's name
    code: str  # e.g. the coupon's id or the promo code
    label: str  # shown to the client
    amount: Decimal  # signed: a discount is negative

    def as_json(self) -> dict[str, str]:
        return {"source": self.source, "code": self.code, "label": self.label, "amount": str(self.amount)}


@dataclass
class Quote:
    challenge_id: int
    client_id: int
    currency: str
    list_price: Decimal
    options: dict[str, Any] = field(default_factory=dict)
    adjustments: list[PriceAdjustment] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)
    # "offer" for the challenge list (modules may show their best automatic discount), "quote" for
    # the client's chosen options, "order" when the order is placed (only then may a module
    # reserve something, such as a coupon use).
    purpose: str = "quote"

    @property
    def current_price(self) -> Decimal:
        """The price after the adjustments so far (never below zero)."""
        total = self.list_price + sum((a.amount for a in self.adjustments), Decimal(0))
        return max(reference.round_to_currency(total, self.currency), Decimal(0))

    @property
    def final_price(self) -> Decimal:
        return self.current_price

    def option(self, name: str) -> Any:
        """Read a checkout option and mark it as understood."""
        self.consumed.add(name)
        return self.options.get(name)

    def adjust(self, *, source: str, code: str, label: str, amount: Decimal) -> None:
        """Add an adjustment, rounded half up to the currency's minor unit. A discount larger
        than the remaining price is capped so the price stops at zero."""
        amount = reference.round_to_currency(Decimal(amount), self.currency)
        if amount < 0 and -amount > self.current_price:
            amount = -self.current_price
        self.adjustments.append(PriceAdjustment(source=source, code=code, label=label, amount=amount))


def price_order(
    ctx: Ctx,
    client: Client,
    challenge: PropChallenge,
    options: dict[str, Any] | None = None,
    *,
    purpose: str = "quote",
) -> Quote:
    """The price of a challenge for a client: the fee, then each enabled module's adjustments
    (the chained ``crm_price_order`` hook). A module that fails fails the pricing, never yielding
    a silently wrong price."""
    quote = Quote(
        challenge_id=challenge.id,
        client_id=client.id,
        currency=challenge.currency,
        list_price=challenge.fee,
        options=dict(options or {}),
        purpose=purpose,
    )
    chain(ctx, "crm_price_order", client=client, challenge=challenge, quote=quote)
    for name in sorted(set(quote.options) - quote.consumed):
        raise InvalidInput(f"options.{name}", "no installed module accepts this option")
    return quote
