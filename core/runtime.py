"""The process-wide runtime: settings, database and permission registry, built once."""

from __future__ import annotations

from dataclasses import dataclass, field

import core.audit.recorder  # registers the operation-log listener
import core.db.models  # noqa: F401  (every core table, so foreign keys resolve in any process)
from core.access.permissions import PermissionRegistry, core_registry
from core.config import Settings
from core.db.session import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    permissions: PermissionRegistry = field(default_factory=core_registry)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Runtime:
        settings = settings or Settings.from_env()
        return cls(settings=settings, db=Database(settings.database_url))
