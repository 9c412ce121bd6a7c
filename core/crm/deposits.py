"""Deposits: requests from the client portal and manual entries by staff, both approved or
rejected once by someone holding ``deposits.approve``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from core.context import Ctx
from core.crm.clients import get_client
from core.crm.data_permissions import get_client_owned, scope_client_owned
from core.crm.models import Client, Deposit, DepositKind, DepositStatus
from core.crm.money import check_company_currency, check_precision
from core.crm.schemas.deposits import DepositRequestIn, DepositUpdate, ManualDepositIn
from core.db.base import utcnow
from core.db.filters import created_between, where_equal
from core.db.paging import PageRequest, PageResult, paginate
from core.errors import Conflict
from core.plugins.dispatch import fire
from core.schemas import apply_changes


def _query(
    ctx: Ctx, *, created_from: datetime | None = None, created_to: datetime | None = None, **equal: Any
) -> Select[Any]:
    stmt = scope_client_owned(select(Deposit), ctx.principal, Deposit.client_id)
    stmt = created_between(where_equal(stmt, Deposit, **equal), Deposit, created_from, created_to)
    return stmt.order_by(Deposit.id.desc())


def list_deposits(ctx: Ctx, page: PageRequest, **filters: Any) -> PageResult[Deposit]:
    """Filters: client_id, status, kind, currency, created_from, created_to."""
    return paginate(ctx.session, _query(ctx, **filters), page)


def iter_deposits(ctx: Ctx, **filters: Any) -> Iterator[Deposit]:
    yield from ctx.session.scalars(_query(ctx, **filters).execution_options(yield_per=1000))


def get_deposit(ctx: Ctx, deposit_id: int, *, for_update: bool = False) -> Deposit:
    deposit: Deposit = get_client_owned(ctx, Deposit, deposit_id, label="deposit", for_update=for_update)
    return deposit


def _add(ctx: Ctx, client: Client, data: DepositRequestIn | ManualDepositIn, kind: DepositKind) -> Deposit:
    check_company_currency(ctx, data.currency)
    check_precision(data.amount, data.currency)
    staff = ctx.principal.user_id if kind is DepositKind.MANUAL and ctx.principal else None
    deposit = Deposit(
        client_id=client.id,
        amount=data.amount,
        currency=data.currency,
        kind=kind,
        note=data.note,
        created_by_user_id=staff,
        tenant_id=ctx.tenant_id,
    )
    ctx.session.add(deposit)
    ctx.session.flush()
    return deposit


def enter_manual_deposit(ctx: Ctx, data: ManualDepositIn) -> Deposit:
    """Staff record a deposit on a client's behalf; it waits for approval like any other."""
    ctx.require("deposits.create")
    return _add(ctx, get_client(ctx, data.client_id, field="client_id"), data, DepositKind.MANUAL)


def request_deposit(ctx: Ctx, client_id: int, data: DepositRequestIn) -> Deposit:
    """A client asks to deposit from the portal."""
    client = get_client(ctx, client_id)
    if client.suspended:
        raise Conflict("a suspended account cannot request deposits")
    return _add(ctx, client, data, DepositKind.REQUEST)


def correct_deposit(ctx: Ctx, deposit_id: int, data: DepositUpdate) -> Deposit:
    """Fix a pending deposit's amount, currency or note. Decided deposits never change."""
    ctx.require("deposits.create")
    deposit = get_deposit(ctx, deposit_id, for_update=True)
    if deposit.status is not DepositStatus.PENDING:
        raise Conflict(f"the deposit was {deposit.status.value}; decided deposits cannot be edited")
    changes = data.changes()
    currency = changes.get("currency", deposit.currency)
    check_company_currency(ctx, currency)
    check_precision(changes.get("amount", deposit.amount), currency)
    apply_changes(deposit, changes)
    ctx.session.flush()
    return deposit


def decide(ctx: Ctx, deposit_id: int, *, approve: bool, note: str = "") -> Deposit:
    """Approve or reject a pending deposit, once. Repeating the same decision changes nothing;
    reversing a decision is refused."""
    ctx.require("deposits.approve")
    deposit = get_deposit(ctx, deposit_id, for_update=True)
    target = DepositStatus.APPROVED if approve else DepositStatus.REJECTED
    if deposit.status is target:
        return deposit
    if deposit.status is not DepositStatus.PENDING:
        raise Conflict(f"the deposit was already {deposit.status.value}")
    deposit.status = target
    deposit.decided_by_user_id = ctx.principal.user_id if ctx.principal else None
    deposit.decided_at = utcnow()
    deposit.decision_note = note
    ctx.session.flush()
    if target is DepositStatus.APPROVED:
        fire(ctx, "crm_deposit_approved", deposit=deposit)
    return deposit
