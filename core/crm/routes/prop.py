"""Prop challenges and prop-challenge orders (back office)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import Field

from core.api.csv import CSV_RESPONSE, csv_export, model_rows
from core.api.deps import PathId, staff
from core.context import Ctx
from core.crm import prop
from core.crm.models import PropOrderStatus
from core.crm.schemas.prop import (
    OrderStatusIn,
    PropChallengeIn,
    PropChallengeOut,
    PropChallengeUpdate,
    PropOrderOut,
)
from core.schemas import AwareDatetime, Id, ListQuery, Page

router = APIRouter(tags=["prop trading"])


class ChallengeQuery(ListQuery):
    active: bool | None = None
    q: str | None = Field(default=None, max_length=100)


class OrderQuery(ListQuery):
    status: PropOrderStatus | None = None
    client_id: Id | None = None
    challenge_id: Id | None = None
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = None


@router.get("/prop/challenges", response_model=Page[PropChallengeOut])
def list_challenges(
    query: Annotated[ChallengeQuery, Query()], ctx: Ctx = staff("prop.read")
) -> Page[PropChallengeOut]:
    return Page.of(prop.list_challenges(ctx, query.paging, **query.filters()), PropChallengeOut)


@router.post("/prop/challenges", response_model=PropChallengeOut, status_code=201)
def create_challenge(body: PropChallengeIn, ctx: Ctx = staff("prop.manage")) -> PropChallengeOut:
    return PropChallengeOut.model_validate(prop.create_challenge(ctx, body))


@router.get("/prop/challenges/{challenge_id}", response_model=PropChallengeOut)
def get_challenge(challenge_id: PathId, ctx: Ctx = staff("prop.read")) -> PropChallengeOut:
    return PropChallengeOut.model_validate(prop.get_challenge(ctx, challenge_id))


@router.patch(
    "/prop/challenges/{challenge_id}",
    response_model=PropChallengeOut,
    description="Placed orders keep the price they were placed at.",
)
def update_challenge(
    challenge_id: PathId, body: PropChallengeUpdate, ctx: Ctx = staff("prop.manage")
) -> PropChallengeOut:
    return PropChallengeOut.model_validate(prop.update_challenge(ctx, challenge_id, body))


@router.delete(
    "/prop/challenges/{challenge_id}",
    status_code=204,
    description="Refused once the challenge has orders: deactivate it instead.",
)
def delete_challenge(challenge_id: PathId, ctx: Ctx = staff("prop.manage")) -> Response:
    prop.delete_challenge(ctx, challenge_id)
    return Response(status_code=204)


@router.get(
    "/prop/orders", response_model=Page[PropOrderOut], summary="Orders of clients within my data permissions"
)
def list_orders(query: Annotated[OrderQuery, Query()], ctx: Ctx = staff("prop.read")) -> Page[PropOrderOut]:
    return Page.of(prop.list_orders(ctx, query.paging, **query.filters()), PropOrderOut)


@router.get(
    "/prop/orders/export",
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,
    summary="Order report as CSV",
)
def export_orders(query: Annotated[OrderQuery, Query()], ctx: Ctx = staff("prop.read")) -> StreamingResponse:
    filters = query.filters()
    return csv_export(
        ctx,
        "prop-orders.csv",
        list(PropOrderOut.model_fields),
        lambda reader: model_rows(PropOrderOut, prop.iter_orders(reader, **filters)),
    )


@router.get("/prop/orders/{order_id}", response_model=PropOrderOut)
def get_order(order_id: PathId, ctx: Ctx = staff("prop.read")) -> PropOrderOut:
    return PropOrderOut.model_validate(prop.get_order(ctx, order_id))


def _move(ctx: Ctx, order_id: PathId, target: PropOrderStatus, body: OrderStatusIn | None) -> PropOrderOut:
    return PropOrderOut.model_validate(
        prop.set_status(ctx, order_id, target, reason=body.reason if body else "")
    )


@router.post("/prop/orders/{order_id}/paid", response_model=PropOrderOut, summary="Record the payment")
def mark_paid(
    order_id: PathId, body: OrderStatusIn | None = None, ctx: Ctx = staff("prop_orders.manage")
) -> PropOrderOut:
    return _move(ctx, order_id, PropOrderStatus.PAID, body)


@router.post("/prop/orders/{order_id}/failed", response_model=PropOrderOut, summary="Record a failed payment")
def mark_failed(
    order_id: PathId, body: OrderStatusIn | None = None, ctx: Ctx = staff("prop_orders.manage")
) -> PropOrderOut:
    return _move(ctx, order_id, PropOrderStatus.FAILED, body)


@router.post("/prop/orders/{order_id}/cancel", response_model=PropOrderOut)
def cancel(
    order_id: PathId, body: OrderStatusIn | None = None, ctx: Ctx = staff("prop_orders.manage")
) -> PropOrderOut:
    return _move(ctx, order_id, PropOrderStatus.CANCELLED, body)
