"""The plugin host: finds plugins through entry points, checks them, and registers the good ones.

A plugin that fails any check is not registered; the host keeps running and reports the plugin
as *broken* (or *incompatible*) with the reason:

* its hooks module fails to import;
* its manifest is missing or invalid, or names a different plugin than its entry point;
* its declared core or hook-contract range excludes this host;
* a hook implementation does not match ``core.contract`` (a misspelt hook or argument);
* it declares a permission another plugin (or core) already declared;
* a route of its routers declares no permission, or its tables are not its own;
* it declares a job type without a handler, or a handler for an undeclared job type;
* a plugin it requires is missing, broken, or outside the required version range.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

import pluggy
from packaging.version import Version
from pluggy import HookImpl
from sqlalchemy import Table
from stevedore import ExtensionManager

from core import __version__, contract
from core.access.permissions import Permission, PermissionRegistry
from core.db.base import Base, TenantOwned
from core.plugins.manifest import Manifest, ManifestError, load_manifest

log = logging.getLogger("crm.plugins")

ENTRY_POINT_GROUP = "crm.plugins"


@dataclass
class LoadedPlugin:
    name: str
    manifest: Manifest
    module: Any  # the object registered with pluggy (the hooks module)
    package: str
    distribution: str | None = None
    backoffice_router: APIRouter | None = None
    portal_router: APIRouter | None = None
    job_handlers: dict[str, Callable[..., None]] = field(default_factory=dict)
    deferred_handlers: dict[str, Callable[..., None]] = field(default_factory=dict)
    migrations: Path | None = None
    portal_pages: list[dict[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    # Web pages (contract 1.4): templates folder, page routers, navigation entries, slot pieces.
    templates: Path | None = None
    backoffice_page_router: APIRouter | None = None
    portal_page_router: APIRouter | None = None
    backoffice_nav: list[dict[str, str]] = field(default_factory=list)
    slots: list[dict[str, Any]] = field(default_factory=list)
    # Client metrics (contract 1.5) the plugin offers to rules.
    metrics: list[contract.ClientMetric] = field(default_factory=list)


@dataclass(frozen=True)
class BrokenPlugin:
    name: str
    reason: str
    state: str = "broken"  # or "incompatible"
    manifest: Manifest | None = None
    distribution: str | None = None


if TYPE_CHECKING:
    from fastapi import APIRouter


class RouterCheck(Protocol):
    """Checks a router a plugin returned (the HTTP layer provides it: every route declares its
    access); raises ``PluginRejected`` with the reason to refuse the plugin."""

    def __call__(
        self, router: object, registry: PermissionRegistry, *, plugin: str, pages: bool = False
    ) -> APIRouter: ...


class PluginRejected(Exception):
    def __init__(self, reason: str, state: str = "broken") -> None:
        super().__init__(reason)
        self.reason = reason
        self.state = state


def _distributions(group: str) -> dict[str, str]:
    """Entry-point name -> "distribution version" (stevedore's cached entry points lack it)."""
    found = {}
    for entry_point in importlib.metadata.entry_points(group=group):
        dist = entry_point.dist
        if dist is not None:
            found[entry_point.name] = f"{dist.name} {dist.version}"
    return found


class PluginHost:
    def __init__(
        self,
        permissions: PermissionRegistry,
        *,
        core_version: str = __version__,
        hooks_version: str = contract.HOOKS_VERSION,
        check_router: RouterCheck | None = None,
    ) -> None:
        self.permissions = permissions
        # Without a check, a plugin that brings routes is refused: no route is served unchecked.
        self.check_router = check_router
        self.core_version = Version(core_version)
        self.hooks_version = Version(hooks_version)
        self.pm = self._manager()
        self.plugins: dict[str, LoadedPlugin] = {}
        self.broken: dict[str, BrokenPlugin] = {}
        self._subsets: dict[frozenset[str], pluggy.PluginManager] = {}
        self._calls: dict[tuple[frozenset[str], str], tuple[HookImpl, ...]] = {}

    @staticmethod
    def _manager() -> pluggy.PluginManager:
        pm = pluggy.PluginManager(contract.PROJECT)
        pm.add_hookspecs(contract.CrmHooks)
        return pm

    # --- discovery ------------------------------------------------------------------------------

    def discover(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Load every plugin advertised in the entry-point group."""
        failures: list[tuple[Any, BaseException]] = []
        # stevedore remembers a namespace's entry points per process; look again each time, so
        # a plugin installed since the last discovery is found.
        ExtensionManager.ENTRY_POINT_CACHE.pop(group, None)
        manager = ExtensionManager(
            namespace=group,
            invoke_on_load=False,
            on_load_failure_callback=lambda _mgr, entry_point, error: failures.append((entry_point, error)),
        )
        distributions = _distributions(group)
        for entry_point, error in failures:
            self._reject(
                entry_point.name,
                f"cannot import {entry_point.value}: {error!r}",
                distribution=distributions.get(entry_point.name),
            )
        for extension in sorted(manager, key=lambda ext: ext.name):
            self.load(extension.name, extension.plugin, distribution=distributions.get(extension.name))
        self._check_requirements()

    def load(self, entry_name: str, module: Any, *, distribution: str | None = None) -> LoadedPlugin | None:
        """Check one plugin and register it; on any problem, record it as broken instead."""
        manifest: Manifest | None = None
        registered = False
        try:
            package = self._package_of(module)
            manifest = load_manifest(package)
            if manifest.name != entry_name:
                raise PluginRejected(
                    f"the entry point is {entry_name!r} but the manifest names {manifest.name!r}"
                )
            if manifest.name in self.plugins:
                raise PluginRejected(f"another distribution already provides plugin {manifest.name!r}")
            if self.core_version not in manifest.core:
                raise PluginRejected(
                    f"requires core {manifest.core}, this is {self.core_version}", "incompatible"
                )
            if self.hooks_version not in manifest.hooks:
                raise PluginRejected(
                    f"implements hooks {manifest.hooks}, this host offers {self.hooks_version}",
                    "incompatible",
                )
            self._register_hooks(manifest.name, module)
            registered = True
            plugin = LoadedPlugin(
                name=manifest.name,
                manifest=manifest,
                module=module,
                package=package,
                distribution=distribution,
            )
            self._collect_registrations(plugin)
            self._register_permissions(plugin)
        except (PluginRejected, ManifestError) as error:
            state = error.state if isinstance(error, PluginRejected) else "broken"
            reason = f"invalid manifest: {error}" if isinstance(error, ManifestError) else str(error)
            self._undo(entry_name, module if registered else None)
            self._reject(entry_name, reason, state=state, manifest=manifest, distribution=distribution)
            return None
        except Exception as error:  # a plugin's own code failed while registering
            self._undo(entry_name, module if registered else None)
            self._reject(
                entry_name, f"failed while loading: {error!r}", manifest=manifest, distribution=distribution
            )
            return None
        self.plugins[plugin.name] = plugin
        self._subsets.clear()
        self._calls.clear()
        log.info("loaded plugin %s %s", plugin.name, plugin.manifest.version)
        return plugin

    @staticmethod
    def _package_of(module: Any) -> str:
        package = module.__package__ if isinstance(module, ModuleType) else None
        if not package:
            raise PluginRejected("the entry point must name a hooks module inside the plugin's package")
        return str(package)

    def _register_hooks(self, name: str, module: Any) -> None:
        for attribute, function in sorted(vars(module).items()):
            options = getattr(function, f"{contract.PROJECT}_impl", None)
            if isinstance(options, dict) and (options.get("wrapper") or options.get("hookwrapper")):
                raise PluginRejected(
                    f"{attribute} is a hook wrapper, which the host does not support: it calls each "
                    "plugin's implementation itself (isolated, acting as that plugin), so "
                    "a wrapper around the others would never run; implement the hook plainly"
                )
        try:
            self.pm.register(module, name=name)
        except pluggy.PluginValidationError as error:
            detail = " ".join(str(error).split())
            raise PluginRejected(f"hook does not match the contract: {detail}") from None
        unknown = [caller.name for caller in self.pm.get_hookcallers(module) or [] if not caller.has_spec()]
        if unknown:
            raise PluginRejected(f"implements unknown hook(s) {', '.join(sorted(unknown))} (misspelt?)")

    def _registration(self, module: Any, hook: str) -> Any:
        """What a plugin's registration hook returns (None when it does not implement it)."""
        function = getattr(module, hook, None)
        return function() if function is not None and hasattr(function, f"{contract.PROJECT}_impl") else None

    def commands(self, name: str) -> Any | None:
        """A loaded plugin's command-line commands (``crm_cli_commands``), asked for only when the
        CLI runs one; None when it has none. A wrong answer is the plugin's mistake, said so."""
        plugin = self.plugins.get(name)
        if plugin is None:
            return None
        import typer

        commands = self._registration(plugin.module, "crm_cli_commands")
        if commands is not None and not isinstance(commands, typer.Typer):
            raise PluginRejected(f"crm_cli_commands of {name} must return a typer.Typer, not {commands!r}")
        return commands

    def _collect_registrations(self, plugin: LoadedPlugin) -> None:
        for kind in ("backoffice", "portal"):
            router = self._registration(plugin.module, f"crm_{kind}_router")
            if router is not None:
                if self.check_router is None:
                    raise PluginRejected("this host serves no routes (no router check configured)")
                checked = self.check_router(router, self._registry_with(plugin), plugin=plugin.name)
                setattr(plugin, f"{kind}_router", checked)
        handlers = self._registration(plugin.module, "crm_job_handlers") or {}
        declared = plugin.manifest.job_names()
        if set(handlers) != declared:
            missing, extra = sorted(declared - set(handlers)), sorted(set(handlers) - declared)
            raise PluginRejected(
                f"job handlers do not match the manifest's jobs (no handler for {missing}, "
                f"undeclared {extra})"
            )
        plugin.job_handlers = dict(handlers)
        plugin.deferred_handlers = check_deferred_handlers(
            self._registration(plugin.module, "crm_deferred_handlers") or {}
        )
        migrations = self._registration(plugin.module, "crm_migrations")
        if migrations is not None:
            plugin.migrations = Path(migrations)
            if not plugin.migrations.is_dir():
                raise PluginRejected(f"migrations folder {plugin.migrations} does not exist")
        plugin.portal_pages = list(self._registration(plugin.module, "crm_portal_pages") or [])
        plugin.metrics = check_metrics(
            self._registration(plugin.module, "crm_client_metrics") or [], plugin.name
        )
        self._collect_web(plugin)
        plugin.tables = self._tables_of(plugin)

    def _collect_web(self, plugin: LoadedPlugin) -> None:
        """The plugin's pages, navigation and slot pieces, checked so that a mistake stops the load
        with its reason instead of breaking a page later."""
        registry = self._registry_with(plugin)
        templates = self._registration(plugin.module, "crm_templates")
        if templates is not None:
            plugin.templates = Path(templates)
            if not plugin.templates.is_dir():
                raise PluginRejected(f"templates folder {plugin.templates} does not exist")
        for kind in ("backoffice", "portal"):
            router = self._registration(plugin.module, f"crm_{kind}_page_router")
            if router is not None:
                if self.check_router is None:
                    raise PluginRejected("this host serves no pages (no router check configured)")
                checked = self.check_router(router, registry, plugin=plugin.name, pages=True)
                setattr(plugin, f"{kind}_page_router", checked)
        plugin.backoffice_nav = [
            check_nav_entry(entry, registry)
            for entry in self._registration(plugin.module, "crm_backoffice_nav") or []
        ]
        plugin.slots = [
            check_slot(piece, registry, plugin.templates)
            for piece in self._registration(plugin.module, "crm_ui_slots") or []
        ]

    def _registry_with(self, plugin: LoadedPlugin) -> PermissionRegistry:
        """The registry as it will be once this plugin's permissions are in (routes may use them)."""
        trial = PermissionRegistry(self.permissions)
        for item in plugin.manifest.permissions:
            if item["name"] not in trial:
                trial.register(
                    Permission(item["name"], item["label"], item["description"], module=plugin.name)
                )
        return trial

    def _tables_of(self, plugin: LoadedPlugin) -> list[Table]:
        models = f"{plugin.package}.models"
        if importlib.util.find_spec(models) is not None:
            importlib.import_module(models)
        tables = []
        for mapper in Base.registry.mappers:
            cls = mapper.class_
            if not cls.__module__.startswith(f"{plugin.package}."):
                continue
            table = mapper.local_table
            if not table.name.startswith(f"{plugin.name}_"):
                raise PluginRejected(f"table {table.name!r} must be named {plugin.name}_…")
            if not issubclass(cls, TenantOwned):
                raise PluginRejected(f"model {cls.__name__} must be tenant-owned (core.db.TenantOwned)")
            if getattr(cls, "__platform_rows__", False):  # rows of no tenant: core's outbox only
                raise PluginRejected(f"model {cls.__name__} cannot hold rows of no tenant")
            tables.append(table)
        return tables

    def _register_permissions(self, plugin: LoadedPlugin) -> None:
        for item in plugin.manifest.permissions:
            if item["name"] in self.permissions:
                owner = self.permissions.get(item["name"])
                raise PluginRejected(f"permission {item['name']!r} is already declared by {owner.module!r}")
        for item in plugin.manifest.permissions:
            self.permissions.register(
                Permission(item["name"], item["label"], item["description"], module=plugin.name)
            )

    def _undo(self, name: str, module: Any) -> None:
        if module is not None and self.pm.is_registered(module):
            self.pm.unregister(module)
        self.permissions.unregister_module(name)

    def _reject(
        self,
        name: str,
        reason: str,
        *,
        state: str = "broken",
        manifest: Manifest | None = None,
        distribution: str | None = None,
    ) -> None:
        log.error("plugin %s is %s: %s", name, state, reason)
        self.broken[name] = BrokenPlugin(
            name=name, reason=reason, state=state, manifest=manifest, distribution=distribution
        )

    def _check_requirements(self) -> None:
        """Unload plugins whose requirements are not met, until nothing changes."""
        changed = True
        while changed:
            changed = False
            for plugin in list(self.plugins.values()):
                problem = self._requirement_problem(plugin)
                if problem:
                    del self.plugins[plugin.name]
                    self._undo(plugin.name, plugin.module)
                    self._reject(
                        plugin.name,
                        problem,
                        state="incompatible",
                        manifest=plugin.manifest,
                        distribution=plugin.distribution,
                    )
                    self._subsets.clear()
                    self._calls.clear()
                    changed = True

    def _requirement_problem(self, plugin: LoadedPlugin) -> str | None:
        for requirement in plugin.manifest.requires:
            other = self.plugins.get(requirement.name)
            if other is None:
                why = (
                    self.broken[requirement.name].reason
                    if requirement.name in self.broken
                    else "not available"
                )
                return f"requires plugin {requirement.name!r} ({why})"
            if other.manifest.version not in requirement.specifier:
                return (
                    f"requires {requirement.name} {requirement.specifier}, "
                    f"but {other.manifest.version} is available"
                )
        return None

    # --- calling plugins --------------------------------------------------------------------------

    def hooks_for(self, names: frozenset[str]) -> pluggy.HookRelay:
        """The hooks of exactly these plugins, called in a stable order (by plugin name).

        One plugin manager per distinct set of plugins, built once: dispatching for a tenant
        costs what a bare pluggy call over its plugins costs."""
        manager = self._subsets.get(names)
        if manager is None:
            manager = self._manager()
            # pluggy calls the last registered first: register in reverse to call in name order.
            for name in sorted(names & self.plugins.keys(), reverse=True):
                manager.register(self.plugins[name].module, name=name)
            self._subsets[names] = manager
        return manager.hook

    def implementations(self, names: frozenset[str], hook: str) -> tuple[HookImpl, ...]:
        """The implementations of ``hook`` among exactly these plugins, in the order they are called
        (by plugin name), kept once per set and hook: dispatch calls them without pluggy's loop."""
        key = (names, hook)
        found = self._calls.get(key)
        if found is None:
            # pluggy stores a hook's implementations lowest priority first.
            found = self._calls[key] = tuple(reversed(getattr(self.hooks_for(names), hook).get_hookimpls()))
        return found

    def implementation(self, plugin: str, hook: str) -> HookImpl | None:
        """One plugin's implementation of a hook (for lifecycle calls), or None."""
        for implementation in getattr(self.pm.hook, hook).get_hookimpls():
            if implementation.plugin_name == plugin:
                return implementation
        return None

    def migration_locations(self) -> list[Path]:
        return [p.migrations for p in self.plugins.values() if p.migrations is not None]

    def dependents_of(self, name: str, among: Iterable[str]) -> list[str]:
        """Plugins in ``among`` that require ``name``."""
        return sorted(
            other
            for other in among
            if other in self.plugins and any(r.name == name for r in self.plugins[other].manifest.requires)
        )


def check_nav_entry(entry: Any, registry: PermissionRegistry) -> dict[str, str]:
    """A back-office navigation entry as the contract describes it (``NavEntry``), or the reason
    the plugin is refused."""
    keys = {"id", "label", "path", "icon", "permission"}
    if (
        not isinstance(entry, dict)
        or set(entry) != keys
        or not all(isinstance(v, str) for v in entry.values())
    ):
        raise PluginRejected(f"a navigation entry must be a dict of strings with exactly {sorted(keys)}")
    if not entry["path"].startswith("/"):
        raise PluginRejected(f"navigation entry {entry['id']!r}: path must start with '/'")
    if entry["icon"] not in contract.ICONS:
        raise PluginRejected(f"navigation entry {entry['id']!r}: unknown icon {entry['icon']!r}")
    if entry["permission"] not in registry:
        raise PluginRejected(f"navigation entry {entry['id']!r}: unknown permission {entry['permission']!r}")
    return dict(entry)


def check_slot(piece: Any, registry: PermissionRegistry, templates: Path | None) -> dict[str, Any]:
    """A slot contribution as the contract describes it (``SlotContribution``), or the reason."""
    if not isinstance(piece, dict) or not {"slot", "template"} <= set(piece):
        raise PluginRejected("a slot contribution must be a dict with at least 'slot' and 'template'")
    unknown = set(piece) - {"slot", "template", "permission", "context", "order"}
    if unknown:
        raise PluginRejected(f"slot contribution: unknown keys {sorted(unknown)}")
    if piece["slot"] not in contract.SLOTS:
        raise PluginRejected(f"unknown slot {piece['slot']!r} (slots: {sorted(contract.SLOTS)})")
    if templates is None:
        raise PluginRejected("a slot contribution needs the plugin's templates (crm_templates)")
    template = str(piece["template"])
    _prefix, _, relative = template.partition("/")
    if not relative or not (templates / relative).is_file():
        raise PluginRejected(f"slot template {template!r} is not in {templates}")
    permission = piece.get("permission")
    if permission is not None and permission not in registry:
        raise PluginRejected(f"slot contribution: unknown permission {permission!r}")
    if "context" in piece and not callable(piece["context"]):
        raise PluginRejected("slot contribution: 'context' must be callable")
    return {"order": 100, **piece}


METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]{0,62}$")


def check_deferred_handlers(handlers: Any) -> dict[str, Callable[..., None]]:
    """A plugin's deferred-work handlers (``crm_deferred_handlers``): a mistake stops the load."""
    if not isinstance(handlers, dict) or not all(
        isinstance(task, str) and 0 < len(task) <= 100 and callable(handler)
        for task, handler in handlers.items()
    ):
        raise PluginRejected("crm_deferred_handlers must return {task name (1-100 characters): handler}")
    return dict(handlers)


def check_metrics(metrics: Any, plugin: str) -> list[contract.ClientMetric]:
    """A plugin's client metrics (``crm_client_metrics``), each checked: a mistake stops the load."""
    if not isinstance(metrics, list | tuple):
        raise PluginRejected("crm_client_metrics must return a list of core.sdk.ClientMetric")
    checked: dict[str, contract.ClientMetric] = {}
    for metric in metrics:
        if not isinstance(metric, contract.ClientMetric):
            raise PluginRejected(f"crm_client_metrics returned {metric!r}, not a core.sdk.ClientMetric")
        name = metric.name
        if not METRIC_NAME.match(name) or not name.startswith(f"{plugin}."):
            raise PluginRejected(f"metric {name!r} must be named '{plugin}.<metric>' (lowercase, digits, _)")
        if name in checked:
            raise PluginRejected(f"metric {name!r} is offered twice")
        if metric.kind not in contract.OPERATORS:
            raise PluginRejected(
                f"metric {name!r} has kind {metric.kind!r}; one of {sorted(contract.OPERATORS)}"
            )
        if not callable(metric.measure):
            raise PluginRejected(f"metric {name!r} has no measure function")
        if not metric.label.strip() or len(metric.label) > 100:
            raise PluginRejected(f"metric {name!r} needs a label of 1 to 100 characters")
        if metric.per_currency and metric.kind != "amount":
            raise PluginRejected(f"metric {name!r}: only an amount is per currency")
        if metric.kind == "amount" and not metric.per_currency:
            raise PluginRejected(f"metric {name!r}: an amount is per currency (per_currency=True)")
        if metric.kind in ("choice", "set") and metric.choices is None:
            raise PluginRejected(f"metric {name!r}: a {metric.kind} metric lists its choices")
        checked[name] = metric
    return list(checked.values())
