"""The back office's promotion links: the list with each link's sign-ups, a form to create one
(the API's fields), and enabling or disabling a link."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from core.api.deps import PathId, staff
from core.context import Ctx
from core.crm import promotion
from core.crm.routes.promotion import LinkQuery
from core.crm.schemas.promotion import PromotionLinkIn, PromotionLinkUpdate
from core.errors import DomainError
from core.web.forms import FormData, field_errors, parse_form
from core.web.pages import page
from core.web.routes.query_forms import back_to, filters_url, here, query_form
from core.web.templating import is_htmx

router = APIRouter(prefix="/backoffice/promotion-links")
LIST = "/backoffice/promotion-links"
LINKS_QUERY = query_form(LinkQuery)


def _list(
    request: Request, ctx: Ctx, query: LinkQuery, *, block: str | None = None, **values: Any
) -> Response:
    assert ctx.principal is not None
    result = promotion.list_links(ctx, query.paging, **query.filters())
    context = {
        "query": query,
        "result": result,
        "registrations": promotion.registrations(ctx, [link.id for link in result.items]),
        "page_url": filters_url(LIST, query),
        "here": here(LIST, query),
        "can_manage": ctx.principal.has("promotion_links.manage"),
        "form": {},
        "errors": {},
        **values,
    }
    status = 422 if context["errors"] else 200
    return page(request, ctx, "backoffice/promotion/list.html", context, block=block, status_code=status)


@router.get("")
def link_list(
    request: Request, query: LinkQuery = LINKS_QUERY, ctx: Ctx = staff("promotion_links.read")
) -> Response:
    return _list(request, ctx, query, block="listing" if is_htmx(request) else None)


@router.post("")
def create_link(request: Request, form: FormData, ctx: Ctx = staff("promotion_links.manage")) -> Response:
    data = {**form, "enabled": "enabled" in form}
    try:
        promotion.create_link(ctx, parse_form(PromotionLinkIn, data))
    except DomainError as error:
        return _list(request, ctx, LinkQuery(), form=form, errors=field_errors(error))
    return RedirectResponse(LIST, status_code=303)


def _switch(link_id: int, form: dict[str, Any], ctx: Ctx, *, enabled: bool) -> Response:
    back = back_to(form, LIST)
    promotion.update_link(ctx, link_id, PromotionLinkUpdate(enabled=enabled))
    return RedirectResponse(back, status_code=303)


@router.post("/{link_id}/enable")
def enable_link(link_id: PathId, form: FormData, ctx: Ctx = staff("promotion_links.manage")) -> Response:
    return _switch(link_id, form, ctx, enabled=True)


@router.post("/{link_id}/disable")
def disable_link(link_id: PathId, form: FormData, ctx: Ctx = staff("promotion_links.manage")) -> Response:
    return _switch(link_id, form, ctx, enabled=False)
