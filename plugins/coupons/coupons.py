"""A coupon's life: created undistributed (editable, deletable), then distributed, then revoked."""

from __future__ import annotations

from sqlalchemy import func, select

from core.sdk import (
    Conflict,
    Ctx,
    InvalidInput,
    PageRequest,
    PageResult,
    PromotionLink,
    apply_changes,
    ensure_unique,
    fetch,
    paginate,
    utcnow,
)
from plugins.coupons.models import Coupon, CouponStatus, DistributionMethod
from plugins.coupons.schemas import CouponIn, CouponUpdate
from plugins.coupons.terms import check_terms, terms_of


def _check_links(ctx: Ctx, method: DistributionMethod, link_ids: list[int]) -> None:
    if method is DistributionMethod.MANUAL:
        if link_ids:
            raise InvalidInput(
                "promotion_link_ids", "only coupons distributed through promotion links have links"
            )
        return
    if not link_ids:
        raise InvalidInput(
            "promotion_link_ids", "choose the promotion links whose sign-ups receive the coupon"
        )
    known = set(ctx.session.scalars(select(PromotionLink.id).where(PromotionLink.id.in_(link_ids))))
    missing = [i for i in link_ids if i not in known]
    if missing:
        raise InvalidInput("promotion_link_ids", f"no promotion link {missing[0]}")


def list_coupons(
    ctx: Ctx,
    page: PageRequest,
    *,
    status: CouponStatus | None = None,
    distribution_method: DistributionMethod | None = None,
    q: str | None = None,
) -> PageResult[Coupon]:
    stmt = select(Coupon).order_by(Coupon.id.desc())
    if status is not None:
        stmt = stmt.where(Coupon.status == status)
    if distribution_method is not None:
        stmt = stmt.where(Coupon.distribution_method == distribution_method)
    if q:
        stmt = stmt.where(func.lower(Coupon.name).like(f"%{q.lower()}%"))
    return paginate(ctx.session, stmt, page)


def get_coupon(ctx: Ctx, coupon_id: int, *, lock: bool = False) -> Coupon:
    coupon = fetch(ctx.session, Coupon, coupon_id, label="coupon")
    if lock:
        ctx.session.refresh(coupon, with_for_update={"key_share": True})
    return coupon


def create_coupon(ctx: Ctx, data: CouponIn) -> Coupon:
    ctx.require("coupons.update")
    check_terms(ctx, data)
    _check_links(ctx, data.distribution_method, data.promotion_link_ids)
    ensure_unique(ctx.session, Coupon.name, data.name, label="coupon")
    coupon = Coupon(
        name=data.name,
        use_case=data.use_case,
        distribution_method=data.distribution_method,
        promotion_link_ids=list(data.promotion_link_ids),
        allow_with_promo_codes=data.allow_with_promo_codes,
        tenant_id=ctx.tenant_id,
        **terms_of(data),
    )
    ctx.session.add(coupon)
    ctx.session.flush()
    return coupon


def update_coupon(ctx: Ctx, coupon_id: int, data: CouponUpdate) -> Coupon:
    """Change an undistributed coupon; a distributed one can only be viewed."""
    ctx.require("coupons.update")
    coupon = get_coupon(ctx, coupon_id, lock=True)
    if coupon.status is not CouponStatus.UNDISTRIBUTED:
        raise Conflict(f"the coupon was {coupon.status.value}: it can only be viewed now")
    changes = data.changes()
    apply_changes(coupon, changes)
    check_terms(ctx, coupon)
    _check_links(ctx, coupon.distribution_method, coupon.promotion_link_ids)
    if "name" in changes:
        ensure_unique(ctx.session, Coupon.name, coupon.name, label="coupon", exclude_id=coupon.id)
    ctx.session.flush()
    return coupon


def delete_coupon(ctx: Ctx, coupon_id: int) -> None:
    ctx.require("coupons.update")
    coupon = get_coupon(ctx, coupon_id, lock=True)
    if coupon.status is not CouponStatus.UNDISTRIBUTED:
        raise Conflict(f"a {coupon.status.value} coupon cannot be deleted; revoke it instead")
    ctx.session.delete(coupon)
    ctx.session.flush()


def revoke(ctx: Ctx, coupon_id: int) -> Coupon:
    """Unused uses become invalid at once; redemptions already made stay on record.

    A placed, unpaid order keeps its price and its reserved use, like a placed order whose
    challenge fee changes: the client was offered that price and may already be paying. Payment
    confirms the use (``redemptions.settle``); a failed payment or a cancellation releases it, and
    since the coupon is revoked the released use can never be taken again."""
    ctx.require("coupons.update")
    coupon = get_coupon(ctx, coupon_id, lock=True)
    if coupon.status is CouponStatus.REVOKED:
        return coupon
    if coupon.status is CouponStatus.UNDISTRIBUTED:
        raise Conflict("the coupon was never distributed: edit or delete it instead")
    coupon.status, coupon.revoked_at = CouponStatus.REVOKED, utcnow()
    ctx.session.flush()
    return coupon
