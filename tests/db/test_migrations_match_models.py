"""The migrations build exactly the tables the models describe, on the suite's engine."""

from __future__ import annotations

import importlib

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from core.db.base import NAMING_CONVENTION, Base


def _served_metadata(runtime) -> MetaData:
    """The tables of core and of every plugin the host loaded (not of plugins it rejected, whose
    models may have been imported while it looked at them)."""
    packages = ["core."]
    for plugin in runtime.plugins.plugins.values():
        package = plugin.module.__name__.rsplit(".", 1)[0]
        packages.append(f"{package}.")
        try:
            importlib.import_module(f"{package}.models")
        except ModuleNotFoundError:
            continue  # a plugin without tables
    served = MetaData(naming_convention=NAMING_CONVENTION)
    for mapper in Base.registry.mappers:
        if mapper.class_.__module__.startswith(tuple(packages)):
            mapper.local_table.to_metadata(served)
    return served


def test_the_migrated_schema_is_what_the_models_describe(crm_runtime):
    served = _served_metadata(crm_runtime)
    with crm_runtime.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        # Tables of test plugins that other tests migrated into the same database are not ours.
        differences = [d for d in compare_metadata(context, served) if _table_of(d) in served.tables]
    assert differences == []


def _table_of(difference: tuple | list) -> str | None:
    if isinstance(difference, list):  # changes to one column: ("modify_…", schema, table, column, …)
        return difference[0][2]
    if difference[0] in ("add_column", "remove_column"):  # (op, schema, table, column)
        return difference[2]
    subject = difference[1]  # a table, an index or a constraint
    table = getattr(subject, "table", None)
    return table.name if table is not None else getattr(subject, "name", None)
