"""Lazy savepoints: isolate a piece of work (a plugin's hook) from the unit of work around it, and
pay for the savepoint only if that work reaches the database.

A savepoint costs SQLAlchemy's nested transaction (tens of µs of Python) and, on PostgreSQL, two
round trips; most hook calls never touch the database (an event nobody's handler acts on, a query
answered from memory). So an ``Isolation`` begins its savepoint at the guarded work's first
statement, flush or ``session.connection()`` — whichever comes first — and never otherwise:

* on success, the work's pending changes are flushed (inside the savepoint, if that flush is its
  first touch) and the savepoint, if any, released;
* on failure, pending changes are flushed into the savepoint too and the savepoint rolled back, so
  both the rows and the ORM objects are as they were (SQLAlchemy expunges what was added and
  expires what was changed).

Isolations nest (a handler that fires an event): when inner work touches the database, every
enclosing isolation that has not begun begins first, outermost first, so each savepoint holds its
own work and what was nested in it.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

_STACK = "crm_isolations"  # session.info: the open isolations, outermost first


class Isolation:
    """Work isolated in a savepoint begun on its first database touch (see the module)."""

    __slots__ = ("savepoint", "session")

    def __init__(self, session: Session) -> None:
        # The caller's own pending changes are flushed now, outside: a savepoint begun later holds
        # only the isolated work's.
        session.flush()
        self.session = session
        self.savepoint: SessionTransaction | None = None
        session.info.setdefault(_STACK, []).append(self)

    @property
    def begun(self) -> bool:
        return self.savepoint is not None

    def keep(self) -> None:
        """The work succeeded: its pending changes are flushed and the savepoint released. A
        failure of that flush is the work's (the caller treats it as a failure and calls
        ``undo``)."""
        self.session.flush()
        if self.savepoint is not None and self.savepoint.is_active:
            self.savepoint.commit()
        self.savepoint = None

    def undo(self) -> None:
        """The work failed: whatever it wrote or left pending is undone. The isolation stays open
        and can guard more work (a fresh savepoint is begun on the next touch)."""
        # Pending changes go into the savepoint, to be rolled back with it; a flush that fails has
        # rolled its savepoint back already.
        with suppress(Exception):
            self.session.flush()
        if self.savepoint is not None:
            self.savepoint.rollback()
        self.savepoint = None

    def close(self) -> None:
        stack = self.session.info.get(_STACK)
        if stack and stack[-1] is self:
            stack.pop()

    # One piece of work: ``with Isolation(session):`` keeps it, or undoes it and lets the error out.
    def __enter__(self) -> Isolation:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: Any) -> None:
        try:
            if error is None:
                try:
                    self.keep()
                except Exception:
                    self.undo()
                    raise
            else:
                self.undo()
        finally:
            self.close()


def touch(session: Session) -> None:
    """The session is about to reach the database: begin the savepoint of every open isolation
    that has not begun yet. Called by the session's ``do_orm_execute`` listener and by
    ``CrmSession.connection``."""
    stack = session.info.get(_STACK)
    if not stack or stack[-1].savepoint is not None:
        return
    # Pending changes are the isolated work's (the caller's were flushed when it opened): flushing
    # them first lets the flush listener begin the savepoints, so they are written inside.
    session.flush()
    _begin(session, stack)


def _begin(session: Session, stack: list[Isolation]) -> None:
    for isolation in stack:
        if isolation.savepoint is None:
            isolation.savepoint = session.begin_nested()


def install(session_class: type[Session]) -> None:
    """Attach the listeners that notice a session's first touch inside an isolation."""
    event.listen(session_class, "before_flush", _before_flush)
    event.listen(session_class, "do_orm_execute", _before_execute)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    stack = session.info.get(_STACK)
    if stack and stack[-1].savepoint is None:
        _begin(session, stack)  # inside the flush: the nested transaction takes its writes


def _before_execute(state: ORMExecuteState) -> None:
    touch(state.session)
