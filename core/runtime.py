"""The process-wide runtime: settings, database and permission registry, built once."""

from __future__ import annotations

from dataclasses import dataclass, field

import core.audit.recorder  # noqa: F401  (registers the operation-log listener)
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
