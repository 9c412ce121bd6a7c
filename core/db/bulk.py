"""Many rows of a tenant's table written in one statement, and many keys looked up at once.

An ``executemany`` of N rows costs the driver N statements, and SQLAlchemy's multi-row ``INSERT …
VALUES`` a parameter per value, which psycopg parses and quotes in Python (seconds per 100,000
rows of a dozen columns). On PostgreSQL the rows travel instead as one JSON document, encoded by
Python's C encoder and turned back into rows of the table's own type by the server
(``json_populate_recordset``). SQLite's ``executemany`` runs in C and is kept. For the same
reason a lookup of many keys sends them on PostgreSQL as one array parameter, not an IN list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ARRAY, JSON, any_, bindparam, insert, select, text
from sqlalchemy.orm import Session

from core.db import tenant_filter

__all__ = ["existing_values", "insert_rows"]
ARRAY_CHUNK, IN_CHUNK = 50_000, 5_000  # keys per lookup: one array parameter; an IN list (SQLite)


def insert_rows(session: Session, model: Any, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert ``rows`` (dicts of column values, all with the same keys) into ``model``'s table and
    return how many. A tenant-owned table gets the session's tenant in every row, whatever the
    rows say. Returns no ids: for rows nobody reads back in this unit of work."""
    if not rows:
        return 0
    table = model.__table__
    names = list(rows[0])
    if "tenant_id" in table.c:
        tenant_id = session.info.get(tenant_filter.TENANT_ID)
        if tenant_id is None:
            raise tenant_filter.TenantScopeError("insert_rows() into a tenant's table needs a tenant session")
        names = [name for name in names if name != "tenant_id"] + ["tenant_id"]
        rows = [{**row, "tenant_id": tenant_id} for row in rows]
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(insert(table), list(rows))
        return len(rows)
    # Each value as its column's type would bind it (UTC times, enum values, exact money), then as
    # JSON; a JSON column's value is embedded as it is.
    binders: list[tuple[str, Callable[[Any], Any] | None]] = [
        (name, None if isinstance(table.c[name].type, JSON) else table.c[name].type.bind_processor(dialect))
        for name in names
    ]
    document = json.dumps(
        [{name: bind(row[name]) if bind else row[name] for name, bind in binders} for row in rows],
        default=_as_json,
    )
    preparer = dialect.identifier_preparer
    columns = ", ".join(preparer.quote(name) for name in names)
    statement = text(
        f"INSERT INTO {preparer.format_table(table)} ({columns}) SELECT {columns} "
        f"FROM json_populate_recordset(NULL::{preparer.format_table(table)}, CAST(:rows AS json))"
    )
    # On the unit of work's connection: the rows carry their tenant already, and the ORM's
    # execution would add its own cost to every small write (an event's one history row).
    session.connection().execute(statement, {"rows": document})
    return len(rows)


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
    postgres = session.get_bind().dialect.name == "postgresql"
    size = ARRAY_CHUNK if postgres else IN_CHUNK
    found: set[Any] = set()
    for first in range(0, len(wanted), size):
        part = wanted[first : first + size]
        condition = (
            column == any_(bindparam("keys", part, type_=ARRAY(column.type)))
            if postgres
            else column.in_(part)
        )
        found.update(session.scalars(select(column).where(condition)))
    return found
