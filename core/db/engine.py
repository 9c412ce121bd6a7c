"""Engine construction: PostgreSQL through psycopg 3, SQLite with WAL and real transactions."""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from core.db.turns import WriterTurns

# Execution option naming how a SQLite transaction begins. "IMMEDIATE" takes the write lock at
# BEGIN, so two writers queue up instead of both reading and then failing to upgrade their lock.
SQLITE_BEGIN = "sqlite_begin"
# How long a SQLite connection waits for another's write lock before it gives up.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> str:
    """Accept the usual ``postgresql://`` spelling and route it to psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        database = make_url(url).database
        in_memory = database in (None, "", ":memory:")
        if in_memory:
            # One in-memory database per connection: its pool is not a sized queue.
            kwargs = {k: v for k, v in kwargs.items() if k not in ("pool_size", "max_overflow")}
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        turns = None if in_memory else WriterTurns(str(database))
        if turns is not None:
            turns.install(engine)
            _TURNS[engine] = turns
        _configure_sqlite(engine, turns)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


_TURNS: weakref.WeakKeyDictionary[Engine, WriterTurns] = weakref.WeakKeyDictionary()


def writer_turns(engine: Engine) -> WriterTurns | None:
    """Who writes to ``engine``'s SQLite database file (``core.db.turns``); None elsewhere."""
    return _TURNS.get(engine)


def _configure_sqlite(engine: Engine, turns: WriterTurns | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's legacy transaction handling opens transactions lazily and skips BEGIN
        # before some statements; take control of BEGIN ourselves (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        if mode not in {"DEFERRED", "IMMEDIATE", "EXCLUSIVE"}:
            raise ValueError(f"unknown SQLite BEGIN mode {mode!r}")
        if turns is not None and mode != "DEFERRED":
            turns.writing(connection)
        connection.exec_driver_sql(f"BEGIN {mode}")
