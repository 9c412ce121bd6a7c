"""A tenant's plugin rows and the loaded plugins they name: the lookups the marketplace's actions
and its settings share, and the operation-log entry each of them writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.access.models import PrincipalKind
from core.audit.recorder import record_action
from core.context import Ctx
from core.errors import Conflict, NotFound
from core.marketplace.models import PluginStatus, TenantPlugin
from core.plugins.host import LoadedPlugin


def plugin_host(ctx: Ctx) -> Any:
    return ctx.runtime.plugins


def tenant_rows(ctx: Ctx) -> dict[str, TenantPlugin]:
    return {row.plugin: row for row in ctx.session.scalars(select(TenantPlugin))}


def tenant_row(ctx: Ctx, name: str, *, lock: bool = False) -> TenantPlugin | None:
    stmt = select(TenantPlugin).where(TenantPlugin.plugin == name)
    return ctx.session.scalar(stmt.with_for_update() if lock else stmt)


def loaded_plugin(ctx: Ctx, name: str) -> LoadedPlugin:
    host = plugin_host(ctx)
    if name in host.broken:
        raise Conflict(f"the {name} module is {host.broken[name].state}: {host.broken[name].reason}")
    plugin = host.plugins.get(name)
    if plugin is None:
        raise NotFound(f"no module {name!r} in the marketplace")
    return plugin


def is_operator(ctx: Ctx) -> bool:
    return ctx.principal is None or ctx.principal.kind is PrincipalKind.OPERATOR


def installed_row(ctx: Ctx, name: str) -> TenantPlugin:
    row = tenant_row(ctx, name, lock=True)
    if row is None or row.status is PluginStatus.UNINSTALLED:
        raise Conflict(f"the {name} module is not installed")
    return row


def log_action(ctx: Ctx, name: str, action: str, **details: Any) -> None:
    record_action(ctx.session, entity="tenant_plugins", entity_id=name, action=action, after=details or None)
