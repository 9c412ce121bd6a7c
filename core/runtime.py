"""The process-wide runtime: settings, database, permission registry and the plugin host."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import core.audit.recorder  # registers the operation-log listener
import core.db.models
import core.scheduler.deferred  # noqa: F401  (the listeners that write and start deferred work)
from core.access.permissions import PermissionRegistry, core_registry
from core.access.principal_cache import PrincipalCache
from core.api.guard import check_plugin_router
from core.config import Settings
from core.db.session import Database
from core.marketplace.state import PluginStateCache
from core.plugins.host import PluginHost

if TYPE_CHECKING:
    from core.scheduler.deferred import DeferredWorker


@dataclass
class Runtime:
    settings: Settings
    db: Database
    permissions: PermissionRegistry = field(default_factory=core_registry)
    plugins: PluginHost = field(init=False)
    plugin_state: PluginStateCache = field(init=False)
    principals: PrincipalCache = field(default_factory=PrincipalCache)
    # The process's background worker for deferred work, while one runs (``crm serve``); without
    # one, deferred work is done as its unit of work commits.
    deferred: DeferredWorker | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.plugins = PluginHost(self.permissions, check_router=check_plugin_router)
        self.plugin_state = PluginStateCache(self.plugins)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, discover: bool = True) -> Runtime:
        """A runtime for this process; ``discover`` loads every installed plugin."""
        settings = settings or Settings.from_env()
        database = Database(
            settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_pool_overflow
        )
        runtime = cls(settings=settings, db=database)
        if discover:
            runtime.plugins.discover()
        return runtime
