"""The back office's deposits: the list filtered by status, and approval or rejection (with a
reason) behind a confirmation."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from core.api.deps import PathId, staff
from core.context import Ctx
from core.crm import deposits
from core.crm.clients import client_names
from core.crm.models import DepositStatus
from core.crm.routes.deposits import DepositQuery
from core.crm.schemas.deposits import DepositDecisionIn
from core.errors import InvalidInput
from core.web.forms import FormData, parse_form
from core.web.pages import page
from core.web.routes.query_forms import back_to, filters_url, here, query_form
from core.web.templating import is_htmx

router = APIRouter(prefix="/backoffice/deposits")
LIST = "/backoffice/deposits"


@router.get("")
def deposit_list(
    request: Request, query: DepositQuery = query_form(DepositQuery), ctx: Ctx = staff("deposits.read")
) -> Response:
    result = deposits.list_deposits(ctx, query.paging, **query.filters())
    assert ctx.principal is not None
    values = {
        "query": query,
        "result": result,
        "names": client_names(ctx, [d.client_id for d in result.items]),
        "statuses": [(s.value, s.value.capitalize()) for s in DepositStatus],
        "page_url": filters_url(LIST, query),
        "here": here(LIST, query),
        "can_decide": ctx.principal.has("deposits.approve"),
    }
    return page(
        request, ctx, "backoffice/deposits/list.html", values, block="listing" if is_htmx(request) else None
    )


@router.post("/{deposit_id}/approve")
def approve(deposit_id: PathId, form: FormData, ctx: Ctx = staff("deposits.approve")) -> Response:
    back = back_to(form, LIST)
    decision = parse_form(DepositDecisionIn, form)
    deposits.decide(ctx, deposit_id, approve=True, note=decision.note)
    return RedirectResponse(back, status_code=303)


@router.post("/{deposit_id}/reject")
def reject(deposit_id: PathId, form: FormData, ctx: Ctx = staff("deposits.approve")) -> Response:
    back = back_to(form, LIST)
    decision = parse_form(DepositDecisionIn, form)
    if not decision.note:
        raise InvalidInput("note", "give the reason for the rejection")
    deposits.decide(ctx, deposit_id, approve=False, note=decision.note)
    return RedirectResponse(back, status_code=303)
