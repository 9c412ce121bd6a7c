"""A SELECT over many rows read as columns, for batches that go on to work on arrays.

Reading a result through the session builds an object per row and runs each value through its
type's processing in Python: at a million rows that costs several times what the database and the
driver take (measured in ``bench/status.py``). :func:`read_columns` runs the same statement, limited
to the session's tenant exactly as the ORM would limit it, on the session's own connection and
transaction, takes the driver's rows as they are and turns them into columns; only the columns
whose type processes results (an enum, money, a UTC time, SQLite's booleans) go through their
processing, a column at a time. Plugins reach it through ``core.sdk``.

Columns of numbers a batch only computes with can skip Python objects altogether
(``numbers=`` in :func:`read_columns_together`): on PostgreSQL each column travels as one
binary value of double precision values (NULL as NaN) that numpy reads in place, a million rows
in a fraction of a second instead of a second of building tuples and floats. Columns of exact
integers (money units up to 2**62, beyond a double's precision) travel the same way as 64-bit
integers (``integers=``); on SQLite as one text per column. (A column so read holds at most
2**27 rows: 1 GB, PostgreSQL's limit on one value.)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from operator import itemgetter
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import Boolean, Connection, Engine, Select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core.db.engine import SQLITE_BEGIN, SQLITE_BUSY_TIMEOUT_MS
from core.db.tenant_filter import scoped_select

__all__ = ["read_columns", "read_columns_later", "read_columns_together", "sqlite_shared_snapshot"]

# How one statement is read on one connection: (connection, statement with its tenant's criteria,
# the statement as given, its parameters) -> its columns.
Reader = Callable[[Connection, Select[Any], Select[Any], Mapping[str, Any] | None], list[Any]]


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
    session: Session,
    statements: Sequence[tuple[Select[Any], Mapping[str, Any] | None]],
    *,
    numbers: Collection[int] = (),
    integers: Collection[int] = (),
) -> list[list[Sequence[Any]]]:
    """Several statements' columns (``(statement, params)`` each, as :func:`read_columns` reads
    them), all from the session's one snapshot. In a read-only snapshot on PostgreSQL (a long job's
    ``job.read()``) the statements after the first run at the same time, each on a connection of
    its own that imports the session's snapshot: the database works on them while this thread
    reads the first. Anywhere else they run one after the other.

    The statements whose positions are in ``numbers`` are read as numpy ``float64`` arrays, one
    per column, NULL as NaN (:func:`_numbers`): their columns must be numbers or booleans, their
    integers below 2**53 (ids and counts, not money units), and their parameters plain values.
    Those in ``integers`` are read as ``int64`` arrays, exactly: their columns must be integers
    (or booleans) that are never NULL."""
    scoped = _prepared(session, statements, numbers, integers)
    connection = session.connection()
    snapshot = _exported_snapshot(connection) if len(scoped) > 1 else None
    if snapshot is None:
        return [reader(connection, *item) for reader, *item in scoped]
    engine = session.get_bind()
    with ThreadPoolExecutor(max_workers=len(scoped) - 1) as pool:
        others = [pool.submit(_columns_in_snapshot, engine, snapshot, *item) for item in scoped[1:]]
        reader, *first = scoped[0]
        return [reader(connection, *first), *(other.result() for other in others)]


def read_columns_later(
    session: Session,
    statements: Sequence[tuple[Select[Any], Mapping[str, Any] | None]],
    *,
    numbers: Collection[int] = (),
    integers: Collection[int] = (),
) -> Callable[[], list[list[Sequence[Any]]]]:
    """Start reading ``statements`` as :func:`read_columns_together` reads them, and return a
    function that waits for their columns: meanwhile the caller goes on working, on the session
    too (a long job builds what does not need these columns while the database computes them).

    In a read-only snapshot on PostgreSQL (a long job's ``job.read()``) each statement runs on a
    connection of its own that imports the session's snapshot; call the function before that
    transaction ends. Anywhere else the statements are read at once, before this returns."""
    scoped = _prepared(session, statements, numbers, integers)
    connection = session.connection()
    siblings: _Siblings | None = session.info.get(_SIBLINGS)
    if siblings is not None and 0 < len(scoped) <= len(siblings.free):
        return siblings.read(scoped)
    snapshot = _exported_snapshot(connection)
    if snapshot is None or not scoped:
        columns = [reader(connection, *item) for reader, *item in scoped]
        return lambda: columns
    engine = session.get_bind()
    pool = ThreadPoolExecutor(max_workers=len(scoped))
    pending = [pool.submit(_columns_in_snapshot, engine, snapshot, *item) for item in scoped]
    pool.shutdown(wait=False)  # the threads end with their statements
    return lambda: [future.result() for future in pending]


def _prepared(
    session: Session,
    statements: Sequence[tuple[Select[Any], Mapping[str, Any] | None]],
    numbers: Collection[int],
    integers: Collection[int],
) -> list[tuple[Reader, Select[Any], Select[Any], Mapping[str, Any] | None]]:
    """Each statement with its reader and its tenant's criteria, pending changes flushed first (as
    a query through the session would)."""
    if session.autoflush:
        session.flush()
    readers: list[Reader] = [
        _integers if i in integers else _numbers if i in numbers else _columns for i in range(len(statements))
    ]
    return [
        (reader, scoped_select(session, statement), statement, params)
        for reader, (statement, params) in zip(readers, statements, strict=True)
    ]


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


_SIBLINGS = "sqlite_snapshot_siblings"  # session.info: the connections sharing its snapshot
# How long a SQLite snapshot to share waits for other writers to finish before it does without.
_GUARD_WAIT_MS = 200
# A read that starts a SQLite connection's snapshot (a statement reading no table may not).
_START_SNAPSHOT = "SELECT count(*) FROM sqlite_master"


class _Siblings:
    """Connections in read transactions at the same snapshot as a session's, not yet used; and
    the reads running on the ones used."""

    def __init__(self) -> None:
        self.free: list[Connection] = []
        self.used: list[Connection] = []
        self.pending: list[Future[list[Sequence[Any]]]] = []

    def read(self, scoped: list[tuple[Reader, Select[Any], Select[Any], Mapping[str, Any] | None]]) -> Any:
        pool = ThreadPoolExecutor(max_workers=len(scoped))
        pending = []
        for reader, *item in scoped:
            connection = self.free.pop()
            self.used.append(connection)
            pending.append(pool.submit(reader, connection, *item))
        pool.shutdown(wait=False)  # the threads end with their statements
        self.pending += pending
        return lambda: [future.result() for future in pending]

    def close(self) -> None:
        wait(self.pending)  # a read the caller never waited for ends before its connection does
        for connection in self.free + self.used:
            connection.close()  # its read transaction rolled back, back to the pool


@contextmanager
def sqlite_shared_snapshot(session: Session, siblings: int = 1) -> Iterator[None]:
    """Start ``session``'s read transaction on SQLite (begun, with nothing read yet) at the same
    snapshot as ``siblings`` other connections', which :func:`read_columns_later` then reads on
    while the session goes on. SQLite cannot hand a snapshot over; their reads start while a third
    connection holds the write lock, so that no commit lands between them. If other writers keep
    the lock for more than a moment the session reads alone (and as soon). The siblings' reads are
    waited for and their transactions ended when the block ends."""
    engine = session.get_bind()
    shared = _Siblings()
    with ExitStack() as stack:
        stack.callback(shared.close)
        try:
            with _write_lock(engine, wait_ms=_GUARD_WAIT_MS):
                session.connection().exec_driver_sql(_START_SNAPSHOT)
                for _ in range(siblings):
                    sibling = engine.connect()
                    shared.free.append(sibling)
                    sibling.begin()
                    sibling.exec_driver_sql(_START_SNAPSHOT)
        except OperationalError:  # other writers kept the lock: the session reads alone
            for sibling in shared.free:
                sibling.close()
            shared.free.clear()
        session.info[_SIBLINGS] = shared
        try:
            yield
        finally:
            del session.info[_SIBLINGS]


@contextmanager
def _write_lock(engine: Engine, *, wait_ms: int) -> Iterator[None]:
    """SQLite's write lock, held for the block on a connection of its own, waiting at most
    ``wait_ms`` for it (``OperationalError`` if it stays taken)."""
    with engine.connect() as guard:
        driver = guard.connection.dbapi_connection
        assert driver is not None
        driver.execute(f"PRAGMA busy_timeout={wait_ms}")  # on the driver: no transaction begun for it
        try:
            guard.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}).begin()
            try:
                yield
            finally:
                guard.rollback()
        finally:
            driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _columns_in_snapshot(
    engine: Engine,
    snapshot: str,
    reader: Reader,
    scoped: Select[Any],
    statement: Select[Any],
    params: Mapping[str, Any] | None,
) -> list[Sequence[Any]]:
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        connection.exec_driver_sql(f"SET TRANSACTION READ ONLY; SET TRANSACTION SNAPSHOT '{snapshot}'")
        try:
            return reader(connection, scoped, statement, params)
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


def _numbers(
    connection: Connection, scoped: Select[Any], statement: Select[Any], params: Mapping[str, Any] | None
) -> list[np.ndarray]:
    """``scoped`` run on ``connection``, each column as a ``float64`` array (NULL as NaN). On
    PostgreSQL every value is cast to double precision by the server and each column comes as
    one binary value (:func:`_binary_columns`). Elsewhere the rows are read as :func:`_columns`
    reads them."""
    if connection.dialect.name != "postgresql":
        return [np.asarray(c, dtype=np.float64) for c in _columns(connection, scoped, statement, params)]
    as_double = "COALESCE(CAST({} AS float8), 'NaN')"
    return _binary_columns(connection, scoped, statement, params, as_double, ">f8")


def _integers(
    connection: Connection, scoped: Select[Any], statement: Select[Any], params: Mapping[str, Any] | None
) -> list[np.ndarray]:
    """``scoped`` run on ``connection``, each column as an ``int64`` array: as :func:`_numbers`,
    with every value cast to a ``bigint`` (a NULL is refused)."""
    if connection.dialect.name != "postgresql":
        return _sqlite_integers(connection, scoped, len(statement.selected_columns), params)
    return _binary_columns(connection, scoped, statement, params, "CAST({} AS int8)", ">i8")


def _sqlite_integers(
    connection: Connection, scoped: Select[Any], width: int, params: Mapping[str, Any] | None
) -> list[np.ndarray]:
    """``scoped``'s columns as ``int64`` arrays on SQLite: each column comes as one text, its
    values cast to integers in turn ("1,42,17"), which numpy reads at once. One step of SQLite's,
    which works without Python's lock (another thread goes on meanwhile), instead of a Python row
    per row. A column a text: joining a row's values first would cost an allocation per row,
    which two connections reading at once contend for (three times slower)."""
    sql, values = _expanded(connection, scoped, params)
    names = [f"c{i}" for i in range(width)]
    texts = ", ".join(f"count({n}), group_concat(CAST({n} AS INTEGER), ',')" for n in names)
    query = f"WITH q ({', '.join(names)}) AS ({sql}) SELECT count(*), {texts} FROM q"
    driver = connection.connection.dbapi_connection
    assert driver is not None
    rows, *counted = driver.execute(query, values).fetchone()
    columns = []
    for count, text in zip(counted[::2], counted[1::2], strict=True):
        if count != rows:  # group_concat skips a NULL
            raise ValueError("a column read as integers holds a NULL")
        column = np.fromstring(text, dtype=np.int64, sep=",") if rows else np.zeros(0, dtype=np.int64)
        if len(column) != rows:
            raise ValueError("a column read as integers holds a value that is not one")
        columns.append(column)
    return columns


def _expanded(
    connection: Connection, scoped: Select[Any], params: Mapping[str, Any] | None
) -> tuple[str, Any]:
    """``scoped`` as the driver's SQL (the tenant's criteria are applied when an ORM statement
    compiles), its IN lists expanded to one parameter per value, and its parameters as the driver
    takes them (processed as their types bind them)."""
    dialect = connection.dialect
    compiled = scoped.compile(dialect=dialect)
    expanded = compiled.construct_expanded_state(dict(params or {}))
    values = dict(expanded.parameters)
    for name, value in values.items():
        process = expanded.processors.get(name)
        if process is None and name in compiled.binds:  # as the dialect binds it (a Decimal stays one)
            process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            values[name] = process(value)
    if expanded.positiontup is not None:  # SQLite's "?" placeholders
        return expanded.statement, tuple(values[name] for name in expanded.positiontup)
    return expanded.statement, values


def _binary_columns(
    connection: Connection,
    scoped: Select[Any],
    statement: Select[Any],
    params: Mapping[str, Any] | None,
    cast_sql: str,
    field: str,
) -> list[np.ndarray]:
    """``scoped``'s columns on PostgreSQL, each as one ``bytea`` of the 8-byte values ``cast_sql``
    makes of it (booleans first made integers), big-endian (``field``: ``>f8`` or ``>i8``), which
    numpy reads in place. One row: a COPY sends a message per row, which Python then takes one
    by one (a million rows of two columns: 0.6-0.7 s, against 0.3 s this way, most of it the
    server's, and less when another thread reads meanwhile)."""
    sql, values = _expanded(connection, scoped, params)
    kinds = [c.type for c in statement.selected_columns]
    names = [f"c{i}" for i in range(len(kinds))]
    send = {">i8": "int8send", ">f8": "float8send"}[field]
    values_of = [
        cast_sql.format(f"CAST({n} AS INTEGER)" if isinstance(kind, Boolean) else n)
        for n, kind in zip(names, kinds, strict=True)
    ]
    texts = ", ".join(f"string_agg({send}({value}), '')" for value in values_of)
    query = f"SELECT count(*), {texts} FROM ({sql}) AS q ({', '.join(names)})"
    driver = connection.connection.dbapi_connection
    assert driver is not None
    # The parameters written into the statement, as a COPY's are: bound apart, a Python float
    # would travel as float8 and turn the NUMERIC arithmetic around it inexact.
    statement_text = psycopg.ClientCursor(driver).mogrify(query, values)
    with driver.cursor(binary=True) as cursor:
        cursor.execute(statement_text)
        found = cursor.fetchone()
    assert found is not None
    rows, *blobs = found
    native = np.dtype(field).newbyteorder("=")
    columns = []
    for blob in blobs:
        column = np.frombuffer(blob or b"", dtype=field)
        if len(column) != rows:  # string_agg skips a NULL
            raise ValueError("a column read as 8-byte numbers holds a NULL")
        columns.append(column.astype(native))
    return columns
