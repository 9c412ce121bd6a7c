"""The demo broker's coupons: a welcome coupon, a sign-up coupon and a promo code."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from core.sdk import Client, Ctx, PromotionLink
from plugins.coupons.coupons import create_coupon
from plugins.coupons.distribution import distribute
from plugins.coupons.models import DiscountMethod, DistributionMethod
from plugins.coupons.promo_codes import create_promo_code
from plugins.coupons.schemas import CouponIn, DistributeIn, PromoCodeIn


def seed_demo(ctx: Ctx) -> None:
    """A welcome coupon sent to the first clients (the demo portal client among them), a sign-up
    coupon on the first promotion link, and a promo code."""
    first_clients = list(ctx.session.scalars(select(Client.id).order_by(Client.id).limit(25)))
    welcome = create_coupon(
        ctx,
        CouponIn(
            name="Welcome 10% off",
            discount_method=DiscountMethod.PERCENTAGE,
            discount_value=Decimal(10),
            distribution_method=DistributionMethod.MANUAL,
            uses_per_client=1,
            allow_with_promo_codes=True,
        ),
    )
    distribute(
        ctx,
        welcome.id,
        DistributeIn(
            client_ids=first_clients,
            popup_title="A welcome gift",
            popup_text="10% off your first prop challenge.",
            design_id="gold",
        ),
    )
    link_id = ctx.session.scalar(select(PromotionLink.id).order_by(PromotionLink.id).limit(1))
    if link_id is not None:
        sign_up = create_coupon(
            ctx,
            CouponIn(
                name="50 USD off Pro and Elite",
                discount_method=DiscountMethod.FIXED_AMOUNT,
                discount_value=Decimal(50),
                discount_currency="USD",
                distribution_method=DistributionMethod.PROMOTION_LINKS,
                promotion_link_ids=[link_id],
                uses_per_client=1,
                minimum_fee=Decimal(200),
                minimum_fee_currency="USD",
            ),
        )
        distribute(
            ctx,
            sign_up.id,
            DistributeIn(
                popup_title="Thanks for joining",
                popup_text="50 USD off a Pro or Elite challenge.",
                design_id="neon",
            ),
        )
    create_promo_code(
        ctx,
        PromoCodeIn(
            code="DEMO20",
            name="Demo 20%",
            discount_method=DiscountMethod.PERCENTAGE,
            discount_value=Decimal(20),
            uses_per_client=1,
            total_cap=100,
            allow_with_coupons=True,
        ),
    )
