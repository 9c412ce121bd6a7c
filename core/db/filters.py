"""Filters shared by list endpoints: equality on named columns and a created-at range."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select

S = TypeVar("S", bound=Select[Any])


def where_equal(stmt: S, model: type[Any], **values: Any) -> S:
    """``column == value`` for every value that is not None."""
    for name, value in values.items():
        if value is not None:
            stmt = stmt.where(getattr(model, name) == value)
    return stmt


def created_between(stmt: S, model: type[Any], start: datetime | None, end: datetime | None) -> S:
    """Rows created in [start, end)."""
    if start is not None:
        stmt = stmt.where(model.created_at >= start)
    if end is not None:
        stmt = stmt.where(model.created_at < end)
    return stmt
