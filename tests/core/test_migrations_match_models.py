"""The migrations build exactly the tables the models describe, on the suite's engine."""

from __future__ import annotations

import importlib

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.db.base import Base


def _import_models(runtime) -> None:
    for plugin in runtime.plugins.plugins.values():
        package = plugin.module.__name__.rsplit(".", 1)[0]
        try:
            importlib.import_module(f"{package}.models")
        except ModuleNotFoundError:
            continue  # a plugin without tables


def test_the_migrated_schema_is_what_the_models_describe(crm_runtime):
    _import_models(crm_runtime)
    with crm_runtime.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = [
            d
            for d in compare_metadata(context, Base.metadata)
            # Tables of test plugins that the suite migrates but whose models it never imports.
            if not (d[0] == "remove_table" and d[1].name not in Base.metadata.tables)
        ]
    assert differences == []
