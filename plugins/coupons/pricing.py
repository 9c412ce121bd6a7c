"""Discounts at checkout, and the life of a use: reserved when the order is placed, confirmed when
it is paid, released when the payment fails or the order is cancelled.

Counts never exceed their limits, whatever the concurrency: taking a use is one conditional
``UPDATE … SET uses = uses + 1 WHERE uses < limit`` on the client's row, and another on the
coupon's (or code's) total, in the order's own transaction. On PostgreSQL a second updater waits
for the first and re-checks the condition once it commits; on SQLite writers are serialized. A
use either fits, or the order is refused with the reason.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.sdk import (
    Client,
    Ctx,
    InvalidInput,
    PropChallenge,
    PropOrder,
    Quote,
    display_amount,
    round_to_currency,
    utcnow,
)
from plugins.coupons.models import (
    Coupon,
    CouponGrant,
    CouponStatus,
    DiscountMethod,
    PromoCode,
    PromoUsage,
    Redemption,
    RedemptionStatus,
    Terms,
)
from plugins.coupons.service import promo_by_code, unusable_reason

SOURCE = "coupons"
COUPON_OPTION, PROMO_OPTION = "coupon_id", "promo_code"

REASONS = {
    "revoked": "this coupon was revoked",
    "not_started": "not valid yet",
    "expired": "expired",
    "used_up": "no uses left",
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


def _promo_reason(promo: PromoCode, usage_uses: int, now: datetime) -> str | None:
    if not promo.enabled:
        return "is not active"
    if promo.valid_from is not None and now < promo.valid_from:
        return "is not valid yet"
    if promo.valid_until is not None and now > promo.valid_until:
        return "has expired"
    if promo.uses_per_client is not None and usage_uses >= promo.uses_per_client:
        return "was already used as often as allowed"
    if promo.total_cap is not None and promo.redeemed >= promo.total_cap:
        return "has no uses left"
    return None


def _chosen_coupon(ctx: Ctx, client: Client, challenge: PropChallenge, choice: Any, now: datetime) -> Coupon:
    field = f"options.{COUPON_OPTION}"
    if isinstance(choice, bool) or not isinstance(choice, int):
        raise InvalidInput(field, "must be the id of one of your coupons")
    row = ctx.session.execute(
        select(Coupon, CouponGrant)
        .join(CouponGrant, CouponGrant.coupon_id == Coupon.id)
        .where(Coupon.id == choice, CouponGrant.client_id == client.id)
    ).first()
    if row is None or row[0].status is CouponStatus.UNDISTRIBUTED:
        raise InvalidInput(field, "you have no such coupon")
    coupon, grant = row
    reason = unusable_reason(coupon, grant, now)
    if reason is not None:
        raise InvalidInput(field, REASONS[reason])
    problem = ineligible(coupon, challenge)
    if problem is not None:
        raise InvalidInput(field, f"this coupon {problem}")
    return coupon


def _best_coupon(
    ctx: Ctx, client: Client, challenge: PropChallenge, price: Decimal, now: datetime
) -> Coupon | None:
    """The usable coupon that takes most off this challenge (for the challenge list)."""
    rows = ctx.session.execute(
        select(Coupon, CouponGrant)
        .join(CouponGrant, CouponGrant.coupon_id == Coupon.id)
        .where(CouponGrant.client_id == client.id, Coupon.status == CouponStatus.DISTRIBUTED)
    )
    usable = [c for c, g in rows if unusable_reason(c, g, now) is None and ineligible(c, challenge) is None]
    return max(usable, key=lambda c: (min(discount(c, price), price), -c.id), default=None)


def _chosen_promo(
    ctx: Ctx, client: Client, challenge: PropChallenge, choice: Any, now: datetime
) -> PromoCode:
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
    reason = _promo_reason(promo, used, now) or ineligible(promo, challenge)
    if reason is not None:
        raise InvalidInput(field, f"this code {reason}")
    return promo


def price(ctx: Ctx, client: Client, challenge: PropChallenge, quote: Quote) -> None:
    """The chained pricing hook: the chosen coupon (or, for the challenge list, the best one),
    then the promo code."""
    now = utcnow()
    coupon_choice, promo_choice = quote.option(COUPON_OPTION), quote.option(PROMO_OPTION)
    coupon: Coupon | None = None
    if coupon_choice is not None:
        coupon = _chosen_coupon(ctx, client, challenge, coupon_choice, now)
    elif quote.purpose == "offer":
        coupon = _best_coupon(ctx, client, challenge, quote.current_price, now)
    promo = _chosen_promo(ctx, client, challenge, promo_choice, now) if promo_choice is not None else None
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


# --- the life of a use ---------------------------------------------------------------------------


def _take(ctx: Ctx, statement: Any) -> bool:
    return (ctx.session.execute(statement.execution_options(synchronize_session=False)).rowcount or 0) == 1


def _promo_usage(ctx: Ctx, promo_id: int, client_id: int) -> int:
    """The client's usage row of a promo code, created on first use (also when two race)."""
    existing = ctx.session.scalar(
        select(PromoUsage.id).where(PromoUsage.promo_code_id == promo_id, PromoUsage.client_id == client_id)
    )
    if existing is not None:
        return existing
    try:
        with ctx.session.begin_nested():
            usage = PromoUsage(promo_code_id=promo_id, client_id=client_id, tenant_id=ctx.tenant_id)
            ctx.session.add(usage)
            ctx.session.flush()
            return usage.id
    except IntegrityError:
        return ctx.session.scalar(
            select(PromoUsage.id).where(
                PromoUsage.promo_code_id == promo_id, PromoUsage.client_id == client_id
            )
        )


def reserve(ctx: Ctx, order: PropOrder, quote: Quote) -> None:
    """The chained order-placing hook: take a use of each discount the price relied on, or refuse."""
    for adjustment in quote.adjustments:
        if adjustment.source != SOURCE:
            continue
        kind, _, ident = adjustment.code.partition(":")
        redemption = Redemption(
            order_id=order.id,
            client_id=order.client_id,
            challenge_id=order.challenge_id,
            discount=-adjustment.amount,
            currency=order.currency,
            tenant_id=ctx.tenant_id,
        )
        if kind == "coupon":
            coupon = ctx.session.get(Coupon, int(ident))
            assert coupon is not None
            grant_id = ctx.session.scalar(
                select(CouponGrant.id).where(
                    CouponGrant.coupon_id == coupon.id, CouponGrant.client_id == order.client_id
                )
            )
            mine = update(CouponGrant).where(CouponGrant.id == grant_id)
            if coupon.uses_per_client is not None:
                mine = mine.where(CouponGrant.uses < coupon.uses_per_client)
            if not _take(ctx, mine.values(uses=CouponGrant.uses + 1)):
                raise InvalidInput(f"options.{COUPON_OPTION}", "you have no uses of this coupon left")
            total = update(Coupon).where(Coupon.id == coupon.id, Coupon.status == CouponStatus.DISTRIBUTED)
            if coupon.total_cap is not None:
                total = total.where(Coupon.redeemed < coupon.total_cap)
            if not _take(ctx, total.values(redeemed=Coupon.redeemed + 1)):
                raise InvalidInput(f"options.{COUPON_OPTION}", "this coupon has no uses left")
            redemption.coupon_id, redemption.grant_id = coupon.id, grant_id
        else:
            promo = ctx.session.get(PromoCode, int(ident))
            assert promo is not None
            usage_id = _promo_usage(ctx, promo.id, order.client_id)
            mine = update(PromoUsage).where(PromoUsage.id == usage_id)
            if promo.uses_per_client is not None:
                mine = mine.where(PromoUsage.uses < promo.uses_per_client)
            if not _take(ctx, mine.values(uses=PromoUsage.uses + 1)):
                raise InvalidInput(
                    f"options.{PROMO_OPTION}", "this code was already used as often as allowed"
                )
            total = update(PromoCode).where(PromoCode.id == promo.id, PromoCode.enabled)
            if promo.total_cap is not None:
                total = total.where(PromoCode.redeemed < promo.total_cap)
            if not _take(ctx, total.values(redeemed=PromoCode.redeemed + 1)):
                raise InvalidInput(f"options.{PROMO_OPTION}", "this code has no uses left")
            redemption.promo_code_id = promo.id
        ctx.session.add(redemption)
    ctx.session.flush()


def settle(ctx: Ctx, order: PropOrder, *, paid: bool) -> None:
    """An order was paid (its uses are confirmed) or failed/cancelled (its uses come back)."""
    reserved = ctx.session.scalars(
        select(Redemption)
        .where(Redemption.order_id == order.id, Redemption.status == RedemptionStatus.RESERVED)
        .with_for_update()
    )
    for redemption in reserved:
        redemption.settled_at = utcnow()
        if paid:
            redemption.status = RedemptionStatus.CONFIRMED
            continue
        redemption.status = RedemptionStatus.RELEASED
        if redemption.grant_id is not None:
            _take(
                ctx,
                update(CouponGrant)
                .where(CouponGrant.id == redemption.grant_id, CouponGrant.uses > 0)
                .values(uses=CouponGrant.uses - 1),
            )
        if redemption.coupon_id is not None:
            _take(
                ctx,
                update(Coupon)
                .where(Coupon.id == redemption.coupon_id, Coupon.redeemed > 0)
                .values(redeemed=Coupon.redeemed - 1),
            )
        if redemption.promo_code_id is not None:
            _take(
                ctx,
                update(PromoUsage)
                .where(
                    PromoUsage.promo_code_id == redemption.promo_code_id,
                    PromoUsage.client_id == redemption.client_id,
                    PromoUsage.uses > 0,
                )
                .values(uses=PromoUsage.uses - 1),
            )
            _take(
                ctx,
                update(PromoCode)
                .where(PromoCode.id == redemption.promo_code_id, PromoCode.redeemed > 0)
                .values(redeemed=PromoCode.redeemed - 1),
            )
    ctx.session.flush()


def usable_count(ctx: Ctx, client_id: int) -> int:
    """Coupons the client can use now (the portal's badge)."""
    now = utcnow()
    rows = ctx.session.execute(
        select(Coupon, CouponGrant)
        .join(CouponGrant, CouponGrant.coupon_id == Coupon.id)
        .where(CouponGrant.client_id == client_id, Coupon.status == CouponStatus.DISTRIBUTED)
    )
    return sum(1 for coupon, grant in rows if unusable_reason(coupon, grant, now) is None)
