"""The coupons in a client's wallet: every distributed or revoked coupon they were granted."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.sdk import Ctx, utcnow
from plugins.coupons.models import Coupon, CouponGrant, CouponStatus
from plugins.coupons.terms import Unusable, unusable


@dataclass
class WalletCoupon:
    """A coupon a client holds, with their grant (their uses) and why they cannot use it now."""

    coupon: Coupon
    grant: CouponGrant
    unusable: Unusable | None  # None when usable now

    @property
    def reason(self) -> str | None:
        """What the portal shows: own uses and the total cap both read "used up"."""
        if self.unusable is Unusable.SOLD_OUT:
            return Unusable.USED_UP.value
        return None if self.unusable is None else self.unusable.value

    @property
    def uses_left(self) -> int | None:
        limit = self.coupon.uses_per_client
        return None if limit is None else max(limit - self.grant.uses, 0)


def wallet(ctx: Ctx, client_id: int) -> list[WalletCoupon]:
    """The client's coupons, the latest granted first."""
    now = utcnow()
    rows = ctx.session.execute(
        select(Coupon, CouponGrant)
        .join(CouponGrant, CouponGrant.coupon_id == Coupon.id)
        .where(CouponGrant.client_id == client_id, Coupon.status != CouponStatus.UNDISTRIBUTED)
        .order_by(CouponGrant.granted_at.desc(), Coupon.id.desc())
    ).all()
    return [WalletCoupon(coupon, grant, unusable(coupon, grant.uses, now)) for coupon, grant in rows]


def usable_count(ctx: Ctx, client_id: int) -> int:
    """Coupons the client can use now (the portal's badge)."""
    return sum(1 for held in wallet(ctx, client_id) if held.unusable is None)
