"""The back office's clients: the filtered, paged list with its CSV report, and a client's page
(profile, referral tree, deposits, trading accounts, KYC documents and the plugins' panels)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from core.api.deps import PathId, staff
from core.context import Ctx
from core.crm import clients, deposits, groups, kyc, ranks, trading_accounts
from core.crm.routes.clients import ClientQuery, client_report
from core.db.paging import PageRequest
from core.web.pages import page
from core.web.routes.query_forms import filters_url, query_form
from core.web.templating import is_htmx

router = APIRouter(prefix="/backoffice/clients")

CLIENTS_QUERY = query_form(ClientQuery)
SECTION = PageRequest(page=1, per_page=20)  # the first rows of each list on a client's page


@router.get("")
def client_list(
    request: Request, query: ClientQuery = CLIENTS_QUERY, ctx: Ctx = staff("clients.read")
) -> Response:
    result = clients.list_clients(ctx, query.to_filter(), query.paging)
    values = {
        "query": query,
        "result": result,
        "page_url": filters_url("/backoffice/clients", query),
        "export_url": filters_url("/backoffice/clients/export.csv", query, per_page=None).rstrip("?&"),
    }
    if is_htmx(request):  # the listing alone: the filter form stays as it is
        return page(request, ctx, "backoffice/clients/list.html", values, block="listing")
    choices = clients.filter_choices(ctx)
    values.update(groups=choices.groups, ranks=choices.ranks)
    return page(request, ctx, "backoffice/clients/list.html", values)


@router.get("/export.csv")
def client_export(query: ClientQuery = CLIENTS_QUERY, ctx: Ctx = staff("clients.read")) -> Response:
    return client_report(ctx, query.to_filter())


@router.get("/{client_id}")
def client_page(request: Request, client_id: PathId, ctx: Ctx = staff("clients.read")) -> Response:
    client = clients.get_client(ctx, client_id)
    principal = ctx.principal
    assert principal is not None
    direct = clients.downlines(ctx, client.id, PageRequest(page=1, per_page=50), max_depth=1)
    whole = clients.downlines(ctx, client.id, PageRequest(page=1, per_page=1))
    values = {
        "client": client,
        "uplines": clients.uplines(ctx, client.id),
        "direct": direct,
        "downline_total": whole.total,
        "referral_counts": clients.direct_referral_counts(ctx, [c.id for c, _depth in direct.items]),
        "group": groups.get_group(ctx, client.group_id) if client.group_id else None,
        "rank": ranks.get_rank(ctx, client.rank_id) if client.rank_id else None,
        "tier": ranks.get_tier(ctx, client.tier_id) if client.tier_id else None,
        "deposits": deposits.list_deposits(ctx, SECTION, client_id=client.id)
        if principal.has("deposits.read")
        else None,
        "accounts": trading_accounts.list_accounts(ctx, SECTION, client_id=client.id)
        if principal.has("trading_accounts.read")
        else None,
        "documents": kyc.list_documents(ctx, SECTION, client_id=client.id)
        if principal.has("kyc.read")
        else None,
    }
    return page(request, ctx, "backoffice/clients/detail.html", values)
