"""A SELECT over many rows read as columns, for batches that go on to work on arrays.

Reading a result through the session builds an object per row and runs each value through its
type's processing in Python: at a million rows that costs several times what the database and the
driver take (measured in ``bench/status.py``). :func:`read_columns` runs the same statement, limited
to the session's tenant exactly as the ORM would limit it, on the session's own connection and
transaction, takes the driver's rows as they are and turns them into columns; only the columns
whose type processes results (an enum, money, a UTC time, SQLite's booleans) go through their
processing, a column at a time. Plugins reach it through ``core.sdk``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Engine, Select
from sqlalchemy.orm import Session

from core.db.tenant_filter import scoped_select

__all__ = ["read_columns", "read_columns_together"]


def read_columns(
    session: Session, statement: Select[Any], params: Mapping[str, Any] | None = None
) -> list[Sequence[Any]]:
    """The rows of ``statement`` (for the session's tenant) as one sequence per selected column,
    each value as its column's type reads it. Pending changes are flushed first, as a query
    through the session would."""
    if session.autoflush:
        session.flush()
    return _columns(session.connection(), scoped_select(session, statement), statement, params)


def read_columns_together(
    session: Session, statements: Sequence[tuple[Select[Any], Mapping[str, Any] | None]]
) -> list[list[Sequence[Any]]]:
    """Several statements' columns (``(statement, params)`` each, as :func:`read_columns` reads
    them), all from the session's one snapshot. In a read-only snapshot on PostgreSQL (a long job's
    ``job.read()``) the statements after the first run at the same time, each on a connection of
    its own that imports the session's snapshot: the database works on them while this thread
    reads the first. Anywhere else they run one after the other."""
    if session.autoflush:
        session.flush()
    scoped = [(scoped_select(session, statement), statement, params) for statement, params in statements]
    connection = session.connection()
    snapshot = _exported_snapshot(connection) if len(scoped) > 1 else None
    if snapshot is None:
        return [_columns(connection, *item) for item in scoped]
    engine = session.get_bind()
    with ThreadPoolExecutor(max_workers=len(scoped) - 1) as pool:
        others = [pool.submit(_columns_in_snapshot, engine, snapshot, *item) for item in scoped[1:]]
        first = _columns(connection, *scoped[0])
        return [first, *(other.result() for other in others)]


def _exported_snapshot(connection: Connection) -> str | None:
    """The snapshot of the connection's transaction, exported for others to share, if it is one
    they can share exactly: a read-only (nothing of its own unseen by them) REPEATABLE READ or
    SERIALIZABLE transaction on PostgreSQL."""
    if connection.dialect.name != "postgresql":
        return None
    return connection.exec_driver_sql(
        "SELECT CASE WHEN current_setting('transaction_isolation') IN ('repeatable read', 'serializable')"
        " AND current_setting('transaction_read_only') = 'on' THEN pg_export_snapshot() END"
    ).scalar()


def _columns_in_snapshot(
    engine: Engine,
    snapshot: str,
    scoped: Select[Any],
    statement: Select[Any],
    params: Mapping[str, Any] | None,
) -> list[Sequence[Any]]:
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        connection.exec_driver_sql(f"SET TRANSACTION READ ONLY; SET TRANSACTION SNAPSHOT '{snapshot}'")
        try:
            return _columns(connection, scoped, statement, params)
        finally:
            connection.rollback()


def _columns(
    connection: Connection, scoped: Select[Any], statement: Select[Any], params: Mapping[str, Any] | None
) -> list[Sequence[Any]]:
    """``scoped`` (``statement`` limited to a tenant) run on ``connection``, as columns."""
    width = len(statement.selected_columns)
    result = connection.execute(scoped, dict(params or {}))
    try:
        cursor = result.cursor
        rows = cursor.fetchall()
        codes = [column[1] for column in cursor.description]
    finally:
        result.close()
    if not rows:
        return [() for _ in range(width)]
    # A column at a time: zip(*rows) would build a tuple per row, and the garbage collector would
    # walk all of them over and over (several times slower at 200,000 rows).
    columns: list[Sequence[Any]] = [list(map(itemgetter(i), rows)) for i in range(width)]
    del rows
    dialect = connection.dialect
    for i, (column, code) in enumerate(zip(statement.selected_columns, codes, strict=True)):
        process = column.type.dialect_impl(dialect).result_processor(dialect, code)
        if process is not None:
            columns[i] = list(map(process, columns[i]))
    return columns
