"""Distributing a coupon: to chosen clients and groups now, or to sign-ups through its links."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, insert, literal, select
from sqlalchemy.exc import IntegrityError

from core.sdk import (
    Client,
    Conflict,
    Ctx,
    InvalidInput,
    PromotionLink,
    UTCDateTime,
    audience_query,
    create_popup,
    enum_type,
    popup_each,
    record_action,
    tenant_insert,
    utcnow,
)
from plugins.coupons.coupons import get_coupon
from plugins.coupons.designs import DESIGN_IDS
from plugins.coupons.models import Coupon, CouponGrant, CouponStatus, DistributionMethod
from plugins.coupons.schemas import DistributeIn


def _popup_data(coupon: Coupon) -> dict[str, Any]:
    return {"coupon_id": coupon.id, "design_id": coupon.design_id}


def distribute(ctx: Ctx, coupon_id: int, data: DistributeIn) -> tuple[Coupon, int]:
    """Manual: grant the coupon now to the chosen clients and the members of the chosen groups and
    segments (each once, within the user's data permissions), each with the pop-up. Promotion
    links: from now on, each client who signs up through one of the coupon's links receives it."""
    ctx.require("coupons.update")
    coupon = get_coupon(ctx, coupon_id, lock=True)
    if coupon.status is not CouponStatus.UNDISTRIBUTED:
        raise Conflict(f"the coupon was already {coupon.status.value}")
    if data.design_id not in DESIGN_IDS:
        raise InvalidInput(
            "design_id", f"no design {data.design_id!r}; choose one of {', '.join(sorted(DESIGN_IDS))}"
        )
    coupon.popup_title, coupon.popup_text, coupon.design_id = (
        data.popup_title,
        data.popup_text,
        data.design_id,
    )
    recipients = 0
    if coupon.distribution_method is DistributionMethod.MANUAL:
        clients = audience_query(ctx, data.client_ids, data.group_ids, segments=data.segments)
        recipients = _grant_all(ctx, coupon, clients)
        if recipients == 0:
            field = "group_ids" if data.group_ids else "segments" if data.segments else "client_ids"
            raise InvalidInput(field, "no client to distribute to")
        popup_each(
            ctx, clients, coupon.popup_title, coupon.popup_text, source="coupons", data=_popup_data(coupon)
        )
    elif data.client_ids or data.group_ids or data.segments:
        raise InvalidInput("client_ids", "a promotion-link coupon goes to new sign-ups: choose no clients")
    coupon.status, coupon.distributed_at = CouponStatus.DISTRIBUTED, utcnow()
    ctx.session.flush()
    record_action(
        ctx.session,
        entity="coupons_coupons",
        entity_id=str(coupon.id),
        action="distribute",
        after={
            "recipients": recipients,
            "client_ids": data.client_ids,
            "group_ids": data.group_ids,
            "segments": data.segments,
            "design_id": data.design_id,
        },
    )
    return coupon, recipients


def _grant_all(ctx: Ctx, coupon: Coupon, clients: Select[Any]) -> int:
    ids = clients.subquery()
    rows = select(
        literal(ctx.tenant_id),
        literal(coupon.id),
        ids.c.id,
        literal(0),
        literal(DistributionMethod.MANUAL.value, type_=enum_type(DistributionMethod)),
        literal(utcnow(), type_=UTCDateTime),
    )
    result = tenant_insert(
        ctx.session,
        insert(CouponGrant).from_select(
            ["tenant_id", "coupon_id", "client_id", "uses", "source", "granted_at"], rows
        ),
    )
    return result.rowcount or 0


def grant_on_registration(ctx: Ctx, client: Client, link: PromotionLink) -> int:
    """A client signed up through a link: grant every distributed coupon of that link, with its pop-up."""
    granted = 0
    coupons = ctx.session.scalars(
        select(Coupon).where(
            Coupon.status == CouponStatus.DISTRIBUTED,
            Coupon.distribution_method == DistributionMethod.PROMOTION_LINKS,
        )
    )
    for coupon in coupons:
        if link.id not in (coupon.promotion_link_ids or []):
            continue
        try:
            with ctx.session.begin_nested():
                ctx.session.add(
                    CouponGrant(
                        coupon_id=coupon.id,
                        client_id=client.id,
                        tenant_id=ctx.tenant_id,
                        source=DistributionMethod.PROMOTION_LINKS,
                    )
                )
                ctx.session.flush()
        except IntegrityError:
            continue  # already holds it
        create_popup(
            ctx,
            client.id,
            coupon.popup_title or coupon.name,
            coupon.popup_text or "",
            source="coupons",
            data=_popup_data(coupon),
        )
        granted += 1
    return granted
