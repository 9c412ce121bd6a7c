"""Record lookups that answer in the API's terms: 404 for a record the URL names, 422 naming the
field for a record the body refers to, 409 for a name already taken."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.bounds import id_in_range
from core.errors import Conflict, FieldError, InvalidInput, NotFound

T = TypeVar("T")


def fetch(session: Session, model: type[T], record_id: int, *, label: str, field: str | None = None) -> T:
    """The record of the session's tenant with this id. ``field`` names the request field that
    referred to it (422 when missing); without it the record is the URL's (404)."""
    # An id no table can hold is simply not there (the database would refuse to compare it).
    row = session.get(model, record_id) if id_in_range(record_id) else None
    if row is None:
        if field is not None:
            raise InvalidInput(field, f"no {label} {record_id}")
        raise NotFound(f"{label} not found")
    return row


def ensure_unique(
    session: Session,
    column: InstrumentedAttribute[Any],
    value: str,
    *,
    label: str,
    exclude_id: int | None = None,
) -> None:
    """Refuse a value already used by another record of the tenant, ignoring case."""
    model = column.class_
    stmt = select(model.id).where(func.lower(column) == value.lower())
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    if session.scalar(stmt.limit(1)) is not None:
        raise Conflict(
            f"a {label} with this {column.key} exists", fields=[FieldError(column.key, "already in use")]
        )
