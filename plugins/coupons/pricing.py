"""Discounts at checkout: the chosen (or best) coupon and the promo code, applied to the quote.
Taking their uses when the order is placed is ``redemptions``'s part."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from core.sdk import (
    Client,
    Ctx,
    InvalidInput,
    PropChallenge,
    Quote,
    display_amount,
    round_to_currency,
    utcnow,
)
from plugins.coupons.models import (
    Coupon,
    DiscountMethod,
    PromoCode,
    PromoUsage,
    Terms,
)
from plugins.coupons.promo_codes import promo_by_code
from plugins.coupons.terms import Unusable, unusable
from plugins.coupons.wallet import wallet

SOURCE = "coupons"
COUPON_OPTION, PROMO_OPTION = "coupon_id", "promo_code"

COUPON_REFUSALS = {
    Unusable.WITHDRAWN: "this coupon was revoked",
    Unusable.NOT_STARTED: "not valid yet",
    Unusable.EXPIRED: "expired",
    Unusable.USED_UP: "no uses left",
    Unusable.SOLD_OUT: "no uses left",
}
PROMO_REFUSALS = {  # after "this code …"
    Unusable.WITHDRAWN: "is not active",
    Unusable.NOT_STARTED: "is not valid yet",
    Unusable.EXPIRED: "has expired",
    Unusable.USED_UP: "was already used as often as allowed",
    Unusable.SOLD_OUT: "has no uses left",
}


def ineligible(terms: Terms, challenge: PropChallenge) -> str | None:
    """Why a discount does not apply to this challenge, or None."""
    if terms.challenge_ids is not None and challenge.id not in terms.challenge_ids:
        return "does not apply to this challenge"
    if terms.discount_method is DiscountMethod.FIXED_AMOUNT and terms.discount_currency != challenge.currency:
        return f"is an amount in {terms.discount_currency}; this challenge is priced in {challenge.currency}"
    if terms.minimum_fee is not None and (
        challenge.currency != terms.minimum_fee_currency or challenge.fee < terms.minimum_fee
    ):
        shown = display_amount(terms.minimum_fee, terms.minimum_fee_currency or challenge.currency)
        return f"needs a challenge fee of at least {shown} {terms.minimum_fee_currency}"
    return None


def discount(terms: Terms, price: Decimal) -> Decimal:
    """The discount on ``price`` (Quote.adjust rounds it half up and stops the price at zero)."""
    if terms.discount_method is DiscountMethod.PERCENTAGE:
        return price * terms.discount_value / 100
    return terms.discount_value


def _taken_off(terms: Terms, quote: Quote) -> Decimal:
    """What the discount takes off the quote's price so far, as the quote will apply it: rounded
    half up to the currency's minor unit, at most the price."""
    amount = round_to_currency(discount(terms, quote.current_price), quote.currency)
    return min(amount, quote.current_price)


def _apply(quote: Quote, terms: Terms, code: str, label: str) -> None:
    """Adjust the price by the discount. A discount that takes nothing off (the price is already
    zero, or a percentage rounds to nothing) is not applied: it shows on no quote or offer, and
    the order takes no use of it."""
    amount = _taken_off(terms, quote)
    if amount > 0:
        quote.adjust(source=SOURCE, code=code, label=label, amount=-amount)


def _chosen_coupon(ctx: Ctx, client: Client, challenge: PropChallenge, choice: Any) -> Coupon:
    field = f"options.{COUPON_OPTION}"
    if isinstance(choice, bool) or not isinstance(choice, int):
        raise InvalidInput(field, "must be the id of one of your coupons")
    held = next((h for h in wallet(ctx, client.id) if h.coupon.id == choice), None)
    if held is None:
        raise InvalidInput(field, "you have no such coupon")
    if held.unusable is not None:
        raise InvalidInput(field, COUPON_REFUSALS[held.unusable])
    coupon = held.coupon
    problem = ineligible(coupon, challenge)
    if problem is not None:
        raise InvalidInput(field, f"this coupon {problem}")
    return coupon


def _best_coupon(ctx: Ctx, client: Client, challenge: PropChallenge, price: Decimal) -> Coupon | None:
    """The usable coupon that takes most off this challenge (for the challenge list)."""
    held = wallet(ctx, client.id)
    usable = [h.coupon for h in held if h.unusable is None and ineligible(h.coupon, challenge) is None]
    return max(usable, key=lambda c: (min(discount(c, price), price), -c.id), default=None)


def _chosen_promo(ctx: Ctx, client: Client, challenge: PropChallenge, choice: Any) -> PromoCode:
    field = f"options.{PROMO_OPTION}"
    if not isinstance(choice, str) or not choice.strip():
        raise InvalidInput(field, "must be a promo code")
    promo = promo_by_code(ctx, choice)
    if promo is None:
        raise InvalidInput(field, "no such promo code")
    used = (
        ctx.session.scalar(
            select(PromoUsage.uses).where(
                PromoUsage.promo_code_id == promo.id, PromoUsage.client_id == client.id
            )
        )
        or 0
    )
    refusal = unusable(promo, used, utcnow())
    reason = PROMO_REFUSALS[refusal] if refusal is not None else ineligible(promo, challenge)
    if reason is not None:
        raise InvalidInput(field, f"this code {reason}")
    return promo


def price(ctx: Ctx, client: Client, challenge: PropChallenge, quote: Quote) -> None:
    """The chained pricing hook: the chosen coupon (or, for the challenge list, the best one),
    then the promo code."""
    coupon_choice, promo_choice = quote.option(COUPON_OPTION), quote.option(PROMO_OPTION)
    coupon: Coupon | None = None
    if coupon_choice is not None:
        coupon = _chosen_coupon(ctx, client, challenge, coupon_choice)
    elif quote.purpose == "offer":
        coupon = _best_coupon(ctx, client, challenge, quote.current_price)
    promo = _chosen_promo(ctx, client, challenge, promo_choice) if promo_choice is not None else None
    if (
        coupon is not None
        and promo is not None
        and not (coupon.allow_with_promo_codes and promo.allow_with_coupons)
    ):
        raise InvalidInput(f"options.{PROMO_OPTION}", "cannot be combined with the chosen coupon")
    if coupon is not None:
        _apply(quote, coupon, f"coupon:{coupon.id}", coupon.name)
    if promo is not None:
        _apply(quote, promo, f"promo:{promo.id}", f"Promo code {promo.code}")
