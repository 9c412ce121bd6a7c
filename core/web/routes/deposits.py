"""The back office's deposits: the list filtered by status, and approval or rejection (with a
reason) behind a confirmation."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from core.api.deps import PathId, staff
from core.context import Ctx
from core.crm import deposits
from core.crm.clients import client_names
from core.crm.routes.deposits import DepositQuery
from core.crm.schemas.deposits import DepositDecisionIn
from core.errors import DomainError, InvalidInput
from core.web.forms import FormData, field_errors, parse_form
from core.web.pages import page
from core.web.routes.query_forms import back_to, filters_url, here, query_form
from core.web.templating import is_htmx

router = APIRouter(prefix="/backoffice/deposits")
LIST = "/backoffice/deposits"


@router.get("")
def deposit_list(
    request: Request, query: DepositQuery = query_form(DepositQuery), ctx: Ctx = staff("deposits.read")
) -> Response:
    return _list(request, ctx, query, block="listing" if is_htmx(request) else None)


def _list(
    request: Request,
    ctx: Ctx,
    query: DepositQuery,
    *,
    block: str | None = None,
    refused: dict[int, dict[str, str]] | None = None,
) -> Response:
    """The list; ``refused`` holds a rejection's field errors by deposit, whose dialog is then
    shown open again with them (422)."""
    result = deposits.list_deposits(ctx, query.paging, **query.filters())
    assert ctx.principal is not None
    values = {
        "query": query,
        "result": result,
        "names": client_names(ctx, [d.client_id for d in result.items]),
        "page_url": filters_url(LIST, query),
        "here": here(LIST, query),
        "can_decide": ctx.principal.has("deposits.approve"),
        "refused": refused or {},
    }
    status = 422 if refused else 200
    return page(request, ctx, "backoffice/deposits/list.html", values, block=block, status_code=status)


@router.post("/{deposit_id}/approve")
def approve(deposit_id: PathId, form: FormData, ctx: Ctx = staff("deposits.approve")) -> Response:
    back = back_to(form, LIST)
    decision = parse_form(DepositDecisionIn, form)
    deposits.decide(ctx, deposit_id, approve=True, note=decision.note)
    return RedirectResponse(back, status_code=303)


@router.post("/{deposit_id}/reject")
def reject(
    request: Request, deposit_id: PathId, form: FormData, ctx: Ctx = staff("deposits.approve")
) -> Response:
    back = back_to(form, LIST)
    try:
        decision = parse_form(DepositDecisionIn, form)
        if not decision.note:
            raise InvalidInput("note", "give the reason for the rejection")
    except DomainError as error:
        deposits.get_deposit(ctx, deposit_id)  # another tenant's or out of scope: 404
        query = parse_form(DepositQuery, dict(parse_qsl(urlsplit(back).query)))
        return _list(request, ctx, query, refused={deposit_id: field_errors(error)})
    deposits.decide(ctx, deposit_id, approve=False, note=decision.note)
    return RedirectResponse(back, status_code=303)
