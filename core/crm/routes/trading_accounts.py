"""Clients' trading accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from core.api.csv import CSV_RESPONSE, csv_export, model_rows
from core.api.deps import PathId, staff
from core.context import Ctx
from core.crm import trading_accounts
from core.crm.models import TradingPlatform
from core.crm.schemas.trading_accounts import TradingAccountIn, TradingAccountOut, TradingAccountUpdate
from core.schemas import CurrencyCode, Id, ListQuery, Page

router = APIRouter(tags=["trading accounts"])


class AccountQuery(ListQuery):
    client_id: Id | None = None
    platform: TradingPlatform | None = None
    currency: CurrencyCode | None = None
    archived: bool | None = None


@router.get(
    "/trading-accounts",
    response_model=Page[TradingAccountOut],
    summary="Trading accounts of clients within my data permissions",
)
def list_accounts(
    query: Annotated[AccountQuery, Query()], ctx: Ctx = staff("trading_accounts.read")
) -> Page[TradingAccountOut]:
    return Page.of(trading_accounts.list_accounts(ctx, query.paging, **query.filters()), TradingAccountOut)


@router.get(
    "/trading-accounts/export",
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,
    summary="Trading account report as CSV",
)
def export_accounts(
    query: Annotated[AccountQuery, Query()], ctx: Ctx = staff("trading_accounts.read")
) -> StreamingResponse:
    filters = query.filters()
    return csv_export(
        ctx,
        "trading-accounts.csv",
        list(TradingAccountOut.model_fields),
        lambda reader: model_rows(TradingAccountOut, trading_accounts.iter_accounts(reader, **filters)),
    )


@router.post(
    "/trading-accounts",
    response_model=TradingAccountOut,
    status_code=201,
    summary="Open a trading account for a client",
)
def open_account(body: TradingAccountIn, ctx: Ctx = staff("trading_accounts.manage")) -> TradingAccountOut:
    return TradingAccountOut.model_validate(trading_accounts.open_account(ctx, body))


@router.get("/trading-accounts/{account_id}", response_model=TradingAccountOut)
def get_account(account_id: PathId, ctx: Ctx = staff("trading_accounts.read")) -> TradingAccountOut:
    return TradingAccountOut.model_validate(trading_accounts.get_account(ctx, account_id))


@router.patch(
    "/trading-accounts/{account_id}",
    response_model=TradingAccountOut,
    summary="Change account type or leverage, or archive",
)
def update_account(
    account_id: PathId, body: TradingAccountUpdate, ctx: Ctx = staff("trading_accounts.manage")
) -> TradingAccountOut:
    return TradingAccountOut.model_validate(trading_accounts.update_account(ctx, account_id, body))
