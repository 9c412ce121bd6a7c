"""Deposits: manual entries by staff, requests from the portal, approval."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from core.api.csv import CSV_RESPONSE, csv_export, model_rows
from core.api.deps import PathId, staff
from core.context import Ctx
from core.crm import deposits
from core.crm.models import DepositKind, DepositStatus
from core.crm.schemas.deposits import DepositDecisionIn, DepositOut, DepositUpdate, ManualDepositIn
from core.schemas import AwareDatetime, CurrencyCode, Id, ListQuery, Page

router = APIRouter(tags=["deposits"])


class DepositQuery(ListQuery):
    client_id: Id | None = None
    status: DepositStatus | None = None
    kind: DepositKind | None = None
    currency: CurrencyCode | None = None
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = None


@router.get(
    "/deposits", response_model=Page[DepositOut], summary="Deposits of clients within my data permissions"
)
def list_deposits(
    query: Annotated[DepositQuery, Query()], ctx: Ctx = staff("deposits.read")
) -> Page[DepositOut]:
    return Page.of(deposits.list_deposits(ctx, query.paging, **query.filters()), DepositOut)


@router.get(
    "/deposits/export",
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,
    summary="Deposit report as CSV (same filters as the list)",
)
def export_deposits(
    query: Annotated[DepositQuery, Query()], ctx: Ctx = staff("deposits.read")
) -> StreamingResponse:
    filters = query.filters()
    return csv_export(
        ctx,
        "deposits.csv",
        list(DepositOut.model_fields),
        lambda reader: model_rows(DepositOut, deposits.iter_deposits(reader, **filters)),
    )


@router.post(
    "/deposits",
    response_model=DepositOut,
    status_code=201,
    summary="Enter a deposit on a client's behalf (kind manual, pending approval)",
)
def enter_deposit(body: ManualDepositIn, ctx: Ctx = staff("deposits.create")) -> DepositOut:
    return DepositOut.model_validate(deposits.enter_manual_deposit(ctx, body))


@router.get("/deposits/{deposit_id}", response_model=DepositOut)
def get_deposit(deposit_id: PathId, ctx: Ctx = staff("deposits.read")) -> DepositOut:
    return DepositOut.model_validate(deposits.get_deposit(ctx, deposit_id))


@router.patch("/deposits/{deposit_id}", response_model=DepositOut, summary="Correct a pending deposit")
def correct_deposit(
    deposit_id: PathId, body: DepositUpdate, ctx: Ctx = staff("deposits.create")
) -> DepositOut:
    return DepositOut.model_validate(deposits.correct_deposit(ctx, deposit_id, body))


@router.post(
    "/deposits/{deposit_id}/approve",
    response_model=DepositOut,
    description="Approving an approved deposit changes nothing; approving a rejected one is 409.",
)
def approve_deposit(
    deposit_id: PathId, body: DepositDecisionIn | None = None, ctx: Ctx = staff("deposits.approve")
) -> DepositOut:
    note = body.note if body else ""
    return DepositOut.model_validate(deposits.decide(ctx, deposit_id, approve=True, note=note))


@router.post(
    "/deposits/{deposit_id}/reject",
    response_model=DepositOut,
    description="Rejecting a rejected deposit changes nothing; rejecting an approved one is 409.",
)
def reject_deposit(
    deposit_id: PathId, body: DepositDecisionIn | None = None, ctx: Ctx = staff("deposits.approve")
) -> DepositOut:
    note = body.note if body else ""
    return DepositOut.model_validate(deposits.decide(ctx, deposit_id, approve=False, note=note))
