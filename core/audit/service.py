"""Reading the operation log and the login log, within the reader's data permissions.

The rule, for both logs: a user sees an entry about a client only if they may see that client
(all / team / own, ``core.crm.data_permissions``), and an entry about no client only if they see all company
data. An operation-log entry is about the client in its ``client_id``; a login event is about a
client when it is a client's sign-in (``kind`` client, ``subject_id`` the client), and staff
sign-ins and attempts for unknown e-mails are about no client. A deleted client is in no one's
team or own clients: its entries stay visible to users who see all company data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from core.access.models import PrincipalKind
from core.access.principal import Principal
from core.audit.models import LoginEvent, OperationLog
from core.context import Ctx
from core.crm.data_permissions import client_condition, scope_client_owned
from core.db.paging import PageRequest, PageResult, paginate


@dataclass(frozen=True)
class LogFilter:
    entity: str | None = None
    entity_id: str | None = None
    action: str | None = None
    actor_kind: str | None = None
    actor_id: int | None = None
    client_id: int | None = None
    at_from: datetime | None = None
    at_to: datetime | None = None


@dataclass(frozen=True)
class LoginFilter:
    email: str | None = None
    success: bool | None = None


def _operations(principal: Principal | None, filters: LogFilter) -> Select[Any]:
    # NULL client_id never matches the IN (visible clients) sub-select: entries about no client
    # drop out for every reader whose data permissions are restricted.
    stmt = scope_client_owned(select(OperationLog), principal, OperationLog.client_id)
    for name in ("entity", "entity_id", "action", "actor_kind", "actor_id", "client_id"):
        value = getattr(filters, name)
        if value is not None:
            stmt = stmt.where(getattr(OperationLog, name) == value)
    if filters.at_from is not None:
        stmt = stmt.where(OperationLog.at >= filters.at_from)
    if filters.at_to is not None:
        stmt = stmt.where(OperationLog.at < filters.at_to)
    return stmt.order_by(OperationLog.id.desc())


def list_operations(ctx: Ctx, filters: LogFilter, page: PageRequest) -> PageResult[OperationLog]:
    ctx.require("audit.read")
    return paginate(ctx.session, _operations(ctx.principal, filters), page)


def iter_operations(ctx: Ctx, filters: LogFilter) -> Iterator[OperationLog]:
    ctx.require("audit.read")
    yield from ctx.session.scalars(_operations(ctx.principal, filters).execution_options(yield_per=1000))


def _logins(principal: Principal | None, filters: LoginFilter) -> Select[Any]:
    stmt = select(LoginEvent)
    if client_condition(principal) is not None:
        # Restricted readers see only sign-ins of clients they may see: staff sign-ins and
        # attempts for unknown e-mails (no subject) are about no client.
        stmt = scope_client_owned(
            stmt.where(LoginEvent.kind == PrincipalKind.CLIENT), principal, LoginEvent.subject_id
        )
    if filters.email is not None:
        stmt = stmt.where(LoginEvent.email == filters.email.strip().lower())
    if filters.success is not None:
        stmt = stmt.where(LoginEvent.success == filters.success)
    return stmt.order_by(LoginEvent.id.desc())


def list_logins(ctx: Ctx, filters: LoginFilter, page: PageRequest) -> PageResult[LoginEvent]:
    ctx.require("audit.read")
    return paginate(ctx.session, _logins(ctx.principal, filters), page)


def iter_logins(ctx: Ctx, filters: LoginFilter) -> Iterator[LoginEvent]:
    ctx.require("audit.read")
    yield from ctx.session.scalars(_logins(ctx.principal, filters).execution_options(yield_per=1000))
