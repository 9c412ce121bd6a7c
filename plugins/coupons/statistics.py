"""A coupon's and a promo code's figures: holders, uses available, remaining, redeemed, reserved."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, literal, select

from core.sdk import Client, Ctx, count, scope_clients, utcnow
from plugins.coupons.coupons import get_coupon
from plugins.coupons.holders import PROMO_USERS, holders_query
from plugins.coupons.models import CouponGrant, DistributionMethod, Redemption, RedemptionStatus, Terms
from plugins.coupons.promo_codes import get_promo_code
from plugins.coupons.terms import has_expired

UNLIMITED = "unlimited"


def _at_most(*limits: int | None) -> int | str:
    """The smallest of the limits that exist (None: no limit), or "unlimited"."""
    bounded = [limit for limit in limits if limit is not None]
    return min(bounded) if bounded else UNLIMITED


def _closed(terms: Terms, now: datetime) -> bool:
    """No more uses can be taken by anyone: withdrawn or expired."""
    return terms.withdrawn or has_expired(terms, now)


def _redemption_counts(ctx: Ctx, *conditions: Any) -> dict[RedemptionStatus, int]:
    stmt = scope_clients(
        select(Redemption.status, func.count())
        .join(Client, Client.id == Redemption.client_id)
        .where(*conditions),
        ctx.principal,
    ).group_by(Redemption.status)
    return dict(ctx.session.execute(stmt).all())


def coupon_statistics(ctx: Ctx, coupon_id: int) -> dict[str, Any]:
    """Over the clients the user may see (data permissions); the total cap counts every client.

    ``total_available`` is what the coupon allows in all: its holders' uses (manual coupons), at
    most the total cap; a promotion-link coupon has no fixed holders, so only its cap (None
    without one). ``remaining`` is what can still be taken: the holders' uses left, at most what
    the cap leaves; 0 once the coupon is revoked or expired."""
    coupon = get_coupon(ctx, coupon_id)
    limit = coupon.uses_per_client
    grants = scope_clients(
        select(CouponGrant.uses)
        .join(Client, Client.id == CouponGrant.client_id)
        .where(CouponGrant.coupon_id == coupon.id),
        ctx.principal,
    ).subquery()
    uses_left = (
        literal(0)
        if limit is None
        else func.coalesce(func.sum(case((grants.c.uses < limit, limit - grants.c.uses), else_=0)), 0)
    )
    holders, own_left = ctx.session.execute(select(func.count(), uses_left).select_from(grants)).one()
    cap_left = None if coupon.total_cap is None else max(coupon.total_cap - coupon.redeemed, 0)
    available: int | str | None = coupon.total_cap
    remaining: int | str = _at_most(cap_left)
    if coupon.distribution_method is DistributionMethod.MANUAL:
        available = _at_most(None if limit is None else holders * limit, coupon.total_cap)
        remaining = _at_most(None if limit is None else int(own_left), cap_left)
    if _closed(coupon, utcnow()):
        remaining = 0
    redeemed = _redemption_counts(ctx, Redemption.coupon_id == coupon.id)
    return {
        "coupon_id": coupon.id,
        "status": coupon.status,
        "distribution_method": coupon.distribution_method,
        "clients_with_coupon": holders,
        "total_cap": coupon.total_cap,
        "total_available": available,
        "remaining": remaining,
        "total_redeemed": redeemed.get(RedemptionStatus.CONFIRMED, 0),
        "reserved": redeemed.get(RedemptionStatus.RESERVED, 0),
    }


def promo_statistics(ctx: Ctx, promo_id: int) -> dict[str, Any]:
    """Over the clients the user may see; ``remaining`` is what the total cap leaves (None without
    a cap), 0 while the code is disabled or once it has expired."""
    promo = get_promo_code(ctx, promo_id)
    users = count(ctx.session, holders_query(ctx, PROMO_USERS, promo))
    redeemed = _redemption_counts(ctx, Redemption.promo_code_id == promo.id)
    remaining = None if promo.total_cap is None else max(promo.total_cap - promo.redeemed, 0)
    if _closed(promo, utcnow()):
        remaining = 0
    return {
        "promo_code_id": promo.id,
        "code": promo.code,
        "clients_who_used": users,
        "total_redeemed": redeemed.get(RedemptionStatus.CONFIRMED, 0),
        "reserved": redeemed.get(RedemptionStatus.RESERVED, 0),
        "total_cap": promo.total_cap,
        "remaining": remaining,
    }
