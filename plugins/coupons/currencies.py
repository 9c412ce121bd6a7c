"""Which coupons and promo codes name a currency (a currency in use cannot be removed)."""

from __future__ import annotations

from sqlalchemy import select

from core.sdk import Ctx, utcnow
from plugins.coupons.models import Coupon, CouponStatus, PromoCode, Terms


def _currency_roles(terms: Terms, currency: str) -> list[str]:
    roles = []
    if terms.discount_currency == currency:
        roles.append(f"discount in {currency}")
    if terms.minimum_fee_currency == currency:
        roles.append(f"minimum fee in {currency}")
    return roles


def currency_uses(ctx: Ctx, currency: str) -> list[str]:
    """Coupons and promo codes that can still apply to an order and name ``currency`` (the
    ``crm_currency_in_use`` hook): not revoked or expired; disabled codes count, as they can be
    enabled again."""
    now = utcnow()
    uses: list[str] = []
    for model, label in ((Coupon, "coupon"), (PromoCode, "promo code")):
        stmt = (
            select(model)
            .where((model.discount_currency == currency) | (model.minimum_fee_currency == currency))
            .where(model.valid_until.is_(None) | (model.valid_until >= now))
            .order_by(model.id)
        )
        if model is Coupon:
            stmt = stmt.where(Coupon.status != CouponStatus.REVOKED)
        for row in ctx.session.scalars(stmt):
            shown = row.name if model is Coupon else row.code
            uses.append(f"{label} {shown!r} ({', '.join(_currency_roles(row, currency))})")
    return uses
