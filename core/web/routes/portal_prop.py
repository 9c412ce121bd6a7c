"""The client portal's prop challenges (each with the price this client would pay), the purchase
page (a quote re-priced with the checkout options the modules add), and the client's orders."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from core.api.deps import Paging, PathId, portal
from core.context import Ctx
from core.crm import prop
from core.crm.clients import get_client
from core.crm.models import PropOrderStatus
from core.crm.schemas.prop import OrderIn
from core.errors import DomainError, InvalidInput
from core.web.forms import FormData, field_errors, parse_form
from core.web.pages import page

router = APIRouter(prefix="/portal")

OPTION_PREFIX = "option."


def _client_id(ctx: Ctx) -> int:
    assert ctx.principal is not None
    return ctx.principal.id


INTEGER_SUFFIX = ":int"


def checkout_options(form: dict[str, Any]) -> dict[str, Any]:
    """Every posted ``option.<name>`` field, as the checkout option ``<name>`` (a module's field
    left blank is no option). Form fields are text; a field named ``option.<name>:int`` is sent as
    a whole number (an id the module's pricing expects as one), or refused naming the field."""
    options: dict[str, Any] = {}
    for key, value in form.items():
        if not key.startswith(OPTION_PREFIX):
            continue
        name = key[len(OPTION_PREFIX) :]
        if name.endswith(INTEGER_SUFFIX):
            name = name[: -len(INTEGER_SUFFIX)]
            if not (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18):
                raise InvalidInput(key, "must be a whole number")
            value = int(value)
        options[name] = value
    return options


def option_errors(errors: dict[str, str]) -> dict[str, str]:
    """Pricing names a refused option ``options.<name>``; its field on the page is ``option.<name>``."""
    return {
        (OPTION_PREFIX + key[len("options.") :] if key.startswith("options.") else key): message
        for key, message in errors.items()
    }


@router.get("/challenges")
def challenges(request: Request, ctx: Ctx = portal()) -> Response:
    offers = prop.offers(ctx, _client_id(ctx))
    return page(request, ctx, "portal/challenges.html", {"offers": offers})


def _purchase(
    request: Request,
    ctx: Ctx,
    challenge_id: int,
    options: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    block: str | None = None,
    idempotency_key: str | None = None,
) -> Response:
    client = get_client(ctx, _client_id(ctx))
    challenge = prop.get_challenge(ctx, challenge_id)
    quote = None
    if not errors:
        try:
            with ctx.session.begin_nested():
                quote = prop.quote(ctx, client.id, challenge_id, options)
        except DomainError as error:
            errors, status_code = option_errors(field_errors(error)), error.status
    context = {
        "challenge": challenge,
        "client": client,
        "quote": quote,
        "options": options,
        "errors": errors or {},
        "idempotency_key": idempotency_key or uuid.uuid4().hex,
    }
    return page(request, ctx, "portal/buy.html", context, status_code=status_code, block=block)


@router.get("/challenges/{challenge_id}/buy")
def buy_page(request: Request, challenge_id: PathId, ctx: Ctx = portal()) -> Response:
    return _purchase(request, ctx, challenge_id, {})


@router.post("/challenges/{challenge_id}/quote")
def requote(request: Request, challenge_id: PathId, form: FormData, ctx: Ctx = portal()) -> Response:
    """htmx "Update price": the quote with the options chosen so far."""
    return _purchase(request, ctx, challenge_id, checkout_options(form), block="quote")


@router.post("/challenges/{challenge_id}/buy")
def place_order(request: Request, challenge_id: PathId, form: FormData, ctx: Ctx = portal()) -> Response:
    options = checkout_options(form)
    key = form.get("idempotency_key")
    try:
        data = parse_form(OrderIn, {"challenge_id": challenge_id, "options": options})
        with ctx.session.begin_nested():
            order, _ = prop.place_order(
                ctx, _client_id(ctx), data, idempotency_key=key if isinstance(key, str) and key else None
            )
    except DomainError as error:
        return _purchase(
            request, ctx, challenge_id, options, errors=option_errors(field_errors(error)),
            status_code=error.status,
        )  # fmt: skip
    return RedirectResponse(f"/portal/orders/{order.id}", status_code=303)


@router.get("/orders")
def orders(
    request: Request,
    paging: Paging,
    status: Annotated[PropOrderStatus | None, Query()] = None,
    ctx: Ctx = portal(),
) -> Response:
    result = prop.list_orders(ctx, paging, **({"status": status} if status else {}))
    names = prop.challenge_names(ctx, {order.challenge_id for order in result.items})
    context = {
        "result": result,
        "status": status.value if status else "",
        "statuses": list(PropOrderStatus),
        "names": names,
        "url": f"/portal/orders?{'status=' + status.value + '&' if status else ''}",
    }
    if request.headers.get("hx-request"):
        return page(request, ctx, "portal/orders.html", context, block="listing")
    return page(request, ctx, "portal/orders.html", context)


@router.get("/orders/{order_id}")
def order_page(request: Request, order_id: PathId, ctx: Ctx = portal()) -> Response:
    order = prop.get_order(ctx, order_id)
    challenge = prop.get_challenge(ctx, order.challenge_id)
    return page(request, ctx, "portal/order.html", {"order": order, "challenge": challenge})


@router.post("/orders/{order_id}/cancel")
def cancel_order(order_id: PathId, ctx: Ctx = portal()) -> Response:
    prop.set_status(ctx, order_id, PropOrderStatus.CANCELLED)
    return RedirectResponse(f"/portal/orders/{order_id}", status_code=303)
