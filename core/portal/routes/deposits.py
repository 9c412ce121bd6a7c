"""Client portal: my deposits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from core.api.deps import portal
from core.context import Ctx
from core.crm import deposits
from core.crm.models import DepositStatus
from core.crm.schemas.deposits import DepositOut, DepositRequestIn
from core.schemas import ListQuery, Page

router = APIRouter(tags=["portal"])


class MyDepositQuery(ListQuery):
    status: DepositStatus | None = None


@router.get("/deposits", response_model=Page[DepositOut], summary="My deposits")
def my_deposits(query: Annotated[MyDepositQuery, Query()], ctx: Ctx = portal()) -> Page[DepositOut]:
    return Page.of(deposits.list_deposits(ctx, query.paging, **query.filters()), DepositOut)


@router.post("/deposits", response_model=DepositOut, status_code=201, summary="Request a deposit")
def request_deposit(body: DepositRequestIn, ctx: Ctx = portal()) -> DepositOut:
    assert ctx.principal is not None
    return DepositOut.model_validate(deposits.request_deposit(ctx, ctx.principal.id, body))
