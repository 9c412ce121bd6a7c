"""Marketplace actions for one tenant: catalog, install ("Obtain"), enable, disable, uninstall,
purge and licences (settings: ``core.marketplace.settings``). Every action lands in the operation log.

Rules that keep tenants safe:
* a plugin whose policy is "account manager" is installed only by a platform operator;
* required plugins come first (installed with it only when asked to), and a plugin others need
  cannot be uninstalled (unless they go too, when asked);
* installing grants the plugin's own permissions to the tenant's Administrator role only — never
  core permissions, and never to the user who clicked;
* uninstalling keeps the data (a reinstall restores it); only an explicit purge deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from core.access.models import Role, RolePermission
from core.context import Ctx
from core.db.base import Base, utcnow
from core.db.paging import PageRequest
from core.deprecation import moved_names
from core.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied
from core.failures.models import PluginFailure
from core.failures.service import list_failures, unhealthy_counts
from core.marketplace.models import PluginStatus, TenantPlugin
from core.marketplace.state import mark_changed
from core.marketplace.tenant_plugins import (
    installed_row,
    is_operator,
    loaded_plugin,
    log_action,
    plugin_host,
    tenant_row,
    tenant_rows,
)
from core.plugins.dispatch import call_lifecycle
from core.plugins.host import LoadedPlugin
from core.plugins.manifest import Manifest
from core.scheduler.models import JobRun, JobSchedule
from core.scheduler.service import deferred_backlog
from core.tenancy.service import as_tenant, list_tenants

PERIODS = {"month": timedelta(days=31), "year": timedelta(days=366)}


@dataclass
class CatalogEntry:
    name: str
    state: str  # available | enabled | disabled | licence_expired | broken | incompatible
    reason: str | None
    manifest: Manifest | None
    installed_version: str | None = None
    installed_at: datetime | None = None
    licence_expires_at: datetime | None = None
    data_kept: bool = False  # uninstalled, with data a reinstall restores
    healthy: bool = True
    recent_failures: int = 0


@dataclass
class UninstallImpact:
    plugin: str
    rows: dict[str, int] = field(default_factory=dict)  # table -> this tenant's rows (kept unless purged)
    schedules: list[str] = field(default_factory=list)  # jobs that stop
    role_permissions: dict[str, list[str]] = field(default_factory=dict)  # role -> permissions it loses
    dependents: list[str] = field(default_factory=list)  # installed plugins that require this one


def _entry(ctx: Ctx, name: str, row: TenantPlugin | None, unhealthy: dict[str, int]) -> CatalogEntry:
    host = plugin_host(ctx)
    loaded = host.plugins.get(name)
    broken = host.broken.get(name)
    manifest = loaded.manifest if loaded else (broken.manifest if broken else None)
    entry = CatalogEntry(
        name=name,
        state="available",
        reason=None,
        manifest=manifest,
        recent_failures=unhealthy.get(name, 0),
        healthy=name not in unhealthy,
    )
    if row is not None and row.status is not PluginStatus.UNINSTALLED:
        entry.installed_version, entry.installed_at = row.version, row.installed_at
        entry.licence_expires_at = row.licence_expires_at
        entry.state = row.status.value
        if row.licence_expires_at is not None and row.licence_expires_at <= utcnow():
            entry.state = "licence_expired"
            entry.reason = (
                f"the licence expired on {row.licence_expires_at:%Y-%m-%d}; ask your account manager"
            )
    elif row is not None:
        entry.data_kept = True
    if broken is not None:
        entry.state, entry.reason = broken.state, broken.reason
    elif not entry.healthy and entry.reason is None:
        entry.reason = f"{entry.recent_failures} failures in the last 24 hours"
    return entry


def catalog(ctx: Ctx) -> list[CatalogEntry]:
    """Every plugin the host knows, with this tenant's state."""
    rows, unhealthy = tenant_rows(ctx), unhealthy_counts(ctx)
    names = sorted(set(plugin_host(ctx).plugins) | set(plugin_host(ctx).broken) | set(rows))
    return [_entry(ctx, name, rows.get(name), unhealthy) for name in names]


def entry(ctx: Ctx, name: str) -> CatalogEntry:
    host = plugin_host(ctx)
    row = tenant_row(ctx, name)
    if name not in host.plugins and name not in host.broken and row is None:
        raise NotFound(f"no module {name!r} in the marketplace")
    return _entry(ctx, name, row, unhealthy_counts(ctx))


def _check_policy(ctx: Ctx, plugin: LoadedPlugin) -> None:
    if is_operator(ctx):
        return
    if not plugin.manifest.self_service:
        raise PermissionDenied(
            f"{plugin.manifest.display_name} is installed by your account manager: "
            "please contact them to obtain it"
        )
    ctx.require("marketplace.install")


def _missing_requirements(ctx: Ctx, plugin: LoadedPlugin, rows: dict[str, TenantPlugin]) -> list[str]:
    """Required plugins not yet installed for the tenant, deepest first."""
    order: list[str] = []

    def visit(current: LoadedPlugin) -> None:
        for requirement in current.manifest.requires:
            row = rows.get(requirement.name)
            if (row is None or row.status is PluginStatus.UNINSTALLED) and requirement.name not in order:
                visit(loaded_plugin(ctx, requirement.name))
                order.append(requirement.name)

    visit(plugin)
    return order


def install(
    ctx: Ctx, name: str, *, with_requirements: bool = False, licence_expires_at: datetime | None = None
) -> TenantPlugin:
    """Install a plugin for the tenant (a reinstall restores its kept data and settings)."""
    plugin = loaded_plugin(ctx, name)
    _check_policy(ctx, plugin)
    missing = _missing_requirements(ctx, plugin, tenant_rows(ctx))
    if missing and not with_requirements:
        raise Conflict(
            f"{plugin.manifest.display_name} needs {', '.join(missing)} installed first; "
            "install them, or install with with_requirements",
            fields=[FieldError("requires", f"{m} is not installed") for m in missing],
        )
    for requirement in missing:
        required = loaded_plugin(ctx, requirement)
        _check_policy(ctx, required)
        _install_one(ctx, required, None)
    return _install_one(ctx, plugin, licence_expires_at)


def _install_one(ctx: Ctx, plugin: LoadedPlugin, licence_expires_at: datetime | None) -> TenantPlugin:
    row = tenant_row(ctx, plugin.name, lock=True)
    if row is not None and row.status is not PluginStatus.UNINSTALLED:
        raise Conflict(f"{plugin.manifest.display_name} is already installed")
    now = utcnow()
    if not plugin.manifest.is_free:
        if licence_expires_at is None:
            licence_expires_at = now + PERIODS[plugin.manifest.price["period"]]
        if licence_expires_at <= now:
            raise InvalidInput("licence_expires_at", "must be in the future")
    elif licence_expires_at is not None:
        raise InvalidInput("licence_expires_at", "free modules have no licence")
    who = ctx.principal.label if ctx.principal else "system"
    if row is None:
        row = TenantPlugin(plugin=plugin.name, tenant_id=ctx.tenant_id, settings={})
        ctx.session.add(row)
    row.status, row.version, row.installed_at, row.installed_by = (
        PluginStatus.ENABLED,
        str(plugin.manifest.version),
        now,
        who,
    )
    row.status_changed_at, row.licence_expires_at = now, licence_expires_at
    _grant_to_administrators(ctx, plugin)
    ctx.session.flush()
    mark_changed(ctx.session, ctx.tenant_id)
    log_action(ctx, plugin.name, "install", version=row.version, licence_expires_at=licence_expires_at)
    call_lifecycle(ctx, plugin.name, "crm_installed")
    return row


def _grant_to_administrators(ctx: Ctx, plugin: LoadedPlugin) -> None:
    names = {p["name"] for p in plugin.manifest.permissions}
    for role in ctx.session.scalars(select(Role).where(Role.is_admin)):
        for permission in sorted(names - role.permissions):
            role.grants.append(RolePermission(permission=permission, tenant_id=ctx.tenant_id))


def set_enabled(ctx: Ctx, name: str, enabled: bool) -> TenantPlugin:
    """Disable (data, settings and schedules kept; routes, events and jobs stop) or enable again."""
    if not is_operator(ctx):
        ctx.require("marketplace.manage")
    row = installed_row(ctx, name)
    target = PluginStatus.ENABLED if enabled else PluginStatus.DISABLED
    if row.status is target:
        return row
    if enabled:
        loaded_plugin(ctx, name)
    else:
        enabled_names = [n for n, r in tenant_rows(ctx).items() if r.status is PluginStatus.ENABLED]
        needed_by = plugin_host(ctx).dependents_of(name, enabled_names)
        if needed_by:
            raise Conflict(f"{', '.join(needed_by)} need the {name} module; disable them first")
    row.status, row.status_changed_at = target, utcnow()
    ctx.session.flush()
    mark_changed(ctx.session, ctx.tenant_id)
    log_action(ctx, name, "enable" if enabled else "disable")
    if name in plugin_host(ctx).plugins:
        call_lifecycle(ctx, name, "crm_enabled" if enabled else "crm_disabled")
    return row


def _plugin_permissions(ctx: Ctx, name: str) -> set[str]:
    return ctx.runtime.permissions.names(module=name)


def uninstall_impact(ctx: Ctx, name: str) -> UninstallImpact:
    """What uninstalling would do: data hidden (kept), jobs stopped, permissions taken from roles."""
    installed_row(ctx, name)
    impact = UninstallImpact(plugin=name)
    plugin = plugin_host(ctx).plugins.get(name)
    for table in plugin.tables if plugin else []:
        impact.rows[table.name] = (
            ctx.session.scalar(
                select(func.count()).select_from(table).where(table.c.tenant_id == ctx.tenant_id)
            )
            or 0
        )
    impact.schedules = [
        f"{s.job_type} {s.key}".strip()
        for s in ctx.session.scalars(
            select(JobSchedule).where(JobSchedule.plugin == name, JobSchedule.enabled)
        )
    ]
    permissions = _plugin_permissions(ctx, name)
    for role in ctx.session.scalars(select(Role).order_by(Role.name)):
        lost = sorted(role.permissions & permissions)
        if lost:
            impact.role_permissions[role.name] = lost
    impact.dependents = plugin_host(ctx).dependents_of(
        name, [n for n, r in tenant_rows(ctx).items() if r.status is not PluginStatus.UNINSTALLED]
    )
    return impact


def uninstall(ctx: Ctx, name: str, *, cascade: bool = False) -> TenantPlugin:
    """Uninstall, keeping the tenant's data for a reinstall. Refused while installed plugins need
    it, unless ``cascade`` uninstalls them first."""
    if not is_operator(ctx):
        ctx.require("marketplace.manage")
    impact = uninstall_impact(ctx, name)
    if impact.dependents and not cascade:
        raise Conflict(
            f"{', '.join(impact.dependents)} need the {name} module: uninstall them first, or "
            "uninstall with cascade"
        )
    for dependent in impact.dependents:
        uninstall(ctx, dependent, cascade=True)
    row = installed_row(ctx, name)
    permissions = _plugin_permissions(ctx, name)
    if permissions:
        ctx.session.execute(delete(RolePermission).where(RolePermission.permission.in_(permissions)))
        for role in ctx.session.scalars(select(Role)):
            ctx.session.expire(role, ["grants"])
    row.status, row.status_changed_at = PluginStatus.UNINSTALLED, utcnow()
    ctx.session.flush()
    mark_changed(ctx.session, ctx.tenant_id)
    log_action(
        ctx,
        name,
        "uninstall",
        rows_kept=impact.rows,
        schedules_stopped=impact.schedules,
        permissions_removed=impact.role_permissions,
    )
    if name in plugin_host(ctx).plugins:
        call_lifecycle(ctx, name, "crm_uninstalled", purge=False)
    return row


def purge(ctx: Ctx, name: str) -> dict[str, int]:
    """Delete an uninstalled plugin's data for the tenant, for good. Returns rows deleted per table."""
    if not is_operator(ctx):
        ctx.require("marketplace.manage")
    row = tenant_row(ctx, name, lock=True)
    if row is None:
        raise NotFound(f"the {name} module has no data to purge")
    if row.status is not PluginStatus.UNINSTALLED:
        raise Conflict(f"uninstall the {name} module before purging its data")
    plugin = plugin_host(ctx).plugins.get(name)
    if plugin is None:
        raise Conflict(f"the {name} module is not loaded: its tables cannot be purged safely")
    call_lifecycle(ctx, name, "crm_uninstalled", purge=True)
    deleted: dict[str, int] = {}
    # Children before parents, so foreign keys between the plugin's tables hold while deleting.
    ordered = [t for t in reversed(Base.metadata.sorted_tables) if t in plugin.tables]
    for table in ordered:
        result = ctx.session.execute(delete(table).where(table.c.tenant_id == ctx.tenant_id))
        deleted[table.name] = result.rowcount or 0
    for model in (JobRun, JobSchedule, PluginFailure):
        ctx.session.execute(delete(model).where(model.plugin == name))
    ctx.session.delete(row)
    ctx.session.flush()
    log_action(ctx, name, "purge", rows_deleted=deleted)
    return deleted


def set_licence(ctx: Ctx, name: str, expires_at: datetime) -> TenantPlugin:
    """Renew (or shorten) a paid plugin's licence. Platform operators only."""
    if not is_operator(ctx):
        raise PermissionDenied("licences are managed by your account manager")
    plugin = loaded_plugin(ctx, name)
    if plugin.manifest.is_free:
        raise Conflict(f"{plugin.manifest.display_name} is free: it has no licence")
    row = installed_row(ctx, name)
    before = row.licence_expires_at
    row.licence_expires_at = expires_at
    ctx.session.flush()
    mark_changed(ctx.session, ctx.tenant_id)
    log_action(ctx, name, "licence", before=before, expires_at=expires_at)
    return row


# Moved in contract 1.3: a plugin may have imported these from here.
__getattr__ = moved_names(
    __name__,
    {
        name: "core.marketplace.settings"
        for name in ("MASK", "get_settings", "settings_of", "update_settings")
    },
)


@dataclass
class TenantHealth:
    tenant_id: int
    tenant_name: str
    open_failures: int  # unresolved failures, any age
    unhealthy: dict[str, int]  # modules over the threshold in the last day -> their failures
    deferred_waiting: int  # deferred work waiting (core.sdk.defer), every module
    deferred_failing: int  # of which the last try failed


def platform_health(ctx: Ctx) -> list[TenantHealth]:
    """Platform operators: each tenant's unresolved module failures and deferred work waiting (the
    plugin-health view across tenants). Visits the tenants one by one, then leaves the unit of
    work without a tenant."""
    if not is_operator(ctx):
        raise PermissionDenied("the plugin-health view across tenants is for account managers")
    saved = ctx.session.info.get("tenant_id")
    rows: list[TenantHealth] = []
    try:
        for tenant in list_tenants(ctx):
            tenant_ctx = as_tenant(ctx, tenant.id)
            open_count = list_failures(tenant_ctx, PageRequest(page=1, per_page=1), resolved=False).total
            waiting = deferred_backlog(tenant_ctx)
            rows.append(
                TenantHealth(
                    tenant.id,
                    tenant.name,
                    open_count,
                    unhealthy_counts(tenant_ctx),
                    sum(group.waiting for group in waiting),
                    sum(group.failing for group in waiting),
                )
            )
    finally:
        ctx.session.info["tenant_id"] = saved
    return rows
