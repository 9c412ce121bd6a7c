"""Prop challenges and prop-challenge orders.

An order is placed at the price ``core.crm.pricing.price_order`` computes when it is placed
(the client never sends a price), then moves once from placed to paid, failed or cancelled.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from core.context import Ctx
from core.contract import Quote
from core.crm.clients import get_client
from core.crm.data_permissions import get_client_owned, scope_client_owned
from core.crm.models import Client, PropChallenge, PropOrder, PropOrderStatus
from core.crm.money import check_company_currency, check_precision
from core.crm.pricing import price_order
from core.crm.schemas.prop import OrderIn, PropChallengeIn, PropChallengeUpdate
from core.db.base import utcnow
from core.db.filters import created_between, where_equal
from core.db.lookup import ensure_unique, fetch
from core.db.paging import PageRequest, PageResult, paginate
from core.errors import Conflict, InvalidInput
from core.plugins.dispatch import chain, fire
from core.schemas import apply_changes

# --- challenges --------------------------------------------------------------------------------


def list_challenges(
    ctx: Ctx, page: PageRequest, *, active: bool | None = None, q: str | None = None
) -> PageResult[PropChallenge]:
    stmt = select(PropChallenge).order_by(PropChallenge.fee, PropChallenge.id)
    if active is not None:
        stmt = stmt.where(PropChallenge.active == active)
    if q:
        stmt = stmt.where(func.lower(PropChallenge.name).like(f"%{q.lower()}%"))
    return paginate(ctx.session, stmt, page)


def active_challenges(ctx: Ctx) -> list[PropChallenge]:
    return list(
        ctx.session.scalars(
            select(PropChallenge).where(PropChallenge.active).order_by(PropChallenge.fee, PropChallenge.id)
        )
    )


def challenge_names(ctx: Ctx, challenge_ids: set[int] | list[int]) -> dict[int, str]:
    """The names of these challenges (offered or not), by id: for lists of orders."""
    if not challenge_ids:
        return {}
    rows = ctx.session.execute(
        select(PropChallenge.id, PropChallenge.name).where(PropChallenge.id.in_(set(challenge_ids)))
    )
    return {challenge_id: name for challenge_id, name in rows}


def get_challenge(ctx: Ctx, challenge_id: int, *, field: str | None = None) -> PropChallenge:
    return fetch(ctx.session, PropChallenge, challenge_id, label="prop challenge", field=field)


def create_challenge(ctx: Ctx, data: PropChallengeIn) -> PropChallenge:
    ctx.require("prop.manage")
    check_company_currency(ctx, data.currency)
    check_precision(data.fee, data.currency, field="fee")
    ensure_unique(ctx.session, PropChallenge.name, data.name, label="prop challenge")
    challenge = PropChallenge(
        name=data.name,
        description=data.description,
        fee=data.fee,
        currency=data.currency,
        active=data.active,
        tenant_id=ctx.tenant_id,
    )
    ctx.session.add(challenge)
    ctx.session.flush()
    return challenge


def update_challenge(ctx: Ctx, challenge_id: int, data: PropChallengeUpdate) -> PropChallenge:
    """Changes apply to orders placed from now on; placed orders keep their price."""
    ctx.require("prop.manage")
    challenge = get_challenge(ctx, challenge_id)
    changes = data.changes()
    if "name" in changes:
        ensure_unique(
            ctx.session, PropChallenge.name, changes["name"], label="prop challenge", exclude_id=challenge.id
        )
    if changes.get("currency", challenge.currency) != challenge.currency:
        check_company_currency(ctx, changes["currency"])
    apply_changes(challenge, changes)
    check_precision(challenge.fee, challenge.currency, field="fee")
    ctx.session.flush()
    return challenge


def delete_challenge(ctx: Ctx, challenge_id: int) -> None:
    ctx.require("prop.manage")
    challenge = get_challenge(ctx, challenge_id)
    if ctx.session.scalar(select(PropOrder.id).where(PropOrder.challenge_id == challenge.id).limit(1)):
        raise Conflict("the challenge has orders; deactivate it instead")
    ctx.session.delete(challenge)
    ctx.session.flush()


# --- quotes and orders -------------------------------------------------------------------------


def _orderable(ctx: Ctx, client_id: int, challenge_id: int) -> tuple[Client, PropChallenge]:
    client = get_client(ctx, client_id)
    if client.suspended:
        raise Conflict("a suspended account cannot place orders")
    challenge = get_challenge(ctx, challenge_id, field="challenge_id")
    if not challenge.active:
        raise InvalidInput("challenge_id", "this challenge is not offered any more")
    return client, challenge


def quote(ctx: Ctx, client_id: int, challenge_id: int, options: dict[str, Any] | None = None) -> Quote:
    client, challenge = _orderable(ctx, client_id, challenge_id)
    return price_order(ctx, client, challenge, options)


def offers(ctx: Ctx, client_id: int) -> list[tuple[PropChallenge, Quote]]:
    """Active challenges with the price this client would pay at best: priced for an *offer*,
    where modules may apply their best automatic discount (the client's best coupon, say)."""
    client = get_client(ctx, client_id)
    return [
        (challenge, price_order(ctx, client, challenge, purpose="offer"))
        for challenge in active_challenges(ctx)
    ]


def _by_key(ctx: Ctx, client_id: int, key: str) -> PropOrder | None:
    return ctx.session.scalar(
        select(PropOrder).where(PropOrder.client_id == client_id, PropOrder.idempotency_key == key)
    )


def _replay(existing: PropOrder, data: OrderIn) -> PropOrder:
    if existing.challenge_id != data.challenge_id or existing.pricing_options != dict(data.options):
        raise Conflict("this Idempotency-Key was used for a different order")
    return existing


def place_order(
    ctx: Ctx, client_id: int, data: OrderIn, *, idempotency_key: str | None = None
) -> tuple[PropOrder, bool]:
    """Place an order at the server-computed price. With an idempotency key, a retry returns the
    first order (``created`` is False) — also when two identical requests race."""
    if idempotency_key is not None and (existing := _by_key(ctx, client_id, idempotency_key)):
        return _replay(existing, data), False
    client, challenge = _orderable(ctx, client_id, data.challenge_id)
    priced = price_order(ctx, client, challenge, data.options, purpose="order")
    order = PropOrder(
        client_id=client.id,
        challenge_id=challenge.id,
        list_price=priced.list_price,
        final_price=priced.final_price,
        currency=priced.currency,
        adjustments=[a.as_json() for a in priced.adjustments],
        pricing_options=dict(data.options),
        idempotency_key=idempotency_key,
        tenant_id=ctx.tenant_id,
    )
    try:
        with ctx.session.begin_nested():
            ctx.session.add(order)
            ctx.session.flush()
            # Modules reserve what the price relied on (a coupon use), or refuse the order.
            chain(ctx, "crm_order_placing", order=order, quote=priced)
    except IntegrityError:
        if idempotency_key is None:
            raise
        # A concurrent request with the same key committed first: answer with its order.
        existing = _by_key(ctx, client_id, idempotency_key)
        if existing is None:
            raise
        return _replay(existing, data), False
    return order, True


def _orders(
    ctx: Ctx, *, created_from: datetime | None = None, created_to: datetime | None = None, **equal: Any
) -> Select[Any]:
    stmt = scope_client_owned(select(PropOrder), ctx.principal, PropOrder.client_id)
    stmt = created_between(where_equal(stmt, PropOrder, **equal), PropOrder, created_from, created_to)
    return stmt.order_by(PropOrder.id.desc())


def list_orders(ctx: Ctx, page: PageRequest, **filters: Any) -> PageResult[PropOrder]:
    """Filters: status, client_id, challenge_id, created_from, created_to."""
    return paginate(ctx.session, _orders(ctx, **filters), page)


def iter_orders(ctx: Ctx, **filters: Any) -> Iterator[PropOrder]:
    yield from ctx.session.scalars(_orders(ctx, **filters).execution_options(yield_per=1000))


def get_order(ctx: Ctx, order_id: int, *, for_update: bool = False) -> PropOrder:
    order: PropOrder = get_client_owned(ctx, PropOrder, order_id, label="order", for_update=for_update)
    return order


def set_status(ctx: Ctx, order_id: int, target: PropOrderStatus, *, reason: str = "") -> PropOrder:
    """Move a placed order to paid, failed or cancelled, once. The same move again changes
    nothing; any other move is refused."""
    if ctx.principal is None or ctx.principal.is_back_office:
        ctx.require("prop_orders.manage")
    order = get_order(ctx, order_id, for_update=True)
    if order.status is target:
        return order
    if order.status is not PropOrderStatus.PLACED:
        raise Conflict(f"the order is already {order.status.value}")
    order.status = target
    order.status_changed_at = utcnow()
    if target is PropOrderStatus.FAILED:
        order.failure_reason = reason or "payment failed"
    ctx.session.flush()
    fire(ctx, f"crm_order_{target.value}", order=order)
    return order
