"""Many rows of a tenant's table written in one statement, and many keys looked up at once.

An ``executemany`` of N rows costs the driver N statements, and SQLAlchemy's multi-row ``INSERT …
VALUES`` a parameter per value, which psycopg parses and quotes in Python (seconds per 100,000
rows of a dozen columns). On PostgreSQL the rows are written with ``COPY … FROM STDIN`` instead,
on the unit of work's own connection and transaction: psycopg formats each row in C, and the
server parses plain text rather than a statement (or one JSON document turned back into rows,
what this module did before: the server's JSON parsing cost more than the inserts). SQLite's
``executemany`` runs in C and is kept. For the same reason a lookup of many keys sends them on
PostgreSQL as one array parameter, not an IN list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import ARRAY, JSON, ColumnElement, any_, bindparam, insert, select
from sqlalchemy.orm import Session

from core.db import tenant_filter

__all__ = ["existing_values", "insert_rows", "key_chunks", "one_of"]
ARRAY_CHUNK, IN_CHUNK = 50_000, 5_000  # keys per lookup: one array parameter; an IN list (SQLite)


def insert_rows(session: Session, model: Any, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert ``rows`` (dicts of column values, all with the same keys) into ``model``'s table and
    return how many. A tenant-owned table gets the session's tenant in every row, whatever the
    rows say. A column left out gets the model's default (one value for all the rows, as a
    statement's ``now()`` would be). Returns no ids: for rows nobody reads back in this unit of
    work."""
    if not rows:
        return 0
    table = model.__table__
    defaults = _defaults(table, rows[0])
    forced: dict[str, Any] = {}
    if "tenant_id" in table.c:
        tenant_id = session.info.get(tenant_filter.TENANT_ID)
        if tenant_id is None:
            raise tenant_filter.TenantScopeError("insert_rows() into a tenant's table needs a tenant session")
        forced["tenant_id"] = tenant_id
    if defaults or forced:  # one copy of each row: what it leaves out, then what it may not choose
        rows = [{**defaults, **row, **forced} for row in rows]
    names = list(rows[0])
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(insert(table), list(rows))
        return len(rows)
    # Each value as its column's type would bind it (UTC times, enum values, exact money); a JSON
    # column's value as its JSON text.
    binders = [_binder(table.c[name].type, dialect) for name in names]
    preparer = dialect.identifier_preparer
    columns = ", ".join(preparer.quote(name) for name in names)
    # On the unit of work's connection, inside its transaction: the rows carry their tenant
    # already, and the ORM's execution would add its own cost to every small write (an event's
    # one history row).
    driver = session.connection().connection.dbapi_connection
    assert driver is not None
    processed = [(at, bind) for at, bind in enumerate(binders) if bind is not _same]
    values_of = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            values = list(values_of(row))
            for at, bind in processed:  # most columns bind as they are
                values[at] = bind(values[at])
            copy.write_row(values)
    return len(rows)


def _defaults(table: Any, given: Mapping[str, Any]) -> dict[str, Any]:
    """The model's Python-side defaults of the columns ``given`` leaves out (SQLAlchemy's
    ``insert()`` would apply them; COPY knows only the table's own)."""
    defaults: dict[str, Any] = {}
    for column in table.c:
        default = column.default
        if column.name in given or column.primary_key or default is None:
            continue
        if default.is_scalar:
            defaults[column.name] = default.arg
        elif default.is_callable:
            defaults[column.name] = default.arg(None)  # SQLAlchemy's wrapper takes a context
    return defaults


def _binder(column_type: Any, dialect: Any) -> Callable[[Any], Any]:
    if isinstance(column_type, JSON):
        return lambda value: None if value is None else json.dumps(value, default=_as_json)
    processor = column_type.bind_processor(dialect)
    return processor if processor is not None else _same


def _same(value: Any) -> Any:
    return value


def _as_json(value: Any) -> Any:
    """What the JSON encoder cannot write itself: times in ISO 8601 (with their offset), decimals
    as exact text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"insert_rows(): cannot write a {type(value).__name__}")


def existing_values(session: Session, column: Any, values: Iterable[Any]) -> set[Any]:
    """Which of ``values`` the mapped ``column`` holds, among the rows the session sees (its
    tenant's): a file's keys looked up at once. On PostgreSQL the keys travel as one array
    parameter (an IN list of thousands of placeholders costs more to build, send and parse than
    the lookup itself); elsewhere as IN lists within SQLite's limit on parameters."""
    wanted = sorted(set(values))
    found: set[Any] = set()
    for part in key_chunks(session, wanted):
        found.update(session.scalars(select(column).where(one_of(session, column, part))))
    return found


def one_of(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` as the session's database reads it fastest: on PostgreSQL one array
    parameter (``= ANY``: an IN list of thousands of placeholders costs psycopg and SQLAlchemy
    more to build and parse than the statement's own work), elsewhere an IN list. Give it at most
    a chunk of ``key_chunks`` at a time (SQLite limits a statement's parameters)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def key_chunks(session: Session, values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """``values`` in chunks that one statement can take through ``one_of``."""
    size = ARRAY_CHUNK if session.get_bind().dialect.name == "postgresql" else IN_CHUNK
    for first in range(0, len(values), size):
        yield values[first : first + size]
