"""Recording plugins' failures (event handlers, query hooks) and the plugin-health view.

An event's arguments are stored by reference — an ORM record as its model and id — so a replay
hands the plugin the records as they are now (``decode_arguments``), for the same tenant.
"""

from __future__ import annotations

import importlib
import traceback as tb
from datetime import timedelta
from typing import Any

from sqlalchemy import func, inspect, select

from core.context import Ctx
from core.db.base import Base, utcnow
from core.db.paging import PageRequest, PageResult, paginate
from core.db.session import Database
from core.errors import NotFound
from core.failures.models import PluginFailure

# A plugin with this many unresolved failures in a day shows as unhealthy in the marketplace.
UNHEALTHY_AFTER = 3
HEALTH_WINDOW = timedelta(hours=24)


def _encode(value: Any) -> Any:
    if isinstance(value, Base):
        cls = type(value)
        return {
            "$record": f"{cls.__module__}:{cls.__qualname__}",
            "id": inspect(value).mapper.primary_key_from_instance(value)[0],
        }
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def decode_arguments(ctx: Ctx, value: Any) -> Any:
    """An event's stored arguments, with each record loaded as it is now."""
    if isinstance(value, dict) and "$record" in value:
        module, _, name = value["$record"].partition(":")
        model = getattr(importlib.import_module(module), name)
        record = ctx.session.get(model, value["id"])
        if record is None:
            raise NotFound(f"the {name} this event was about no longer exists")
        return record
    if isinstance(value, dict):
        return {k: decode_arguments(ctx, v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_arguments(ctx, v) for v in value]
    return value


def record_failure(ctx: Ctx, plugin: str, hook: str, kwargs: dict[str, Any], error: BaseException) -> None:
    arguments = {name: value for name, value in kwargs.items() if name != "ctx"}
    ctx.session.add(
        PluginFailure(
            tenant_id=ctx.tenant_id,
            plugin=plugin,
            hook=hook,
            payload=_encode(arguments),
            error=repr(error),
            traceback="".join(tb.format_exception(error))[-8000:],
        )
    )
    ctx.session.flush()


def list_failures(
    ctx: Ctx, page: PageRequest, *, plugin: str | None = None, resolved: bool | None = None
) -> PageResult[PluginFailure]:
    stmt = select(PluginFailure).order_by(PluginFailure.id.desc())
    if plugin is not None:
        stmt = stmt.where(PluginFailure.plugin == plugin)
    if resolved is not None:
        stmt = stmt.where(PluginFailure.resolved == resolved)
    return paginate(ctx.session, stmt, page)


def get_failure(ctx: Ctx, failure_id: int) -> PluginFailure:
    failure = ctx.session.get(PluginFailure, failure_id)
    if failure is None:
        raise NotFound("failure not found")
    return failure


def unhealthy_counts(ctx: Ctx) -> dict[str, int]:
    """Unresolved failures in the last day, per plugin (only plugins over the threshold)."""
    rows = ctx.session.execute(
        select(PluginFailure.plugin, func.count())
        .where(PluginFailure.resolved.is_(False), PluginFailure.at >= utcnow() - HEALTH_WINDOW)
        .group_by(PluginFailure.plugin)
    )
    return {plugin: n for plugin, n in rows if n >= UNHEALTHY_AFTER}


def open_failures(
    db: Database, *, plugin: str | None = None, tenant_id: int | None = None
) -> list[tuple[int, int]]:
    """(tenant id, failure id) of unresolved failures, oldest first."""
    with db.session(all_tenants=True) as session:
        stmt = select(PluginFailure.tenant_id, PluginFailure.id).where(PluginFailure.resolved.is_(False))
        if plugin is not None:
            stmt = stmt.where(PluginFailure.plugin == plugin)
        if tenant_id is not None:
            stmt = stmt.where(PluginFailure.tenant_id == tenant_id)
        return list(session.execute(stmt.order_by(PluginFailure.id)))
