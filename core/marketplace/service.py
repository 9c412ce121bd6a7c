"""Marketplace actions for one tenant: catalog, install ("Obtain"), enable, disable, uninstall,
purge, licences and settings. Every action lands in the operation log.

Rules that keep tenants safe:
* a plugin whose policy is "account manager" is installed only by a platform operator;
* required plugins come first (installed with it only when asked to), and a plugin others need
  cannot be uninstalled (unless they go too, when asked);
* installing grants the plugin's own permissions to the tenant's Administrator role only — never
  core permissions, and never to the user who clicked;
* uninstalling keeps the data (a reinstall restores it); only an explicit purge deletes it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import delete, func, select

from core.access.models import PrincipalKind, Role, RolePermission
from core.audit.recorder import record_action
from core.context import Ctx
from core.db.base import Base, utcnow
from core.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied
from core.failures.models import PluginFailure
from core.failures.service import unhealthy_counts
from core.marketplace.models import PluginStatus, TenantPlugin
from core.marketplace.state import mark_changed
from core.plugins.dispatch import call_lifecycle
from core.plugins.host import LoadedPlugin
from core.plugins.manifest import Manifest
from core.scheduler.models import JobRun, JobSchedule

MASK = "********"
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


def _host(ctx: Ctx) -> Any:
    return ctx.runtime.plugins


def _rows(ctx: Ctx) -> dict[str, TenantPlugin]:
    return {row.plugin: row for row in ctx.session.scalars(select(TenantPlugin))}


def _row(ctx: Ctx, name: str, *, lock: bool = False) -> TenantPlugin | None:
    stmt = select(TenantPlugin).where(TenantPlugin.plugin == name)
    return ctx.session.scalar(stmt.with_for_update() if lock else stmt)


def _entry(ctx: Ctx, name: str, row: TenantPlugin | None, unhealthy: dict[str, int]) -> CatalogEntry:
    host = _host(ctx)
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
    rows, unhealthy = _rows(ctx), unhealthy_counts(ctx)
    names = sorted(set(_host(ctx).plugins) | set(_host(ctx).broken) | set(rows))
    return [_entry(ctx, name, rows.get(name), unhealthy) for name in names]


def entry(ctx: Ctx, name: str) -> CatalogEntry:
    host = _host(ctx)
    row = _row(ctx, name)
    if name not in host.plugins and name not in host.broken and row is None:
        raise NotFound(f"no module {name!r} in the marketplace")
    return _entry(ctx, name, row, unhealthy_counts(ctx))


def _loaded(ctx: Ctx, name: str) -> LoadedPlugin:
    host = _host(ctx)
    if name in host.broken:
        raise Conflict(f"the {name} module is {host.broken[name].state}: {host.broken[name].reason}")
    plugin = host.plugins.get(name)
    if plugin is None:
        raise NotFound(f"no module {name!r} in the marketplace")
    return plugin


def _is_operator(ctx: Ctx) -> bool:
    return ctx.principal is None or ctx.principal.kind is PrincipalKind.OPERATOR


def _check_policy(ctx: Ctx, plugin: LoadedPlugin) -> None:
    if _is_operator(ctx):
        return
    if not plugin.manifest.self_service:
        raise PermissionDenied(
            f"{plugin.manifest.display_name} is installed by your account manager: "
            "please contact them to obtain it"
        )
    ctx.require("marketplace.install")


def _log(ctx: Ctx, name: str, action: str, **details: Any) -> None:
    record_action(ctx.session, entity="tenant_plugins", entity_id=name, action=action, after=details or None)


def _missing_requirements(ctx: Ctx, plugin: LoadedPlugin, rows: dict[str, TenantPlugin]) -> list[str]:
    """Required plugins not yet installed for the tenant, deepest first."""
    order: list[str] = []

    def visit(current: LoadedPlugin) -> None:
        for requirement in current.manifest.requires:
            row = rows.get(requirement.name)
            if (row is None or row.status is PluginStatus.UNINSTALLED) and requirement.name not in order:
                visit(_loaded(ctx, requirement.name))
                order.append(requirement.name)

    visit(plugin)
    return order


def install(
    ctx: Ctx, name: str, *, with_requirements: bool = False, licence_expires_at: datetime | None = None
) -> TenantPlugin:
    """Install a plugin for the tenant (a reinstall restores its kept data and settings)."""
    plugin = _loaded(ctx, name)
    _check_policy(ctx, plugin)
    missing = _missing_requirements(ctx, plugin, _rows(ctx))
    if missing and not with_requirements:
        raise Conflict(
            f"{plugin.manifest.display_name} needs {', '.join(missing)} installed first; "
            "install them, or install with with_requirements",
            fields=[FieldError("requires", f"{m} is not installed") for m in missing],
        )
    for requirement in missing:
        required = _loaded(ctx, requirement)
        _check_policy(ctx, required)
        _install_one(ctx, required, None)
    return _install_one(ctx, plugin, licence_expires_at)


def _install_one(ctx: Ctx, plugin: LoadedPlugin, licence_expires_at: datetime | None) -> TenantPlugin:
    row = _row(ctx, plugin.name, lock=True)
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
    _log(ctx, plugin.name, "install", version=row.version, licence_expires_at=licence_expires_at)
    call_lifecycle(ctx, plugin.name, "crm_installed")
    return row


def _grant_to_administrators(ctx: Ctx, plugin: LoadedPlugin) -> None:
    names = {p["name"] for p in plugin.manifest.permissions}
    for role in ctx.session.scalars(select(Role).where(Role.is_admin)):
        for permission in sorted(names - role.permissions):
            role.grants.append(RolePermission(permission=permission, tenant_id=ctx.tenant_id))


def _installed_row(ctx: Ctx, name: str) -> TenantPlugin:
    row = _row(ctx, name, lock=True)
    if row is None or row.status is PluginStatus.UNINSTALLED:
        raise Conflict(f"the {name} module is not installed")
    return row


def set_enabled(ctx: Ctx, name: str, enabled: bool) -> TenantPlugin:
    """Disable (data, settings and schedules kept; routes, events and jobs stop) or enable again."""
    if not _is_operator(ctx):
        ctx.require("marketplace.manage")
    row = _installed_row(ctx, name)
    target = PluginStatus.ENABLED if enabled else PluginStatus.DISABLED
    if row.status is target:
        return row
    if enabled:
        _loaded(ctx, name)
    else:
        enabled_names = [n for n, r in _rows(ctx).items() if r.status is PluginStatus.ENABLED]
        needed_by = _host(ctx).dependents_of(name, enabled_names)
        if needed_by:
            raise Conflict(f"{', '.join(needed_by)} need the {name} module; disable them first")
    row.status, row.status_changed_at = target, utcnow()
    ctx.session.flush()
    mark_changed(ctx.session, ctx.tenant_id)
    _log(ctx, name, "enable" if enabled else "disable")
    if name in _host(ctx).plugins:
        call_lifecycle(ctx, name, "crm_enabled" if enabled else "crm_disabled")
    return row


def _plugin_permissions(ctx: Ctx, name: str) -> set[str]:
    return ctx.runtime.permissions.names(module=name)


def uninstall_impact(ctx: Ctx, name: str) -> UninstallImpact:
    """What uninstalling would do: data hidden (kept), jobs stopped, permissions taken from roles."""
    _installed_row(ctx, name)
    impact = UninstallImpact(plugin=name)
    plugin = _host(ctx).plugins.get(name)
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
    impact.dependents = _host(ctx).dependents_of(
        name, [n for n, r in _rows(ctx).items() if r.status is not PluginStatus.UNINSTALLED]
    )
    return impact


def uninstall(ctx: Ctx, name: str, *, cascade: bool = False) -> TenantPlugin:
    """Uninstall, keeping the tenant's data for a reinstall. Refused while installed plugins need
    it, unless ``cascade`` uninstalls them first."""
    if not _is_operator(ctx):
        ctx.require("marketplace.manage")
    impact = uninstall_impact(ctx, name)
    if impact.dependents and not cascade:
        raise Conflict(
            f"{', '.join(impact.dependents)} need the {name} module: uninstall them first, or "
            "uninstall with cascade"
        )
    for dependent in impact.dependents:
        uninstall(ctx, dependent, cascade=True)
    row = _installed_row(ctx, name)
    permissions = _plugin_permissions(ctx, name)
    if permissions:
        ctx.session.execute(delete(RolePermission).where(RolePermission.permission.in_(permissions)))
        for role in ctx.session.scalars(select(Role)):
            ctx.session.expire(role, ["grants"])
    row.status, row.status_changed_at = PluginStatus.UNINSTALLED, utcnow()
    ctx.session.flush()
    mark_changed(ctx.session, ctx.tenant_id)
    _log(
        ctx,
        name,
        "uninstall",
        rows_kept=impact.rows,
        schedules_stopped=impact.schedules,
        permissions_removed=impact.role_permissions,
    )
    if name in _host(ctx).plugins:
        call_lifecycle(ctx, name, "crm_uninstalled", purge=False)
    return row


def purge(ctx: Ctx, name: str) -> dict[str, int]:
    """Delete an uninstalled plugin's data for the tenant, for good. Returns rows deleted per table."""
    if not _is_operator(ctx):
        ctx.require("marketplace.manage")
    row = _row(ctx, name, lock=True)
    if row is None:
        raise NotFound(f"the {name} module has no data to purge")
    if row.status is not PluginStatus.UNINSTALLED:
        raise Conflict(f"uninstall the {name} module before purging its data")
    plugin = _host(ctx).plugins.get(name)
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
    _log(ctx, name, "purge", rows_deleted=deleted)
    return deleted


def set_licence(ctx: Ctx, name: str, expires_at: datetime) -> TenantPlugin:
    """Renew (or shorten) a paid plugin's licence. Platform operators only."""
    if not _is_operator(ctx):
        raise PermissionDenied("licences are managed by your account manager")
    plugin = _loaded(ctx, name)
    if plugin.manifest.is_free:
        raise Conflict(f"{plugin.manifest.display_name} is free: it has no licence")
    row = _installed_row(ctx, name)
    before = row.licence_expires_at
    row.licence_expires_at = expires_at
    ctx.session.flush()
    mark_changed(ctx.session, ctx.tenant_id)
    _log(ctx, name, "licence", before=before, expires_at=expires_at)
    return row


# --- settings ------------------------------------------------------------------------------------


def _secret_fields(schema: dict[str, Any]) -> set[str]:
    return {name for name, prop in schema.get("properties", {}).items() if prop.get("writeOnly")}


def _masked(schema: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    secrets = _secret_fields(schema)
    return {k: (MASK if k in secrets and v not in (None, "") else v) for k, v in values.items()}


def _with_defaults(schema: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    defaults = {
        k: copy.deepcopy(p["default"]) for k, p in schema.get("properties", {}).items() if "default" in p
    }
    return {**defaults, **values}


def get_settings(ctx: Ctx, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(values with secrets masked and defaults filled in, the settings schema)."""
    plugin = _loaded(ctx, name)
    row = _installed_row(ctx, name)
    schema = plugin.manifest.settings_schema
    return _masked(schema, _with_defaults(schema, row.settings or {})), schema


def settings_of(ctx: Ctx, name: str) -> dict[str, Any]:
    """A plugin's settings for the tenant, secrets included, defaults filled in (for the plugin)."""
    row = _row(ctx, name)
    schema = _loaded(ctx, name).manifest.settings_schema
    return _with_defaults(schema, (row.settings if row else None) or {})


def update_settings(ctx: Ctx, name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Replace the settings. A secret sent back masked, or left out, keeps its stored value."""
    if not _is_operator(ctx):
        ctx.require("marketplace.manage")
    plugin = _loaded(ctx, name)
    row = _installed_row(ctx, name)
    schema = plugin.manifest.settings_schema
    old = dict(row.settings or {})
    new = dict(values)
    for secret in _secret_fields(schema):
        if new.get(secret) == MASK or (secret not in new and secret in old):
            if secret in old:
                new[secret] = old[secret]
            else:
                new.pop(secret, None)
    errors = sorted(
        Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(new),
        key=lambda e: e.json_path,
    )
    if errors:
        fields = [FieldError("settings" + e.json_path.removeprefix("$"), e.message) for e in errors]
        raise InvalidInput(fields[0].field, fields[0].message, *fields[1:])
    row.settings = new
    ctx.session.flush()
    _log(ctx, name, "settings", before=_masked(schema, old), values=_masked(schema, new))
    if row.status is PluginStatus.ENABLED:
        call_lifecycle(
            ctx,
            name,
            "crm_settings_changed",
            old=_with_defaults(schema, old),
            new=_with_defaults(schema, new),
        )
    return _masked(schema, _with_defaults(schema, new))
