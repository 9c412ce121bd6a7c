"""CSV export: reports stream as ``text/csv`` rows, never built whole in memory.

Every export writes time the same way, whatever its rows come from (models, raw rows, dataclasses):
a datetime as ISO 8601 in UTC to the second, ``2026-12-01T23:50:00Z`` (a naive one is taken as
UTC), a date as ``2026-12-01``. File names that carry a time carry it in UTC too
(``timestamped``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from core.context import Ctx, bind

DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DATE_FORMAT = "%Y-%m-%d"


def format_time(value: datetime | date) -> str:
    """A datetime or date as every CSV export writes it (see the module's docstring)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime(DATETIME_FORMAT)
    return value.strftime(DATE_FORMAT)


def timestamped(stem: str, *, now: datetime | None = None) -> str:
    """A CSV file name with the time of the export in UTC: ``clients-20261201T235000Z.csv``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{stem}-{moment:%Y%m%dT%H%M%SZ}.csv"


def _cell(value: Any) -> Any:
    # The commonest cells first: a report writes each of its columns for every row.
    kind = type(value)
    if kind is int or kind is bool:  # csv writes them as str() does
        return value
    if kind is str:
        return _text(value)
    if value is None:
        return ""
    if isinstance(value, date):  # datetimes too
        return format_time(value)
    return _text(str(getattr(value, "value", value)))


# Cells starting with these are run as formulas by spreadsheet programs.
_FORMULA_STARTS = frozenset("=+-@")


def _text(text: str) -> str:
    return "'" + text if text[:1] in _FORMULA_STARTS and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _lines(columns: list[str], rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(list(map(_cell, map(row.get, columns))))
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(filename: str, columns: list[str], rows: Iterable[Mapping[str, Any]]) -> StreamingResponse:
    return StreamingResponse(
        _lines(columns, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_export(
    ctx: Ctx, filename: str, columns: list[str], produce: Callable[[Ctx], Iterable[Mapping[str, Any]]]
) -> StreamingResponse:
    """Stream ``produce(ctx)`` as CSV. The response outlives the request's session, so rows are
    read in a session of their own, bound to the same caller and data permissions."""

    def rows() -> Iterator[Mapping[str, Any]]:
        session = ctx.runtime.db.session()
        try:
            reader = bind(session, ctx.principal, ctx.runtime, str(ctx.session.info.get("operation")))
            yield from produce(reader)
        finally:
            session.rollback()
            session.close()

    return csv_response(filename, columns, rows())


def model_rows(model: type[BaseModel], objects: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Rows as the API shows them (JSON), except times: kept as values, for ``_cell`` to write in
    the one format of every export."""
    for obj in objects:
        shown = model.model_validate(obj)
        row = shown.model_dump(mode="json")
        for name in model.model_fields:
            value = getattr(shown, name)
            if isinstance(value, date):
                row[name] = value
        yield row


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV file"}
}
