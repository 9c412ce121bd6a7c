"""Lazy isolation (what a plugin's hook runs in): failed work is undone whatever shape it took, the
caller's own work stands, and work that never reaches the database costs no savepoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import IntegrityError

from core.crm.models import ClientGroup
from core.db.isolation import Isolation
from core.db.session import CrmSession


@contextmanager
def statements(session: CrmSession) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement.split()[0].upper())

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _names(crm, tenant_id: int) -> set[str]:
    with crm.db.transaction(tenant_id=tenant_id) as session:
        return set(session.scalars(select(ClientGroup.name)))


@pytest.fixture
def acme(crm):
    tenant = crm.tenant("acme")
    with crm.db.transaction(tenant_id=tenant.id) as session:
        session.add(ClientGroup(name="Gold"))
    return tenant


def test_work_that_never_reaches_the_database_costs_no_savepoint(crm, acme):
    with crm.db.transaction(tenant_id=acme.id) as session:
        session.connection()
        with statements(session) as seen:
            isolation = Isolation(session)
            isolation.keep()
            isolation.undo()
            isolation.close()
        assert seen == []
        with statements(session) as seen:
            isolation = Isolation(session)
            session.scalars(select(ClientGroup.name)).all()
            isolation.keep()
            isolation.close()
        assert seen == ["SAVEPOINT", "SELECT", "RELEASE"]


def _add_flushed(session: CrmSession) -> None:
    session.add(ClientGroup(name="Added"))
    session.flush()


def _add_pending(session: CrmSession) -> None:
    session.add(ClientGroup(name="Added"))


def _rename_loaded(session: CrmSession) -> None:
    session.scalars(select(ClientGroup).where(ClientGroup.name == "Gold")).one().name = "Renamed"


def _rename_in_memory(session: CrmSession) -> None:
    # The object was loaded before the work began: the change is only in memory when it fails.
    next(o for o in session.identity_map.values() if isinstance(o, ClientGroup)).name = "Renamed"


def _update_statement(session: CrmSession) -> None:
    session.execute(update(ClientGroup).where(ClientGroup.name == "Gold").values(name="Renamed"))


def _raw_sql_on_the_connection(session: CrmSession) -> None:
    session.connection().execute(
        text("UPDATE client_groups SET name = 'Renamed' WHERE tenant_id = :t AND name = 'Gold'"),
        {"t": session.tenant_id},
    )


@pytest.mark.parametrize(
    "work",
    [
        _add_flushed,
        _add_pending,
        _rename_loaded,
        _rename_in_memory,
        _update_statement,
        _raw_sql_on_the_connection,
    ],
)
def test_failed_work_is_undone_and_the_callers_own_work_stands(crm, acme, work: Callable) -> None:
    with crm.db.transaction(tenant_id=acme.id) as session:
        gold = session.scalars(select(ClientGroup)).one()
        session.add(ClientGroup(name="Caller's"))  # pending when the work begins
        isolation = Isolation(session)
        work(session)
        isolation.undo()
        isolation.close()
        assert gold.name == "Gold"  # the ORM's view is restored too, not only the rows
    assert _names(crm, acme.id) == {"Gold", "Caller's"}


def test_successful_work_is_kept_even_if_only_in_memory(crm, acme):
    with crm.db.transaction(tenant_id=acme.id) as session:
        gold = session.scalars(select(ClientGroup)).one()
        isolation = Isolation(session)
        _rename_in_memory(session)
        _add_pending(session)
        isolation.keep()
        isolation.close()
        assert gold.name == "Renamed"
    assert _names(crm, acme.id) == {"Renamed", "Added"}


def test_a_flush_that_fails_when_work_ends_is_the_works_failure_and_the_caller_goes_on(crm, acme):
    with crm.db.transaction(tenant_id=acme.id) as session:
        isolation = Isolation(session)
        session.add(ClientGroup(name="Gold"))  # a duplicate name: only the flush will say so
        with pytest.raises(IntegrityError):
            isolation.keep()
        isolation.undo()
        isolation.close()
        session.add(ClientGroup(name="After"))  # on PostgreSQL the transaction is still usable
    assert _names(crm, acme.id) == {"Gold", "After"}


def test_undoing_outer_work_undoes_the_inner_work_it_contained(crm, acme):
    # A handler that fires an event: the inner handler's work was kept, then the outer one fails.
    with crm.db.transaction(tenant_id=acme.id) as session:
        outer = Isolation(session)
        inner = Isolation(session)
        _add_flushed(session)
        inner.keep()
        inner.close()
        outer.undo()
        outer.close()
        session.add(ClientGroup(name="After"))
    assert _names(crm, acme.id) == {"Gold", "After"}


def test_an_isolation_serves_more_work_after_a_failure(crm, acme):
    # collect(): one isolation for every plugin; a failed one is undone, the next is kept.
    with crm.db.transaction(tenant_id=acme.id) as session:
        isolation = Isolation(session)
        _update_statement(session)
        isolation.undo()
        session.add(ClientGroup(name="Second"))
        isolation.keep()
        isolation.close()
    assert _names(crm, acme.id) == {"Gold", "Second"}
