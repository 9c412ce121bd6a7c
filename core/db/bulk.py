"""Many rows of a tenant's table written in one statement.

An ``executemany`` of N rows costs the driver N statements, and SQLAlchemy's multi-row ``INSERT …
VALUES`` a parameter per value, which psycopg parses and quotes in Python (seconds per 100,000
rows of a dozen columns). On PostgreSQL the rows travel instead as one JSON document, encoded by
Python's C encoder and turned back into rows of the table's own type by the server
(``json_populate_recordset``). SQLite's ``executemany`` runs in C and is kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, insert, text
from sqlalchemy.orm import Session

from core.db import tenant_filter

__all__ = ["insert_rows"]


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
