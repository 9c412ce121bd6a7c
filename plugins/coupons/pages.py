"""Coupons and Promo Codes' pages: the back office's coupon list, form, distribute dialog and
statistics, the promo codes, and the client portal's coupons (a page, the notifications tab and the
checkout's fields). Each page calls the same services as the API routes (``routes.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import Field
from starlette.responses import Response

from core.sdk import (
    Conflict,
    Ctx,
    DomainError,
    FormData,
    Input,
    InvalidInput,
    PathId,
    csv_export,
    field_errors,
    list_segments,
    page,
    parse_form,
    portal,
    staff,
)
from plugins.coupons import choices, service
from plugins.coupons.designs import DESIGNS
from plugins.coupons.models import Coupon, CouponStatus, DiscountMethod, DistributionMethod
from plugins.coupons.pricing import COUPON_OPTION, PROMO_OPTION, discount, ineligible
from plugins.coupons.routes import HOLDER_COLUMNS, READ, UPDATE, holder_rows
from plugins.coupons.schemas import (
    CouponIn,
    CouponQuery,
    CouponUpdate,
    DistributeIn,
    HolderQuery,
    PromoCodeIn,
    PromoCodeUpdate,
    PromoQuery,
)

backoffice_pages = APIRouter()
portal_pages = APIRouter()

ROOT = "/backoffice/plugins/coupons"
NOTICES = {
    "created": "The coupon was created. It is undistributed until you distribute it.",
    "saved": "The coupon was saved.",
    "deleted": "The coupon was deleted.",
    "distributed": "The coupon was distributed.",
    "revoked": "The coupon was revoked: its unused uses are no longer valid.",
    "promo_created": "The promo code was created.",
    "promo_enabled": "The promo code was enabled.",
    "promo_disabled": "The promo code was disabled.",
    "promo_deleted": "The promo code was deleted.",
}
TERM_FIELDS = (
    "discount_method",
    "discount_value",
    "discount_currency",
    "total_cap",
    "minimum_fee",
    "minimum_fee_currency",
    "challenge_ids",
)


class Notice(Input):
    """A list page's query may also name the notice to show after an action (``?done=…``)."""

    done: str | None = Field(default=None, max_length=20)

    def filters(self) -> dict[str, Any]:
        return self.model_dump(exclude={"page", "per_page", "done"})


class CouponPageQuery(Notice, CouponQuery):
    pass


class PromoPageQuery(Notice, PromoQuery):
    pass


def _page(request: Request, ctx: Ctx, template: str, values: Mapping[str, Any], **options: Any) -> Response:
    """``page()`` with what every coupon template reads: where the module's pages are."""
    return page(request, ctx, template, {"root": ROOT, **values}, **options)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _done(url: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?done={notice}", status_code=303)


def _notice(done: str | None) -> str | None:
    return NOTICES.get(done or "")


def _query_url(request: Request, **drop: Any) -> str:
    """The list's URL with its filters (without the page), ready for ``page=N``."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "done", *drop)]
    query = "&".join(f"{k}={v}" for k, v in kept)
    return f"{request.url.path}?{query}&" if query else f"{request.url.path}?"


# --- forms: what a form's fields mean to the API's schemas -------------------------------------


def _terms_body(form: Mapping[str, Any], zone: str) -> dict[str, Any]:
    """The discount terms of a coupon or promo code form as the API's body: the parts the form's
    choices switch off (a currency for a percentage, a use count or dates when unlimited) left out."""
    body = {name: form[name] for name in TERM_FIELDS if name in form}
    if body.get("discount_method") == DiscountMethod.PERCENTAGE.value:
        body.pop("discount_currency", None)
    if form.get("use_count") == "fixed":
        if "uses_per_client" not in form:
            raise InvalidInput("uses_per_client", "give the number of uses per client")
        body["uses_per_client"] = form["uses_per_client"]
    if form.get("validity") == "fixed":
        for name in ("valid_from", "valid_until"):
            if name in form:
                body[name] = choices.from_local_input(str(form[name]), zone)
        if not body.get("valid_from") and not body.get("valid_until"):
            raise InvalidInput("valid_from", "give the start and end of the validity period")
    return body


def _coupon_body(form: Mapping[str, Any], zone: str) -> dict[str, Any]:
    body = _terms_body(form, zone)
    body.update({name: form[name] for name in ("name", "use_case", "distribution_method") if name in form})
    if form.get("distribution_method") == DistributionMethod.PROMOTION_LINKS.value:
        body["promotion_link_ids"] = form.get("promotion_link_ids", [])
    body["allow_with_promo_codes"] = "allow_with_promo_codes" in form
    return body


def _promo_body(form: Mapping[str, Any], zone: str) -> dict[str, Any]:
    body = _terms_body(form, zone)
    body.update({name: form[name] for name in ("code", "name") if name in form})
    body["allow_with_coupons"] = "allow_with_coupons" in form
    body["enabled"] = "enabled" in form
    return body


def _form_values(terms: Any, zone: str) -> dict[str, Any]:
    """A saved coupon's or promo code's values as its form shows them."""
    return {
        "discount_method": terms.discount_method.value,
        "discount_value": service_display(terms),
        "discount_currency": terms.discount_currency or "",
        "use_count": "unlimited" if terms.uses_per_client is None else "fixed",
        "uses_per_client": terms.uses_per_client or "",
        "validity": "unlimited" if terms.valid_from is None else "fixed",
        "valid_from": choices.local_input(terms.valid_from, zone),
        "valid_until": choices.local_input(terms.valid_until, zone),
        "total_cap": terms.total_cap or "",
        "minimum_fee": terms.minimum_fee if terms.minimum_fee is not None else "",
        "minimum_fee_currency": terms.minimum_fee_currency or "",
        "challenge_ids": [str(i) for i in terms.challenge_ids or []],
    }


def service_display(terms: Any) -> Any:
    from plugins.coupons.schemas import display_discount

    return display_discount(terms.discount_value, terms.discount_currency)


def _coupon_values(coupon: Coupon, zone: str) -> dict[str, Any]:
    return {
        **_form_values(coupon, zone),
        "name": coupon.name,
        "use_case": coupon.use_case.value,
        "distribution_method": coupon.distribution_method.value,
        "promotion_link_ids": [str(i) for i in coupon.promotion_link_ids or []],
        "allow_with_promo_codes": coupon.allow_with_promo_codes,
    }


NEW_COUPON = {
    "name": "",
    "use_case": "prop_trading",
    "discount_method": "percentage",
    "discount_value": "",
    "discount_currency": "",
    "distribution_method": "manual",
    "promotion_link_ids": [],
    "use_count": "unlimited",
    "uses_per_client": "",
    "allow_with_promo_codes": False,
    "validity": "unlimited",
    "valid_from": "",
    "valid_until": "",
    "total_cap": "",
    "minimum_fee": "",
    "minimum_fee_currency": "",
    "challenge_ids": [],
}
NEW_PROMO = {**NEW_COUPON, "code": "", "allow_with_coupons": False, "enabled": True}


def _posted_values(form: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The posted form as it was typed, to show it again beside its errors."""
    values = {**defaults, **form}
    for flag in ("allow_with_promo_codes", "allow_with_coupons", "enabled"):
        values[flag] = flag in form
    for many in ("promotion_link_ids", "challenge_ids", "client_ids", "group_ids", "segments"):
        item = form.get(many, [])
        values[many] = [str(i) for i in (item if isinstance(item, list) else [item])]
    return values


def _form_choices(ctx: Ctx) -> dict[str, Any]:
    return {
        "links": choices.promotion_links(ctx),
        "challenges": choices.challenges(ctx),
        "currencies": choices.currencies(ctx),
    }


# --- the coupon list -------------------------------------------------------------------------------


@backoffice_pages.get("/")
def coupon_list(
    request: Request, query: Annotated[CouponPageQuery, Query()], ctx: Ctx = staff(READ)
) -> Response:
    result = service.list_coupons(ctx, query.paging, **query.filters())
    values = {
        "result": result,
        "query": query,
        "url": _query_url(request),
        "flash": _notice(query.done),
        "can_update": ctx.principal is not None and ctx.principal.has(UPDATE),
        "statuses": list(CouponStatus),
        "methods": list(DistributionMethod),
    }
    if _is_htmx(request) and request.headers.get("hx-target") == "listing":
        return _page(request, ctx, "coupons/list.html", values, block="listing")
    return _page(request, ctx, "coupons/list.html", values)


# --- create, view, edit, delete ------------------------------------------------------------------


def _coupon_form(
    request: Request,
    ctx: Ctx,
    values: Mapping[str, Any],
    *,
    coupon: Coupon | None = None,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    editable = coupon is None or (
        coupon.status is CouponStatus.UNDISTRIBUTED
        and ctx.principal is not None
        and ctx.principal.has(UPDATE)
    )
    return _page(
        request,
        ctx,
        "coupons/form.html",
        {
            "coupon": coupon,
            "values": values,
            "errors": errors or {},
            "editable": editable,
            "design_names": {str(d["id"]): d["name"] for d in DESIGNS},
            "action": f"{ROOT}/coupons/{coupon.id}" if coupon else f"{ROOT}/coupons/new",
            **_form_choices(ctx),
        },
        status_code=status_code,
    )


@backoffice_pages.get("/coupons/new")
def new_coupon(request: Request, ctx: Ctx = staff(UPDATE)) -> Response:
    return _coupon_form(request, ctx, NEW_COUPON)


@backoffice_pages.post("/coupons/new")
def create_coupon(request: Request, form: FormData, ctx: Ctx = staff(UPDATE)) -> Response:
    try:
        data = parse_form(CouponIn, _coupon_body(form, choices.broker_zone(ctx)))
        with ctx.session.begin_nested():  # a refusal undoes what the service did so far
            service.create_coupon(ctx, data)
    except DomainError as error:
        return _coupon_form(
            request, ctx, _posted_values(form, NEW_COUPON), errors=field_errors(error), status_code=422
        )
    return _done(f"{ROOT}/", "created")


@backoffice_pages.get("/coupons/{coupon_id}")
def coupon_page(request: Request, coupon_id: PathId, ctx: Ctx = staff(READ)) -> Response:
    coupon = service.get_coupon(ctx, coupon_id)
    return _coupon_form(request, ctx, _coupon_values(coupon, choices.broker_zone(ctx)), coupon=coupon)


@backoffice_pages.post("/coupons/{coupon_id}")
def update_coupon(request: Request, coupon_id: PathId, form: FormData, ctx: Ctx = staff(UPDATE)) -> Response:
    coupon = service.get_coupon(ctx, coupon_id)
    try:
        data = parse_form(CouponIn, _coupon_body(form, choices.broker_zone(ctx)))
        changes = CouponUpdate.model_validate(data.model_dump(exclude={"use_case"}))
        with ctx.session.begin_nested():  # a refusal undoes the changes applied so far
            service.update_coupon(ctx, coupon_id, changes)
    except Conflict:
        raise
    except DomainError as error:
        return _coupon_form(
            request,
            ctx,
            _posted_values(form, NEW_COUPON),
            coupon=coupon,
            errors=field_errors(error),
            status_code=422,
        )
    return _done(f"{ROOT}/", "saved")


@backoffice_pages.post("/coupons/{coupon_id}/delete")
def delete_coupon(coupon_id: PathId, ctx: Ctx = staff(UPDATE)) -> Response:
    service.delete_coupon(ctx, coupon_id)
    return _done(f"{ROOT}/", "deleted")


@backoffice_pages.post("/coupons/{coupon_id}/revoke")
def revoke_coupon(coupon_id: PathId, ctx: Ctx = staff(UPDATE)) -> Response:
    service.revoke(ctx, coupon_id)
    return _done(f"{ROOT}/", "revoked")


# --- distribute ------------------------------------------------------------------------------------

NEW_DISTRIBUTION = {
    "popup_title": "",
    "popup_text": "",
    "design_id": "",
    "client_ids": [],
    "group_ids": [],
    "segments": [],
}


def _distribute_dialog(
    request: Request,
    ctx: Ctx,
    coupon: Coupon,
    values: Mapping[str, Any],
    *,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
    block: str | None = None,
) -> Response:
    chosen = [int(i) for i in values.get("client_ids", []) if str(i).isdigit()]
    design = str(values.get("design_id") or "")
    start = next((n for n, d in enumerate(DESIGNS) if d["id"] == design), 0)
    return _page(
        request,
        ctx,
        "coupons/distribute.html",
        {
            "coupon": coupon,
            "values": values,
            "errors": errors or {},
            "designs": DESIGNS,
            "start": start,
            "manual": coupon.distribution_method is DistributionMethod.MANUAL,
            "groups": choices.groups(ctx),
            "segments": list_segments(ctx),
            "chosen": choices.clients_named(ctx, chosen),
            "matches": [c for c in choices.find_clients(ctx, None) if c.id not in chosen],
        },
        status_code=status_code,
        block=block,
    )


@backoffice_pages.get("/coupons/{coupon_id}/distribute")
def distribute_dialog(request: Request, coupon_id: PathId, ctx: Ctx = staff(UPDATE)) -> Response:
    coupon = service.get_coupon(ctx, coupon_id)
    if coupon.status is not CouponStatus.UNDISTRIBUTED:
        raise Conflict(f"the coupon was already {coupon.status.value}")
    block = "dialog" if _is_htmx(request) else None
    return _distribute_dialog(request, ctx, coupon, NEW_DISTRIBUTION, block=block)


@backoffice_pages.get("/coupons/{coupon_id}/distribute/clients")
def distribute_clients(
    request: Request,
    coupon_id: PathId,
    q: Annotated[str | None, Query(max_length=100)] = None,
    client_ids: Annotated[list[int] | None, Query(max_length=2000)] = None,
    ctx: Ctx = staff(UPDATE),
) -> Response:
    """The client picker's matches for a search, the clients already chosen first (still ticked)."""
    coupon = service.get_coupon(ctx, coupon_id)
    chosen = list(client_ids or [])
    return _page(
        request,
        ctx,
        "coupons/distribute.html",
        {
            "coupon": coupon,
            "chosen": choices.clients_named(ctx, chosen),
            "matches": [c for c in choices.find_clients(ctx, q) if c.id not in chosen],
        },
        block="client_matches",
    )


@backoffice_pages.post("/coupons/{coupon_id}/distribute")
def distribute(request: Request, coupon_id: PathId, form: FormData, ctx: Ctx = staff(UPDATE)) -> Response:
    coupon = service.get_coupon(ctx, coupon_id)
    body = {
        k: form[k]
        for k in ("client_ids", "group_ids", "segments", "popup_title", "popup_text", "design_id")
        if k in form
    }
    if isinstance(body.get("segments"), str):  # one box ticked: the form reads it as one value
        body["segments"] = [body["segments"]]
    try:
        data = parse_form(DistributeIn, body)
        with ctx.session.begin_nested():  # a refusal (no client to send to) undoes the grants
            service.distribute(ctx, coupon_id, data)
    except InvalidInput as error:
        return _distribute_dialog(
            request,
            ctx,
            coupon,
            _posted_values(form, NEW_DISTRIBUTION),
            errors=field_errors(error),
            status_code=422,
            block="distribute_form" if _is_htmx(request) else None,
        )
    if _is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": f"{ROOT}/?done=distributed"})
    return _done(f"{ROOT}/", "distributed")


# --- statistics ------------------------------------------------------------------------------------


@backoffice_pages.get("/coupons/{coupon_id}/statistics")
def coupon_statistics(
    request: Request, coupon_id: PathId, query: Annotated[HolderQuery, Query()], ctx: Ctx = staff(READ)
) -> Response:
    coupon = service.get_coupon(ctx, coupon_id)
    values = {
        "coupon": coupon,
        "figures": service.coupon_statistics(ctx, coupon_id),
        "holders": service.coupon_holders(ctx, coupon_id, query.paging, **query.filters()),
        "query": query,
        "url": _query_url(request),
        "states": ("unused", "partly_used", "used_up", "expired", "revoked"),
    }
    if _is_htmx(request) and request.headers.get("hx-target") == "listing":
        return _page(request, ctx, "coupons/statistics.html", values, block="listing")
    return _page(request, ctx, "coupons/statistics.html", values)


@backoffice_pages.get("/coupons/{coupon_id}/statistics/export")
def export_holders(
    coupon_id: PathId, query: Annotated[HolderQuery, Query()], ctx: Ctx = staff(READ)
) -> StreamingResponse:
    service.get_coupon(ctx, coupon_id)
    state = query.state
    return csv_export(
        ctx,
        f"coupon-{coupon_id}-clients.csv",
        HOLDER_COLUMNS,
        lambda reader: holder_rows(service.iter_coupon_holders(reader, coupon_id, state=state)),
    )


# --- promo codes -----------------------------------------------------------------------------------


@backoffice_pages.get("/promo-codes")
def promo_list(
    request: Request, query: Annotated[PromoPageQuery, Query()], ctx: Ctx = staff(READ)
) -> Response:
    values = {
        "result": service.list_promo_codes(ctx, query.paging, **query.filters()),
        "query": query,
        "url": _query_url(request),
        "flash": _notice(query.done),
        "can_update": ctx.principal is not None and ctx.principal.has(UPDATE),
    }
    if _is_htmx(request) and request.headers.get("hx-target") == "listing":
        return _page(request, ctx, "coupons/promo_list.html", values, block="listing")
    return _page(request, ctx, "coupons/promo_list.html", values)


def _promo_form(
    request: Request, ctx: Ctx, values: Mapping[str, Any], errors: Mapping[str, str] | None = None
) -> Response:
    return _page(
        request,
        ctx,
        "coupons/promo_form.html",
        {"values": values, "errors": errors or {}, "editable": True, **_form_choices(ctx)},
        status_code=422 if errors else 200,
    )


@backoffice_pages.get("/promo-codes/new")
def new_promo(request: Request, ctx: Ctx = staff(UPDATE)) -> Response:
    return _promo_form(request, ctx, NEW_PROMO)


@backoffice_pages.post("/promo-codes/new")
def create_promo(request: Request, form: FormData, ctx: Ctx = staff(UPDATE)) -> Response:
    try:
        data = parse_form(PromoCodeIn, _promo_body(form, choices.broker_zone(ctx)))
        with ctx.session.begin_nested():
            service.create_promo_code(ctx, data)
    except DomainError as error:
        return _promo_form(request, ctx, _posted_values(form, NEW_PROMO), field_errors(error))
    return _done(f"{ROOT}/promo-codes", "promo_created")


@backoffice_pages.post("/promo-codes/{promo_id}/enable")
def enable_promo(promo_id: PathId, ctx: Ctx = staff(UPDATE)) -> Response:
    service.update_promo_code(ctx, promo_id, PromoCodeUpdate(enabled=True))
    return _done(f"{ROOT}/promo-codes", "promo_enabled")


@backoffice_pages.post("/promo-codes/{promo_id}/disable")
def disable_promo(promo_id: PathId, ctx: Ctx = staff(UPDATE)) -> Response:
    service.update_promo_code(ctx, promo_id, PromoCodeUpdate(enabled=False))
    return _done(f"{ROOT}/promo-codes", "promo_disabled")


@backoffice_pages.post("/promo-codes/{promo_id}/delete")
def delete_promo(promo_id: PathId, ctx: Ctx = staff(UPDATE)) -> Response:
    service.delete_promo_code(ctx, promo_id)
    return _done(f"{ROOT}/promo-codes", "promo_deleted")


# --- the client portal -----------------------------------------------------------------------------


def my_coupons(ctx: Ctx, client: Any) -> dict[str, Any]:
    """The client's coupons, the valid ones first (``portal.notifications`` and the portal page)."""
    held = service.wallet(ctx, client.id)
    return {
        "valid": [h for h in held if h.unusable is None],
        "invalid": [h for h in held if h.unusable is not None],
        "designs": {str(d["id"]): d for d in DESIGNS},
    }


def checkout_offers(ctx: Ctx, client: Any, challenge: Any) -> list[tuple[Coupon, Any]]:
    """The coupons ``client`` may use on ``challenge``, each with what it takes off the fee, the
    largest discount first."""
    usable = [
        h.coupon
        for h in service.wallet(ctx, client.id)
        if h.unusable is None and ineligible(h.coupon, challenge) is None
    ]
    offers = [(c, min(discount(c, challenge.fee), challenge.fee)) for c in usable]
    offers.sort(key=lambda item: (-item[1], item[0].id))
    return offers


def checkout_choices(ctx: Ctx, challenge: Any) -> dict[str, Any]:
    """``portal.checkout``: the option names ``crm_price_order`` reads, and the client's offers
    for this challenge (the slot hands the client to the template, so the template asks for them:
    ``coupon_offers(client)``)."""
    return {
        "coupon_offers": lambda client: checkout_offers(ctx, client, challenge),
        "coupon_option": f"option.{COUPON_OPTION}:int",  # the pricing hook reads a whole number
        "promo_option": f"option.{PROMO_OPTION}",
        "challenge": challenge,
    }


@portal_pages.get("/coupons")
def my_coupons_page(request: Request, ctx: Ctx = portal()) -> Response:
    assert ctx.principal is not None
    return _page(request, ctx, "coupons/my_coupons.html", my_coupons(ctx, ctx.principal))
