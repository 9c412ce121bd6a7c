"""CSV export: reports stream as ``text/csv`` rows, never built whole in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from core.context import Ctx, bind


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(getattr(value, "value", value))
    # Cells starting with these are run as formulas by spreadsheet programs.
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


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
        writer.writerow([_cell(row.get(column)) for column in columns])
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
    for obj in objects:
        yield model.model_validate(obj).model_dump(mode="json")


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV file"}
}
