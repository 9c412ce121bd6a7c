"""Migrations: core's branch, and a database that outlived one of its plugins."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from core.db import migrate


def test_a_removed_plugins_migrations_are_explained_not_crashed_on(tmp_path):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    migrate.upgrade(url)
    assert migrate.pending(url) == []
    engine = create_engine(url)
    with engine.begin() as connection:  # as if a plugin, since uninstalled from the machine, had run
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('gone_plugin_0001')"))
    engine.dispose()
    with pytest.raises(migrate.MissingMigrations, match="gone_plugin_0001 of a plugin that is not installed"):
        migrate.upgrade(url)
