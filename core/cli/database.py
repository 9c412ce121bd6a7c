"""Which database a ``crm`` command uses, and a one-line refusal when it cannot be used.

The rule (the README's "The ``crm`` command" says the same): the database is ``CRM_DATABASE_URL``,
else ``crm.db`` in the current folder. Only ``crm db upgrade`` and ``crm serve`` create it and apply
its migrations. Every other command that touches data needs a database that exists, answers and
has been migrated; otherwise it says how to point the CLI at one and exits with code 1, having
created nothing (connecting to a missing SQLite file would create an empty one).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from core.cli.common import fail, one_line
from core.config import DEFAULT_DATABASE_URL, Settings

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.engine import URL

    from core.db.session import Database
    from core.runtime import Runtime


class Need(Enum):
    """What a command needs of its database."""

    NOTHING = "nothing"  # plugins list: the plugin host only
    EXISTING = "existing"  # db status: there and reachable, maybe not migrated
    MIGRATED = "migrated"  # every command that reads or writes data
    CREATED = "created"  # db upgrade, serve: created when missing, then migrated by the command


def runtime(need: Need = Need.MIGRATED) -> Runtime:
    """The runtime (settings, database, plugins) once its database is known to meet ``need``."""
    settings = Settings.from_env()
    require(settings.database_url, need)
    from core.runtime import Runtime

    return Runtime.from_settings(settings)


@contextmanager
def database() -> Iterator[Database]:
    """Only the migrated database, for commands that need no plugins: they start much faster."""
    settings = Settings.from_env()
    require(settings.database_url, Need.MIGRATED)
    from core.db.session import Database

    db = Database(settings.database_url)
    try:
        yield db
    finally:
        db.dispose()


def require(url: str, need: Need) -> None:
    """Exit with a message (code 1) unless the database at ``url`` meets ``need``."""
    problem = problem_with(url, need)
    if problem:
        raise fail(*problem)


def problem_with(url: str, need: Need) -> list[str]:
    """Why the database at ``url`` does not meet ``need`` (message lines, markup escaped); [] if it does."""
    if need is Need.NOTHING:
        return []
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from core.db.engine import make_engine

    try:
        parsed = make_url(url)
    except ArgumentError:
        return [f"CRM_DATABASE_URL is not a database URL: {escape(url)}", _HOW_TO_POINT]
    sqlite_file = _sqlite_file(parsed)
    if sqlite_file is not None and need is not Need.CREATED and not sqlite_file.exists():
        if url == DEFAULT_DATABASE_URL:
            return [f"no database here: {escape(str(Path.cwd()))} has no crm.db.", _HOW_TO_POINT]
        return [f"no database at {escape(str(sqlite_file))}: crm db upgrade creates and migrates it."]
    shown = escape(
        f"the SQLite database {sqlite_file}" if sqlite_file else parsed.render_as_string(hide_password=True)
    )
    try:
        engine = make_engine(url)
    except (ArgumentError, ImportError) as error:  # an unknown dialect, or its driver is not installed
        return [f"cannot use {shown}: {escape(one_line(error))}", _HOW_TO_POINT]
    try:
        with engine.connect() as connection:
            if need is Need.MIGRATED and not _migrated(connection):
                return [f"{shown} has no migrations applied: run crm db upgrade first."]
    except DBAPIError as error:  # refused, wrong password, no such database, not a database file
        return [f"cannot connect to {shown}: {escape(one_line(error.orig))}"]
    finally:
        engine.dispose()
    return []


_HOW_TO_POINT = (
    "Set CRM_DATABASE_URL (postgresql://user:password@host:port/name, or sqlite:////absolute/path/crm.db), "
    "or run crm in the folder that has crm.db (crm db upgrade or crm serve creates one)."
)


def _sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL, absolute; None for other engines, in-memory and ``file:`` URIs."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.query.get("uri") == "true":
        return None
    return Path(url.database).resolve()


def _migrated(connection: Connection) -> bool:
    from sqlalchemy import inspect, text

    if not inspect(connection).has_table("alembic_version"):
        return False
    return connection.execute(text("SELECT version_num FROM alembic_version")).first() is not None
