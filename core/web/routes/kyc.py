"""The back office's KYC review: documents filtered by status, verified or rejected behind a
confirmation (the client's KYC status follows)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from core.api.deps import PathId, staff
from core.context import Ctx
from core.crm import kyc
from core.crm.clients import client_names
from core.crm.routes.kyc import DocumentQuery
from core.crm.schemas.kyc import KycReviewIn
from core.web.forms import FormData, parse_form
from core.web.pages import page
from core.web.routes.query_forms import back_to, filters_url, here, query_form
from core.web.templating import is_htmx

router = APIRouter(prefix="/backoffice/kyc")
LIST = "/backoffice/kyc"


@router.get("")
def document_list(
    request: Request, query: DocumentQuery = query_form(DocumentQuery), ctx: Ctx = staff("kyc.read")
) -> Response:
    result = kyc.list_documents(ctx, query.paging, **query.filters())
    assert ctx.principal is not None
    values = {
        "query": query,
        "result": result,
        "names": client_names(ctx, [d.client_id for d in result.items]),
        "page_url": filters_url(LIST, query),
        "here": here(LIST, query),
        "can_review": ctx.principal.has("kyc.review"),
    }
    return page(
        request, ctx, "backoffice/kyc/list.html", values, block="listing" if is_htmx(request) else None
    )


def _review(document_id: int, form: dict[str, object], ctx: Ctx, *, verify: bool) -> Response:
    back = back_to(form, LIST)
    decision = parse_form(KycReviewIn, form)
    kyc.review(ctx, document_id, verify=verify, note=decision.note)
    return RedirectResponse(back, status_code=303)


@router.post("/{document_id}/verify")
def verify(document_id: PathId, form: FormData, ctx: Ctx = staff("kyc.review")) -> Response:
    return _review(document_id, form, ctx, verify=True)


@router.post("/{document_id}/reject")
def reject(document_id: PathId, form: FormData, ctx: Ctx = staff("kyc.review")) -> Response:
    return _review(document_id, form, ctx, verify=False)
