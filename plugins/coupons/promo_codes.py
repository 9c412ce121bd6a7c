"""Promo codes: a code a client types at checkout. Its discount terms are fixed once it is used."""

from __future__ import annotations

from sqlalchemy import func, select

from core.sdk import (
    Conflict,
    Ctx,
    InvalidInput,
    PageRequest,
    PageResult,
    apply_changes,
    ensure_unique,
    fetch,
    paginate,
)
from plugins.coupons.models import PromoCode, Redemption
from plugins.coupons.schemas import PromoCodeIn, PromoCodeUpdate
from plugins.coupons.terms import check_terms, terms_of

# The terms a client paid under: they cannot change once the code is used.
LOCKED_ONCE_USED = frozenset(
    {
        "discount_method",
        "discount_value",
        "discount_currency",
        "uses_per_client",
        "minimum_fee",
        "minimum_fee_currency",
        "challenge_ids",
        "valid_from",
    }
)


def list_promo_codes(
    ctx: Ctx, page: PageRequest, *, enabled: bool | None = None, q: str | None = None
) -> PageResult[PromoCode]:
    stmt = select(PromoCode).order_by(PromoCode.id.desc())
    if enabled is not None:
        stmt = stmt.where(PromoCode.enabled == enabled)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(func.lower(PromoCode.code).like(like) | func.lower(PromoCode.name).like(like))
    return paginate(ctx.session, stmt, page)


def get_promo_code(ctx: Ctx, promo_id: int) -> PromoCode:
    return fetch(ctx.session, PromoCode, promo_id, label="promo code")


def promo_by_code(ctx: Ctx, code: str) -> PromoCode | None:
    return ctx.session.scalar(select(PromoCode).where(PromoCode.code_key == code.strip().upper()))


def create_promo_code(ctx: Ctx, data: PromoCodeIn) -> PromoCode:
    ctx.require("coupons.update")
    check_terms(ctx, data)
    ensure_unique(ctx.session, PromoCode.code, data.code, label="promo code")
    promo = PromoCode(
        code=data.code,
        code_key=data.code.upper(),
        name=data.name,
        allow_with_coupons=data.allow_with_coupons,
        enabled=data.enabled,
        tenant_id=ctx.tenant_id,
        **terms_of(data),
    )
    ctx.session.add(promo)
    ctx.session.flush()
    return promo


def _used(ctx: Ctx, promo: PromoCode) -> bool:
    return (
        ctx.session.scalar(select(Redemption.id).where(Redemption.promo_code_id == promo.id).limit(1))
        is not None
    )


def update_promo_code(ctx: Ctx, promo_id: int, data: PromoCodeUpdate) -> PromoCode:
    """Name, combination, enabled, validity end and cap can change at any time; the discount itself
    only until the code is first used, so no two clients paid under different terms."""
    ctx.require("coupons.update")
    promo = get_promo_code(ctx, promo_id)
    ctx.session.refresh(promo, with_for_update={"key_share": True})
    changes = data.changes()
    if changes.keys() & LOCKED_ONCE_USED and _used(ctx, promo):
        raise Conflict("the code was used: its discount terms cannot change any more (create a new code)")
    apply_changes(promo, changes)
    check_terms(ctx, promo)
    if promo.total_cap is not None and promo.total_cap < promo.redeemed:
        raise InvalidInput("total_cap", f"{promo.redeemed} uses are already taken")
    ctx.session.flush()
    return promo


def delete_promo_code(ctx: Ctx, promo_id: int) -> None:
    ctx.require("coupons.update")
    promo = get_promo_code(ctx, promo_id)
    if _used(ctx, promo):
        raise Conflict("the code was used: disable it instead (its redemptions stay on record)")
    ctx.session.delete(promo)
    ctx.session.flush()
