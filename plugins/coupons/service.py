"""The coupons plugin's service functions in one place, for its routes and hooks (and the bench).
Each lives in the room named after what it is about; this module only gathers them."""

from __future__ import annotations

from plugins.coupons.coupons import (
    create_coupon,
    delete_coupon,
    get_coupon,
    list_coupons,
    revoke,
    update_coupon,
)
from plugins.coupons.currencies import currency_uses
from plugins.coupons.demo import seed_demo
from plugins.coupons.distribution import distribute, grant_on_registration
from plugins.coupons.holders import (
    HolderRow,
    coupon_holders,
    iter_coupon_holders,
    iter_promo_users,
    promo_users,
)
from plugins.coupons.pricing import price
from plugins.coupons.promo_codes import (
    create_promo_code,
    delete_promo_code,
    get_promo_code,
    list_promo_codes,
    promo_by_code,
    update_promo_code,
)
from plugins.coupons.redemptions import reserve, settle
from plugins.coupons.statistics import coupon_statistics, promo_statistics
from plugins.coupons.terms import check_terms, unusable
from plugins.coupons.wallet import WalletCoupon, usable_count, wallet

__all__ = [
    "HolderRow",
    "WalletCoupon",
    "check_terms",
    "coupon_holders",
    "coupon_statistics",
    "create_coupon",
    "create_promo_code",
    "currency_uses",
    "delete_coupon",
    "delete_promo_code",
    "distribute",
    "get_coupon",
    "get_promo_code",
    "grant_on_registration",
    "iter_coupon_holders",
    "iter_promo_users",
    "list_coupons",
    "list_promo_codes",
    "price",
    "promo_by_code",
    "promo_statistics",
    "promo_users",
    "reserve",
    "revoke",
    "seed_demo",
    "settle",
    "unusable",
    "update_coupon",
    "update_promo_code",
    "usable_count",
    "wallet",
]
