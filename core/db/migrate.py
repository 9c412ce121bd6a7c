"""Alembic, driven from code: core's migration branch plus one branch per plugin.

Each branch lives in its own versions folder; a plugin's first revision depends on core's
so ``upgrade heads`` applies core first, then every registered plugin.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlalchemy import Engine

from core.db.engine import make_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
CORE_VERSIONS = MIGRATIONS_DIR / "versions"


def alembic_config(url: str, extra_version_locations: Sequence[str | Path] = ()) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    locations = [str(CORE_VERSIONS), *(str(p) for p in extra_version_locations)]

    config.set_main_option("version_locations", os.pathsep.join(locations))
    config.attributes["url"] = url
    return config


class MissingMigrations(RuntimeError):
    """The database has migrations applied that no installed code knows (a removed plugin)."""


def _unknown(script: ScriptDirectory, revisions: set[str]) -> list[str]:
    missing = []
    for revision in revisions:
        try:
            script.get_revision(revision)
        except (ResolutionError, CommandError):
            missing.append(revision)
    return sorted(missing)


def upgrade(url: str, extra_version_locations: Sequence[str | Path] = (), revision: str = "heads") -> None:
    config = alembic_config(url, extra_version_locations)
    unknown = _unknown(ScriptDirectory.from_config(config), current_heads(make_engine(url)))
    if unknown:
        raise MissingMigrations(
            f"the database has migrations {', '.join(unknown)} of a plugin that is not installed here: "
            "install that plugin again (its data is still there), or drop its tables and its "
            "alembic_version row"
        )
    command.upgrade(config, revision)


def current_heads(engine: Engine) -> set[str]:
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def pending(url: str, extra_version_locations: Sequence[str | Path] = ()) -> list[str]:
    """Revisions the database has not applied yet (core's and the given plugins')."""
    script = ScriptDirectory.from_config(alembic_config(url, extra_version_locations))
    current = current_heads(make_engine(url))
    # Walking down from what is applied (dependencies included) finds everything applied; a
    # plugin branch's revisions stay pending even when core's head is applied.
    applied = {r.revision for r in script.iterate_revisions(tuple(current), "base")} if current else set()
    return sorted({r.revision for r in script.walk_revisions()} - applied)
