"""Clients' trading accounts on the broker's platforms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from core.context import Ctx
from core.crm.clients import get_client
from core.crm.data_permissions import get_client_owned, scope_client_owned
from core.crm.models import TradingAccount
from core.crm.money import check_company_currency
from core.crm.schemas.trading_accounts import TradingAccountIn, TradingAccountUpdate
from core.db.filters import where_equal
from core.db.paging import PageRequest, PageResult, paginate
from core.errors import Conflict, FieldError
from core.plugins.dispatch import fire
from core.schemas import apply_changes


def _query(ctx: Ctx, **equal: Any) -> Select[Any]:
    stmt = scope_client_owned(select(TradingAccount), ctx.principal, TradingAccount.client_id)
    return where_equal(stmt, TradingAccount, **equal).order_by(TradingAccount.id.desc())


def list_accounts(ctx: Ctx, page: PageRequest, **filters: Any) -> PageResult[TradingAccount]:
    """Filters: client_id, platform, currency, archived."""
    return paginate(ctx.session, _query(ctx, **filters), page)


def iter_accounts(ctx: Ctx, **filters: Any) -> Iterator[TradingAccount]:
    yield from ctx.session.scalars(_query(ctx, **filters).execution_options(yield_per=1000))


def get_account(ctx: Ctx, account_id: int, *, for_update: bool = False) -> TradingAccount:
    account: TradingAccount = get_client_owned(
        ctx, TradingAccount, account_id, label="trading account", for_update=for_update
    )
    return account


def open_account(ctx: Ctx, data: TradingAccountIn) -> TradingAccount:
    """Record an account opened on a platform for a client in the caller's scope."""
    ctx.require("trading_accounts.manage")
    client = get_client(ctx, data.client_id, field="client_id")
    check_company_currency(ctx, data.currency)
    taken = select(TradingAccount.id).where(
        TradingAccount.platform == data.platform, TradingAccount.login == data.login
    )
    if ctx.session.scalar(taken) is not None:
        raise _login_taken(data)
    account = TradingAccount(
        client_id=client.id,
        platform=data.platform,
        login=data.login,
        account_type=data.account_type,
        currency=data.currency,
        leverage=data.leverage,
        tenant_id=ctx.tenant_id,
    )
    try:
        with ctx.session.begin_nested():
            ctx.session.add(account)
            ctx.session.flush()
    except IntegrityError:
        # Another request took the login between our check and our insert.
        raise _login_taken(data) from None
    fire(ctx, "crm_trading_account_opened", account=account)
    return account


def _login_taken(data: TradingAccountIn) -> Conflict:
    return Conflict(
        f"login {data.login} is already used on {data.platform.value}",
        fields=[FieldError("login", "already in use on this platform")],
    )


def update_account(ctx: Ctx, account_id: int, data: TradingAccountUpdate) -> TradingAccount:
    """Change the account type or leverage, or (un)archive. Platform, login and currency are
    fixed once the account exists on the platform."""
    ctx.require("trading_accounts.manage")
    account = get_account(ctx, account_id, for_update=True)
    apply_changes(account, data.changes())
    ctx.session.flush()
    return account
