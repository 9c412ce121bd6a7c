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
from operator import itemgetter
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from core.db.tenant_filter import scoped_select

__all__ = ["read_columns"]


def read_columns(
    session: Session, statement: Select[Any], params: Mapping[str, Any] | None = None
) -> list[Sequence[Any]]:
    """The rows of ``statement`` (for the session's tenant) as one sequence per selected column,
    each value as its column's type reads it. Pending changes are flushed first, as a query
    through the session would."""
    if session.autoflush:
        session.flush()
    width = len(statement.selected_columns)
    result = session.connection().execute(scoped_select(session, statement), dict(params or {}))
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
    dialect = session.get_bind().dialect
    for i, (column, code) in enumerate(zip(statement.selected_columns, codes, strict=True)):
        process = column.type.dialect_impl(dialect).result_processor(dialect, code)
        if process is not None:
            columns[i] = list(map(process, columns[i]))
    return columns
