from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.sdk import Base, IdType, Money, TenantOwned, UTCDateTime, enum_type, utcnow


class DiscountMethod(enum.StrEnum):
    FIXED_AMOUNT = "fixed_amount"
    PERCENTAGE = "percentage"


class UseCase(enum.StrEnum):
    PROP_TRADING = "prop_trading"  # the only use case today


class DistributionMethod(enum.StrEnum):
    PROMOTION_LINKS = "promotion_links"
    MANUAL = "manual"


class CouponStatus(enum.StrEnum):
    UNDISTRIBUTED = "undistributed"
    DISTRIBUTED = "distributed"
    REVOKED = "revoked"


class RedemptionStatus(enum.StrEnum):
    RESERVED = "reserved"  # the order is placed, not paid yet
    CONFIRMED = "confirmed"  # the order was paid
    RELEASED = "released"  # the payment failed or the order was cancelled: the use came back


class Terms:
    """What coupons and promo codes share: the discount, when and for what it applies, how often."""

    discount_method: Mapped[DiscountMethod] = mapped_column(enum_type(DiscountMethod))
    discount_value: Mapped[Decimal] = mapped_column(Money)  # an amount, or a percentage (0, 100]
    discount_currency: Mapped[str | None] = mapped_column(String(3))  # fixed amounts only
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: unlimited validity
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uses_per_client: Mapped[int | None]  # None: unlimited within the validity period
    total_cap: Mapped[int | None]  # None: no cap across all clients
    redeemed: Mapped[int] = mapped_column(default=0)  # uses reserved or confirmed, all clients
    minimum_fee: Mapped[Decimal | None] = mapped_column(Money)
    minimum_fee_currency: Mapped[str | None] = mapped_column(String(3))
    challenge_ids: Mapped[list[int] | None] = mapped_column(JSON)  # None: every challenge

    @property
    def withdrawn(self) -> bool:
        """Taken out of use by the broker (a revoked coupon, a disabled promo code)."""
        raise NotImplementedError


class Coupon(Terms, TenantOwned, Base):
    __tablename__ = "coupons_coupons"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    use_case: Mapped[UseCase] = mapped_column(enum_type(UseCase), default=UseCase.PROP_TRADING)
    distribution_method: Mapped[DistributionMethod] = mapped_column(enum_type(DistributionMethod))
    promotion_link_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    allow_with_promo_codes: Mapped[bool] = mapped_column(default=False)
    status: Mapped[CouponStatus] = mapped_column(enum_type(CouponStatus), default=CouponStatus.UNDISTRIBUTED)
    popup_title: Mapped[str | None] = mapped_column(String(100))
    popup_text: Mapped[str | None] = mapped_column(String(1000))
    design_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    distributed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def withdrawn(self) -> bool:
        return self.status is CouponStatus.REVOKED


class CouponGrant(TenantOwned, Base):
    """A client holding a coupon; ``uses`` counts their reserved and confirmed uses."""

    __tablename__ = "coupons_grants"
    __audited__ = False  # distribution and redemptions are logged; this row only counts
    __table_args__ = (
        UniqueConstraint("coupon_id", "client_id"),
        Index("ix_coupons_grants_client", "tenant_id", "client_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons_coupons.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    uses: Mapped[int] = mapped_column(default=0)
    source: Mapped[DistributionMethod] = mapped_column(enum_type(DistributionMethod))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PromoCode(Terms, TenantOwned, Base):
    __tablename__ = "coupons_promo_codes"
    __table_args__ = (UniqueConstraint("tenant_id", "code_key"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    code: Mapped[str] = mapped_column(String(32))  # as entered
    code_key: Mapped[str] = mapped_column(String(32))  # upper case: codes are case-insensitive
    name: Mapped[str] = mapped_column(String(100))
    allow_with_coupons: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def withdrawn(self) -> bool:
        return not self.enabled  # disabled codes can be enabled again


class PromoUsage(TenantOwned, Base):
    """How many uses of a promo code one client has reserved or confirmed."""

    __tablename__ = "coupons_promo_usages"
    __audited__ = False
    __table_args__ = (UniqueConstraint("promo_code_id", "client_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    promo_code_id: Mapped[int] = mapped_column(ForeignKey("coupons_promo_codes.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    uses: Mapped[int] = mapped_column(default=0)


class Redemption(TenantOwned, Base):
    """A coupon or promo code used on an order: reserved, then confirmed or released."""

    __tablename__ = "coupons_redemptions"
    __table_args__ = (
        UniqueConstraint("order_id", "coupon_id"),
        UniqueConstraint("order_id", "promo_code_id"),
        Index("ix_coupons_redemptions_coupon", "tenant_id", "coupon_id", "status"),
        Index("ix_coupons_redemptions_promo", "tenant_id", "promo_code_id", "status"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("prop_orders.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    challenge_id: Mapped[int] = mapped_column(ForeignKey("prop_challenges.id", ondelete="CASCADE"))
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons_coupons.id", ondelete="SET NULL"))
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("coupons_grants.id", ondelete="SET NULL"))
    promo_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("coupons_promo_codes.id", ondelete="SET NULL")
    )
    discount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[RedemptionStatus] = mapped_column(
        enum_type(RedemptionStatus), default=RedemptionStatus.RESERVED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # confirmed or released
