"""The life of a use: reserved when the order is placed, confirmed when it is paid, released when
the payment fails or the order is cancelled.

Counts never exceed their limits, whatever the concurrency: taking a use is one conditional
``UPDATE … SET uses = uses + 1 WHERE uses < limit`` on the client's row, and another on the
coupon's (or code's) total, in the order's own transaction. On PostgreSQL a second updater waits
for the first and re-checks the condition once it commits; on SQLite writers are serialized. A
use either fits, or the order is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute

from core.sdk import Ctx, InvalidInput, PropOrder, Quote, utcnow
from plugins.coupons.models import (
    Coupon,
    CouponGrant,
    CouponStatus,
    PromoCode,
    PromoUsage,
    Redemption,
    RedemptionStatus,
)
from plugins.coupons.pricing import COUPON_OPTION, PROMO_OPTION, SOURCE


def _count_use(
    ctx: Ctx,
    counter: InstrumentedAttribute[int],
    row: ColumnElement[bool],
    step: int,
    limit: int | None = None,
) -> bool:
    """Add ``step`` (1 or -1) to ``counter`` on the row in one conditional UPDATE, if the count stays
    below ``limit`` (None: no limit) and never below zero; whether the row changed."""
    stmt = update(counter.class_).where(row)
    if step > 0 and limit is not None:
        stmt = stmt.where(counter < limit)
    if step < 0:
        stmt = stmt.where(counter > 0)
    result = ctx.session.execute(
        stmt.values({counter: counter + step}).execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1


def take_use(
    ctx: Ctx, counter: InstrumentedAttribute[int], row: ColumnElement[bool], limit: int | None
) -> bool:
    """Take one use if it fits under ``limit``: concurrent takers never both get the last one."""
    return _count_use(ctx, counter, row, 1, limit)


def return_use(ctx: Ctx, counter: InstrumentedAttribute[int], row: ColumnElement[bool]) -> None:
    _count_use(ctx, counter, row, -1)


def _promo_usage(ctx: Ctx, promo_id: int, client_id: int) -> int:
    """The client's usage row of a promo code, created on first use (also when two race)."""
    mine = select(PromoUsage.id).where(
        PromoUsage.promo_code_id == promo_id, PromoUsage.client_id == client_id
    )
    existing = ctx.session.scalar(mine)
    if existing is not None:
        return existing
    try:
        with ctx.session.begin_nested():
            usage = PromoUsage(promo_code_id=promo_id, client_id=client_id, tenant_id=ctx.tenant_id)
            ctx.session.add(usage)
            ctx.session.flush()
            return usage.id
    except IntegrityError:
        return ctx.session.scalar(mine)


def _reserve_coupon(ctx: Ctx, coupon_id: int, redemption: Redemption) -> None:
    coupon = ctx.session.get(Coupon, coupon_id)
    assert coupon is not None
    grant_id = ctx.session.scalar(
        select(CouponGrant.id).where(
            CouponGrant.coupon_id == coupon.id, CouponGrant.client_id == redemption.client_id
        )
    )
    if not take_use(ctx, CouponGrant.uses, CouponGrant.id == grant_id, coupon.uses_per_client):
        raise InvalidInput(f"options.{COUPON_OPTION}", "you have no uses of this coupon left")
    distributed = (Coupon.id == coupon.id) & (Coupon.status == CouponStatus.DISTRIBUTED)
    if not take_use(ctx, Coupon.redeemed, distributed, coupon.total_cap):
        raise InvalidInput(f"options.{COUPON_OPTION}", "this coupon has no uses left")
    redemption.coupon_id, redemption.grant_id = coupon.id, grant_id


def _reserve_promo(ctx: Ctx, promo_id: int, redemption: Redemption) -> None:
    promo = ctx.session.get(PromoCode, promo_id)
    assert promo is not None
    usage_id = _promo_usage(ctx, promo.id, redemption.client_id)
    if not take_use(ctx, PromoUsage.uses, PromoUsage.id == usage_id, promo.uses_per_client):
        raise InvalidInput(f"options.{PROMO_OPTION}", "this code was already used as often as allowed")
    enabled = (PromoCode.id == promo.id) & PromoCode.enabled
    if not take_use(ctx, PromoCode.redeemed, enabled, promo.total_cap):
        raise InvalidInput(f"options.{PROMO_OPTION}", "this code has no uses left")
    redemption.promo_code_id = promo.id


# What an adjustment's code starts with ("coupon:12", "promo:3"): how to take its use.
RESERVE_BY_KIND: dict[str, Callable[[Ctx, int, Redemption], None]] = {
    "coupon": _reserve_coupon,
    "promo": _reserve_promo,
}


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
        reserve_kind = RESERVE_BY_KIND[kind]
        reserve_kind(ctx, int(ident), redemption)
        ctx.session.add(redemption)
    ctx.session.flush()


def _release(ctx: Ctx, redemption: Redemption) -> None:
    """Give the use back to the client's count and to the total."""
    if redemption.grant_id is not None:
        return_use(ctx, CouponGrant.uses, CouponGrant.id == redemption.grant_id)
    if redemption.coupon_id is not None:
        return_use(ctx, Coupon.redeemed, Coupon.id == redemption.coupon_id)
    if redemption.promo_code_id is not None:
        return_use(
            ctx,
            PromoUsage.uses,
            (PromoUsage.promo_code_id == redemption.promo_code_id)
            & (PromoUsage.client_id == redemption.client_id),
        )
        return_use(ctx, PromoCode.redeemed, PromoCode.id == redemption.promo_code_id)


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
        _release(ctx, redemption)
    ctx.session.flush()
