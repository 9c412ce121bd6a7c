"""Pricing of prop-challenge orders: the one place a price is computed.

``price_order`` starts from the challenge's fee and lets extensions adjust it (the next step is
where marketplace modules, such as coupons, take part). Each adjustment is kept with its source
so the order shows how its price came about. Options the client chose at checkout (a coupon,
a promo code) must each be consumed by some extension: an option nobody understands is an
error, never silently ignored.
"""

from __future__ import annotations

from typing import Any

from core import reference
from core.context import Ctx
from core.contract import Quote
from core.crm.models import Client, PropChallenge
from core.deprecation import moved_names
from core.errors import InvalidInput
from core.plugins.dispatch import chain

__getattr__ = moved_names(__name__, {"PriceAdjustment": "core.contract"})


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
        minor_units=reference.minor_units(challenge.currency),
        options=dict(options or {}),
        purpose=purpose,
    )
    chain(ctx, "crm_price_order", client=client, challenge=challenge, quote=quote)
    for name in sorted(set(quote.options) - quote.consumed):
        raise InvalidInput(f"options.{name}", "no installed module accepts this option")
    return quote
