"""Paged queries: one COUNT and one page of rows, both through the scoped session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Row, Select, func
from sqlalchemy.orm import Session

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    per_page: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass
class PageResult(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int


def count(session: Session, stmt: Select[Any]) -> int:
    # Keep the statement's own FROM list (not a subquery) so tenant criteria still apply.
    counted = stmt.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
    return int(session.scalar(counted) or 0)


def paginate(session: Session, stmt: Select[Any], page: PageRequest) -> PageResult[Any]:
    """One page of ORM objects (``select(Model)``)."""
    total = count(session, stmt)
    items = list(session.scalars(stmt.limit(page.per_page).offset(page.offset)))
    return PageResult(items=items, total=total, page=page.page, per_page=page.per_page)


def paginate_rows(session: Session, stmt: Select[Any], page: PageRequest) -> PageResult[Row[Any]]:
    """One page of plain rows (``select(Model.a, Model.b, …)``): for lists, where no ORM object
    (identity map, change tracking) is needed and building 50 of them costs more than the query."""
    total = count(session, stmt)
    items = list(session.execute(stmt.limit(page.per_page).offset(page.offset)).all())
    return PageResult(items=items, total=total, page=page.page, per_page=page.per_page)
