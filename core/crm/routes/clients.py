from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import Field

from core.api.csv import CSV_RESPONSE, csv_export, timestamped
from core.api.deps import Paging, PathId, staff
from core.context import Ctx
from core.crm import clients
from core.crm.models import ClientType, KycStatus
from core.crm.schemas.clients import CLIENT_CSV_COLUMNS, ClientIn, ClientOut, ClientUpdate, DownlineOut
from core.schemas import AwareDatetime, CountryCode, Id, ListQuery, Page

router = APIRouter(tags=["clients"])


class ClientQuery(ListQuery):
    q: str | None = Field(default=None, max_length=100, description="Name or e-mail contains")
    client_type: ClientType | None = None
    group_id: Id | None = None
    rank_id: Id | None = None
    tier_id: Id | None = None
    referrer_id: Id | None = Field(default=None, description="Direct downlines of this client")
    assigned_user_id: Id | None = None
    team_id: Id | None = None
    promotion_link_id: Id | None = None
    kyc_status: KycStatus | None = None
    country: CountryCode | None = None
    suspended: bool | None = None
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = None

    def to_filter(self) -> clients.ClientFilter:
        return clients.ClientFilter(**self.filters())


@router.get("/clients", response_model=Page[ClientOut], summary="Clients within my data permissions")
def list_clients(query: Annotated[ClientQuery, Query()], ctx: Ctx = staff("clients.read")) -> Page[ClientOut]:
    return Page.of(clients.list_clients(ctx, query.to_filter(), query.paging), ClientOut)


@router.get(
    "/clients/export",
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,
    summary="Client report as CSV (same filters as the list)",
)
def export_clients(
    query: Annotated[ClientQuery, Query()], ctx: Ctx = staff("clients.read")
) -> StreamingResponse:
    return client_report(ctx, query.to_filter())


def client_report(ctx: Ctx, filters: clients.ClientFilter) -> StreamingResponse:
    """The client report as CSV, within the caller's data permissions: the API's export and the
    back office's link both answer it."""
    return csv_export(
        ctx,
        timestamped("clients"),
        CLIENT_CSV_COLUMNS,
        lambda reader: clients.iter_clients(reader, filters),
    )


@router.post("/clients", response_model=ClientOut, status_code=201)
def create_client(body: ClientIn, ctx: Ctx = staff("clients.create")) -> ClientOut:
    return ClientOut.model_validate(clients.create_client(ctx, body))


@router.get("/clients/{client_id}", response_model=ClientOut)
def get_client(client_id: PathId, ctx: Ctx = staff("clients.read")) -> ClientOut:
    return ClientOut.model_validate(clients.get_client(ctx, client_id))


@router.patch(
    "/clients/{client_id}",
    response_model=ClientOut,
    description="Only the fields sent change; `null` clears an optional field.",
)
def update_client(client_id: PathId, body: ClientUpdate, ctx: Ctx = staff("clients.update")) -> ClientOut:
    return ClientOut.model_validate(clients.update_client(ctx, client_id, body))


@router.get(
    "/clients/{client_id}/downlines",
    response_model=Page[DownlineOut],
    summary="Direct and indirect downlines (the referral tree below a client)",
)
def downlines(
    client_id: PathId,
    page: Paging,
    max_depth: Annotated[int | None, Query(ge=1, le=10_000, description="1 for direct only")] = None,
    ctx: Ctx = staff("clients.read"),
) -> Page[DownlineOut]:
    result = clients.downlines(ctx, client_id, page, max_depth=max_depth)
    items = [
        DownlineOut(
            id=c.id,
            name=c.name,
            email=c.email,
            client_type=c.client_type,
            referrer_id=c.referrer_id,
            depth=depth,
        )
        for c, depth in result.items
    ]
    return Page[DownlineOut](items=items, total=result.total, page=result.page, per_page=result.per_page)


@router.get(
    "/clients/{client_id}/uplines",
    response_model=list[ClientOut],
    summary="The referral chain above a client, nearest first",
)
def uplines(client_id: PathId, ctx: Ctx = staff("clients.read")) -> list[ClientOut]:
    return [ClientOut.model_validate(c) for c in clients.uplines(ctx, client_id)]
