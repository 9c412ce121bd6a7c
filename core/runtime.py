"""The process-wide runtime: settings, database, permission registry and the plugin host."""

from __future__ import annotations

from dataclasses import dataclass, field

import core.audit.recorder  # registers the operation-log listener
import core.db.models  # noqa: F401  (every core table, so foreign keys resolve in any process)
from core.access.permissions import PermissionRegistry, core_registry
from core.access.principal_cache import PrincipalCache
from core.api.guard import check_plugin_router
from core.config import Settings
from core.db.session import Database
from core.marketplace.state import PluginStateCache
from core.plugins.host import PluginHost


@dataclass
class Runtime:
    settings: Settings
    db: Database
    permissions: PermissionRegistry = field(default_factory=core_registry)
    plugins: PluginHost = field(init=False)
    plugin_state: PluginStateCache = field(init=False)
    principals: PrincipalCache = field(default_factory=PrincipalCache)

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
