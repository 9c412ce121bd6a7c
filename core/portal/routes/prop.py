"""Client portal: prop challenges on offer, quotes and my orders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from core.api.deps import PathId, portal
from core.context import Ctx
from core.contract import Quote
from core.crm import prop
from core.crm.models import PropOrderStatus
from core.crm.schemas.prop import ChallengeOfferOut, OrderIn, PriceAdjustmentOut, PropOrderOut, QuoteOut
from core.schemas import ListQuery, Page

router = APIRouter(tags=["portal"])


def _adjustments(quote: Quote) -> list[PriceAdjustmentOut]:
    return [PriceAdjustmentOut(**a.as_json()) for a in quote.adjustments]


def _client(ctx: Ctx) -> int:
    assert ctx.principal is not None
    return ctx.principal.id


@router.get(
    "/prop/challenges",
    response_model=list[ChallengeOfferOut],
    summary="Challenges on offer, with the price I would pay",
)
def offers(ctx: Ctx = portal()) -> list[ChallengeOfferOut]:
    return [
        ChallengeOfferOut(
            id=c.id,
            name=c.name,
            description=c.description,
            currency=c.currency,
            fee=c.fee,
            price=q.final_price,
            adjustments=_adjustments(q),
        )
        for c, q in prop.offers(ctx, _client(ctx))
    ]


@router.post("/prop/quote", response_model=QuoteOut, summary="Price a challenge with my checkout options")
def quote(body: OrderIn, ctx: Ctx = portal()) -> QuoteOut:
    q = prop.quote(ctx, _client(ctx), body.challenge_id, body.options)
    return QuoteOut(
        challenge_id=q.challenge_id,
        currency=q.currency,
        list_price=q.list_price,
        final_price=q.final_price,
        adjustments=_adjustments(q),
    )


@router.post(
    "/prop/orders",
    response_model=PropOrderOut,
    status_code=201,
    summary="Place an order at the server-computed price",
    description="Send an `Idempotency-Key` header to make retries safe: the same key returns the "
    "first order (200) instead of placing another.",
    responses={200: {"model": PropOrderOut, "description": "The order placed earlier with this key"}},
)
def place_order(
    body: OrderIn,
    response: Response,
    ctx: Ctx = portal(),
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=100)
    ] = None,
) -> PropOrderOut:
    order, created = prop.place_order(ctx, _client(ctx), body, idempotency_key=idempotency_key)
    if not created:
        response.status_code = 200
    return PropOrderOut.model_validate(order)


class MyOrderQuery(ListQuery):
    status: PropOrderStatus | None = None


@router.get("/prop/orders", response_model=Page[PropOrderOut], summary="My orders")
def my_orders(query: Annotated[MyOrderQuery, Query()], ctx: Ctx = portal()) -> Page[PropOrderOut]:
    return Page.of(prop.list_orders(ctx, query.paging, **query.filters()), PropOrderOut)


@router.post("/prop/orders/{order_id}/cancel", response_model=PropOrderOut, summary="Cancel my placed order")
def cancel(order_id: PathId, ctx: Ctx = portal()) -> PropOrderOut:
    return PropOrderOut.model_validate(prop.set_status(ctx, order_id, PropOrderStatus.CANCELLED))
