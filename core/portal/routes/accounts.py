"""Client portal: my trading accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from core.api.deps import portal
from core.context import Ctx
from core.crm import trading_accounts
from core.crm.schemas.trading_accounts import TradingAccountOut
from core.schemas import ListQuery, Page

router = APIRouter(tags=["portal"])


@router.get("/trading-accounts", response_model=Page[TradingAccountOut], summary="My trading accounts")
def my_accounts(query: Annotated[ListQuery, Query()], ctx: Ctx = portal()) -> Page[TradingAccountOut]:
    return Page.of(trading_accounts.list_accounts(ctx, query.paging, archived=False), TradingAccountOut)
