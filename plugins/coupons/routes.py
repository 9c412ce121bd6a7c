"""Coupons and Promo Codes: the back office (/api/v1/plugins/coupons/) and the client portal
(/api/v1/portal/plugins/coupons/)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from core.sdk import CSV_RESPONSE, Ctx, Page, PathId, csv_export, portal, staff
from plugins.coupons import service
from plugins.coupons.designs import DESIGNS
from plugins.coupons.schemas import (
    CouponIn,
    CouponOut,
    CouponQuery,
    CouponStatisticsOut,
    CouponUpdate,
    DesignOut,
    DistributedOut,
    DistributeIn,
    HolderOut,
    HolderQuery,
    MyCouponOut,
    PromoCodeIn,
    PromoCodeOut,
    PromoCodeUpdate,
    PromoQuery,
    PromoStatisticsOut,
)

router = APIRouter()
portal_router = APIRouter()

READ, UPDATE = "coupons.read", "coupons.update"
HOLDER_COLUMNS = ["client_id", "client_name", "client_email", "uses", "state", "challenges", "granted_at"]


def holder_rows(holders: Iterable[service.HolderRow]) -> Iterator[dict[str, object]]:
    for holder in holders:
        row = asdict(holder)
        row["challenges"] = "; ".join(holder.challenges)
        yield row


# --- coupons -------------------------------------------------------------------------------------


@router.get("/designs", response_model=list[DesignOut], summary="The built-in coupon designs")
def designs(ctx: Ctx = staff(READ)) -> list[DesignOut]:
    return [DesignOut.model_validate(d) for d in DESIGNS]


@router.get("/coupons", response_model=Page[CouponOut], summary="Coupons")
def list_coupons(query: Annotated[CouponQuery, Query()], ctx: Ctx = staff(READ)) -> Page[CouponOut]:
    return Page.of(service.list_coupons(ctx, query.paging, **query.filters()), CouponOut)


@router.post("/coupons", response_model=CouponOut, status_code=201, summary="Create a coupon (undistributed)")
def create_coupon(body: CouponIn, ctx: Ctx = staff(UPDATE)) -> CouponOut:
    return CouponOut.model_validate(service.create_coupon(ctx, body))


@router.get("/coupons/{coupon_id}", response_model=CouponOut)
def get_coupon(coupon_id: PathId, ctx: Ctx = staff(READ)) -> CouponOut:
    return CouponOut.model_validate(service.get_coupon(ctx, coupon_id))


@router.patch(
    "/coupons/{coupon_id}",
    response_model=CouponOut,
    description="Only while undistributed (409 afterwards: a distributed coupon can only be viewed).",
)
def update_coupon(coupon_id: PathId, body: CouponUpdate, ctx: Ctx = staff(UPDATE)) -> CouponOut:
    return CouponOut.model_validate(service.update_coupon(ctx, coupon_id, body))


@router.delete("/coupons/{coupon_id}", status_code=204, description="Only while undistributed.")
def delete_coupon(coupon_id: PathId, ctx: Ctx = staff(UPDATE)) -> Response:
    service.delete_coupon(ctx, coupon_id)
    return Response(status_code=204)


@router.post(
    "/coupons/{coupon_id}/distribute",
    response_model=DistributedOut,
    summary="Distribute: to chosen clients and groups now, or to sign-ups through its links",
)
def distribute(coupon_id: PathId, body: DistributeIn, ctx: Ctx = staff(UPDATE)) -> DistributedOut:
    coupon, recipients = service.distribute(ctx, coupon_id, body)
    return DistributedOut(coupon=CouponOut.model_validate(coupon), recipients=recipients)


@router.post(
    "/coupons/{coupon_id}/revoke",
    response_model=CouponOut,
    description="Unused uses become invalid at once; redemptions already made stay on record. An order "
    "already placed with the coupon and not paid yet keeps its price and its reserved use, as placed "
    "orders do when a fee changes: paying it confirms the use; a failed payment or a cancellation "
    "releases it, and the revoked coupon cannot be used again.",
)
def revoke(coupon_id: PathId, ctx: Ctx = staff(UPDATE)) -> CouponOut:
    return CouponOut.model_validate(service.revoke(ctx, coupon_id))


@router.get(
    "/coupons/{coupon_id}/statistics",
    response_model=CouponStatisticsOut,
    summary="Available, redeemed and holders (within my data permissions)",
)
def coupon_statistics(coupon_id: PathId, ctx: Ctx = staff(READ)) -> CouponStatisticsOut:
    return CouponStatisticsOut.model_validate(service.coupon_statistics(ctx, coupon_id))


@router.get(
    "/coupons/{coupon_id}/clients",
    response_model=Page[HolderOut],
    summary="Clients holding the coupon, each with its state and the challenges it paid for",
)
def coupon_holders(
    coupon_id: PathId, query: Annotated[HolderQuery, Query()], ctx: Ctx = staff(READ)
) -> Page[HolderOut]:
    return Page.of(service.coupon_holders(ctx, coupon_id, query.paging, **query.filters()), HolderOut)


@router.get(
    "/coupons/{coupon_id}/clients/export",
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,
    summary="The client list as CSV",
)
def export_coupon_holders(
    coupon_id: PathId, query: Annotated[HolderQuery, Query()], ctx: Ctx = staff(READ)
) -> StreamingResponse:
    service.get_coupon(ctx, coupon_id)  # 404 before the stream starts
    state = query.state
    return csv_export(
        ctx,
        f"coupon-{coupon_id}-clients.csv",
        HOLDER_COLUMNS,
        lambda reader: holder_rows(service.iter_coupon_holders(reader, coupon_id, state=state)),
    )


# --- promo codes ---------------------------------------------------------------------------------


@router.get("/promo-codes", response_model=Page[PromoCodeOut], summary="Promo codes")
def list_promo_codes(query: Annotated[PromoQuery, Query()], ctx: Ctx = staff(READ)) -> Page[PromoCodeOut]:
    return Page.of(service.list_promo_codes(ctx, query.paging, **query.filters()), PromoCodeOut)


@router.post(
    "/promo-codes",
    response_model=PromoCodeOut,
    status_code=201,
    description="Codes are unique per company, ignoring case.",
)
def create_promo_code(body: PromoCodeIn, ctx: Ctx = staff(UPDATE)) -> PromoCodeOut:
    return PromoCodeOut.model_validate(service.create_promo_code(ctx, body))


@router.get("/promo-codes/{promo_id}", response_model=PromoCodeOut)
def get_promo_code(promo_id: PathId, ctx: Ctx = staff(READ)) -> PromoCodeOut:
    return PromoCodeOut.model_validate(service.get_promo_code(ctx, promo_id))


@router.patch(
    "/promo-codes/{promo_id}",
    response_model=PromoCodeOut,
    description="Enable/disable, rename, end or cap at any time; discount terms only until first use.",
)
def update_promo_code(promo_id: PathId, body: PromoCodeUpdate, ctx: Ctx = staff(UPDATE)) -> PromoCodeOut:
    return PromoCodeOut.model_validate(service.update_promo_code(ctx, promo_id, body))


@router.delete("/promo-codes/{promo_id}", status_code=204, description="Only a code never used.")
def delete_promo_code(promo_id: PathId, ctx: Ctx = staff(UPDATE)) -> Response:
    service.delete_promo_code(ctx, promo_id)
    return Response(status_code=204)


@router.get("/promo-codes/{promo_id}/statistics", response_model=PromoStatisticsOut)
def promo_statistics(promo_id: PathId, ctx: Ctx = staff(READ)) -> PromoStatisticsOut:
    return PromoStatisticsOut.model_validate(service.promo_statistics(ctx, promo_id))


@router.get(
    "/promo-codes/{promo_id}/clients", response_model=Page[HolderOut], summary="Clients who used the code"
)
def promo_users(
    promo_id: PathId, query: Annotated[HolderQuery, Query()], ctx: Ctx = staff(READ)
) -> Page[HolderOut]:
    return Page.of(service.promo_users(ctx, promo_id, query.paging, **query.filters()), HolderOut)


@router.get(
    "/promo-codes/{promo_id}/clients/export", response_class=StreamingResponse, responses=CSV_RESPONSE
)
def export_promo_users(
    promo_id: PathId, query: Annotated[HolderQuery, Query()], ctx: Ctx = staff(READ)
) -> StreamingResponse:
    service.get_promo_code(ctx, promo_id)
    state = query.state
    return csv_export(
        ctx,
        f"promo-{promo_id}-clients.csv",
        HOLDER_COLUMNS,
        lambda reader: holder_rows(service.iter_promo_users(reader, promo_id, state=state)),
    )


# --- the client portal ---------------------------------------------------------------------------


@portal_router.get(
    "/coupons",
    response_model=list[MyCouponOut],
    summary="My coupons: the valid ones first, and the others with why",
)
def my_coupons(ctx: Ctx = portal()) -> list[MyCouponOut]:
    assert ctx.principal is not None
    held = service.wallet(ctx, ctx.principal.id)
    held.sort(key=lambda h: h.unusable is not None)
    return [
        MyCouponOut(
            id=h.coupon.id,
            name=h.coupon.name,
            discount_method=h.coupon.discount_method,
            discount_value=h.coupon.discount_value,
            discount_currency=h.coupon.discount_currency,
            valid_from=h.coupon.valid_from,
            valid_until=h.coupon.valid_until,
            uses_left=h.uses_left,
            valid=h.unusable is None,
            reason=h.reason,
            design_id=h.coupon.design_id,
            challenge_ids=h.coupon.challenge_ids,
        )
        for h in held
    ]
