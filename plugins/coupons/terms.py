"""A discount's terms (what coupons and promo codes share): whether they may be saved, and whether
a client may use them now."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.sdk import Ctx, InvalidInput, PropChallenge, check_company_currency, check_precision
from plugins.coupons.models import DiscountMethod, Terms
from plugins.coupons.schemas import TermsIn


def terms_of(data: Any) -> dict[str, Any]:
    """The term fields of a request, to create a coupon or promo code with."""
    return {name: getattr(data, name) for name in TermsIn.model_fields}


def check_terms(ctx: Ctx, terms: Any) -> None:
    """The rules across a discount's fields, on the terms as they will be saved."""
    if terms.discount_method is DiscountMethod.PERCENTAGE:
        if terms.discount_value > 100:
            raise InvalidInput("discount_value", "a percentage is at most 100")
        if terms.discount_currency is not None:
            raise InvalidInput("discount_currency", "a percentage discount has no currency")
    elif terms.discount_currency is None:
        raise InvalidInput("discount_currency", "a fixed amount needs its currency")
    else:
        check_company_currency(ctx, terms.discount_currency, field="discount_currency")
        check_precision(terms.discount_value, terms.discount_currency, field="discount_value")
    if (terms.valid_from is None) != (terms.valid_until is None):
        raise InvalidInput("valid_until", "give both ends of the validity period, or neither for unlimited")
    if terms.valid_from is not None and terms.valid_from >= terms.valid_until:
        raise InvalidInput("valid_until", "must be after valid_from")
    if (terms.minimum_fee is None) != (terms.minimum_fee_currency is None):
        raise InvalidInput(
            "minimum_fee_currency", "a minimum fee needs its currency, and the other way round"
        )
    if terms.minimum_fee is not None:
        check_company_currency(ctx, terms.minimum_fee_currency, field="minimum_fee_currency")
        check_precision(terms.minimum_fee, terms.minimum_fee_currency, field="minimum_fee")
    if terms.challenge_ids:
        known = set(
            ctx.session.scalars(select(PropChallenge.id).where(PropChallenge.id.in_(terms.challenge_ids)))
        )
        missing = [i for i in terms.challenge_ids if i not in known]
        if missing:
            raise InvalidInput("challenge_ids", f"no prop challenge {missing[0]}")


class Unusable(enum.StrEnum):
    """Why a client cannot use a discount now."""

    WITHDRAWN = "revoked"  # a revoked coupon, a disabled promo code
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    USED_UP = "used_up"  # the client's own uses are at the limit
    SOLD_OUT = "sold_out"  # the total cap across all clients is reached


def has_expired(terms: Terms, now: datetime) -> bool:
    return terms.valid_until is not None and terms.valid_until < now


def unusable(terms: Terms, uses: int, now: datetime) -> Unusable | None:
    """Why a client who has taken ``uses`` of the discount cannot use it now, or None."""
    if terms.withdrawn:
        return Unusable.WITHDRAWN
    if terms.valid_from is not None and now < terms.valid_from:
        return Unusable.NOT_STARTED
    if has_expired(terms, now):
        return Unusable.EXPIRED
    if terms.uses_per_client is not None and uses >= terms.uses_per_client:
        return Unusable.USED_UP
    if terms.total_cap is not None and terms.redeemed >= terms.total_cap:
        return Unusable.SOLD_OUT
    return None
