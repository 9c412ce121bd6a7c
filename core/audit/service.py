"""Reading the operation log and the login log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from core.audit.models import LoginEvent, OperationLog
from core.context import Ctx
from core.db.paging import PageRequest, PageResult, paginate


@dataclass(frozen=True)
class LogFilter:
    entity: str | None = None
    entity_id: str | None = None
    action: str | None = None
    actor_kind: str | None = None
    actor_id: int | None = None
    at_from: datetime | None = None
    at_to: datetime | None = None


def _operations(filters: LogFilter) -> Select[Any]:
    stmt = select(OperationLog)
    for name in ("entity", "entity_id", "action", "actor_kind", "actor_id"):
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
    return paginate(ctx.session, _operations(filters), page)


def iter_operations(ctx: Ctx, filters: LogFilter) -> Iterator[OperationLog]:
    ctx.require("audit.read")
    yield from ctx.session.scalars(_operations(filters).execution_options(yield_per=1000))


def list_logins(
    ctx: Ctx, page: PageRequest, *, email: str | None = None, success: bool | None = None
) -> PageResult[LoginEvent]:
    ctx.require("audit.read")
    stmt = select(LoginEvent).order_by(LoginEvent.id.desc())
    if email is not None:
        stmt = stmt.where(LoginEvent.email == email.strip().lower())
    if success is not None:
        stmt = stmt.where(LoginEvent.success == success)
    return paginate(ctx.session, stmt, page)
