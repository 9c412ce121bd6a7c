"""``read_columns`` (``core.db.columns``): a SELECT read as one sequence per selected column.

It keeps to the session's tenant as the ORM does (a session without a tenant is refused, one
opened for all tenants reads every tenant), gives every value exactly as the ORM gives it for the
same statement (enums, money, aware UTC times, booleans, money sums, counts), sees the session's
pending changes, and gives one empty sequence per column when no row matches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Select, bindparam, func, select

from core.crm.models import Client, ClientGroup, Deposit, DepositKind, KycStatus
from core.db.columns import read_columns, read_columns_later, read_columns_together
from core.db.session import CrmSession
from core.db.tenant_filter import TenantScopeError
from core.db.types import money_sum, money_units
from core.testing import CrmKit, TenantHandle


def _orm_columns(session: CrmSession, statement: Select[Any]) -> list[list[Any]]:
    """What the ORM returns for ``statement``, as columns."""
    return [list(column) for column in zip(*session.execute(statement).all(), strict=True)]


def _exactly(columns: Sequence[Sequence[Any]]) -> list[list[str]]:
    """Each value's repr: equality alone would take 1 for True, "pending" for KycStatus.PENDING,
    Decimal("5") for Decimal("5.0000") and the same instant in another time zone for a UTC time."""
    return [[repr(value) for value in column] for column in columns]


def _add_deposits(tenant: TenantHandle, client_ids: Sequence[int], amounts: Sequence[str]) -> None:
    with tenant.ctx() as ctx:
        ctx.session.add_all(
            Deposit(client_id=client_id, amount=Decimal(amount), currency="USD", kind=DepositKind.REQUEST)
            for client_id in client_ids
            for amount in amounts
        )


def test_a_tenant_reads_its_own_rows_and_never_another_tenants(crm: CrmKit) -> None:
    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    owned = {acme.id: acme.clients_bulk(3), globex.id: globex.clients_bulk(2)}
    # Built once and read by each tenant in turn, as a module's hot path does.
    clients = select(Client.id, Client.name).order_by(Client.id)
    count = select(func.count()).select_from(Client)
    for tenant in (acme, globex, acme):
        with crm.db.transaction(tenant_id=tenant.id) as session:
            ids, names = read_columns(session, clients)
            assert list(ids) == owned[tenant.id]
            assert [list(ids), list(names)] == _orm_columns(session, clients)
            assert [list(c) for c in read_columns(session, count)] == [[len(owned[tenant.id])]]


@pytest.mark.parametrize(
    "statement",
    [
        select(Client.id, Client.kyc_status, Client.created_at, Client.suspended).order_by(Client.id),
        select(Deposit.id, Deposit.amount, Deposit.kind, Deposit.decided_at).order_by(Deposit.id),
        select(
            Deposit.client_id, money_units(money_sum(Deposit.amount)), money_sum(Deposit.amount), func.count()
        )
        .group_by(Deposit.client_id)
        .order_by(Deposit.client_id),
    ],
    ids=["enum-time-boolean", "money", "sums-and-counts"],
)
def test_values_are_exactly_what_the_orm_returns(crm: CrmKit, statement: Select[Any]) -> None:
    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    clients = acme.clients_bulk(2, kyc_status=KycStatus.VERIFIED, suspended=True) + acme.clients_bulk(1)
    _add_deposits(acme, clients, ["0.1", "0.2", "234567890123.5678"])
    _add_deposits(globex, globex.clients_bulk(1), ["5"])
    with crm.db.transaction(tenant_id=acme.id) as session:
        expected = _orm_columns(session, statement)
        assert expected and expected[0], "the statement should match rows"
        assert _exactly(read_columns(session, statement)) == _exactly(expected)


def test_pending_changes_are_read_without_an_explicit_flush(crm: CrmKit) -> None:
    acme = crm.tenant("acme")
    with crm.db.transaction(tenant_id=acme.id) as session:
        session.add(Client(client_type="trader", name="Pending", email="pending@example.com"))
        assert session.new
        [names] = read_columns(session, select(Client.name))
        assert list(names) == ["Pending"]


def test_no_matching_row_gives_one_empty_sequence_per_column(crm: CrmKit) -> None:
    acme = crm.tenant("acme")
    acme.clients_bulk(2)
    statement = select(Client.id, Client.kyc_status, Client.created_at).where(Client.name == "nobody")
    with crm.db.transaction(tenant_id=acme.id) as session:
        assert [list(column) for column in read_columns(session, statement)] == [[], [], []]


def test_a_session_without_a_tenant_is_refused(crm: CrmKit) -> None:
    crm.tenant("acme").clients_bulk(1)
    with crm.db.transaction() as session, pytest.raises(TenantScopeError):
        read_columns(session, select(Client.id))


def test_an_all_tenants_session_reads_every_tenants_rows(crm: CrmKit) -> None:
    ids = crm.tenant("acme").clients_bulk(2) + crm.tenant("globex").clients_bulk(1)
    statement = select(Client.id).order_by(Client.id)
    with crm.db.transaction(all_tenants=True) as session:
        [read] = read_columns(session, statement)
        assert list(read) == sorted(ids)
        assert [list(read)] == _orm_columns(session, statement)


@contextmanager
def _snapshot_before_two_more_clients(crm: CrmKit) -> Iterator[tuple[CrmSession, list[int]]]:
    """A long job's read-only snapshot of acme's three clients (globex has one), with two more
    acme clients committed by another transaction once it is taken; and acme's first three ids."""
    from core.scheduler.worker import read_only_snapshot

    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    ids = acme.clients_bulk(3)
    globex.clients_bulk(1)
    session = crm.db.session(tenant_id=acme.id)
    try:
        # On SQLite two other connections start at the same snapshot, for reads started later.
        with read_only_snapshot(session, siblings=2):
            [seen] = read_columns(session, select(Client.id))  # the snapshot is taken by here
            assert sorted(seen) == ids
            acme.clients_bulk(2)  # committed meanwhile by another transaction
            yield session, ids
    finally:
        session.close()


def test_statements_read_together_see_one_snapshot_and_one_tenant(crm: CrmKit) -> None:
    """A long job's read: on PostgreSQL the statements after the first run at the same time on
    connections of their own; they must see exactly what the job's snapshot sees."""
    with _snapshot_before_two_more_clients(crm) as (session, ids):
        together = read_columns_together(
            session,
            [
                (select(Client.id).order_by(Client.id), None),
                (select(func.count()).select_from(Client), None),
                (select(Client.id).where(Client.id > ids[0]).order_by(Client.id), None),
            ],
        )
    assert [[list(column) for column in columns] for columns in together] == [[ids], [[3]], [ids[1:]]]


def test_statements_read_together_in_a_writing_session_see_its_pending_changes(crm: CrmKit) -> None:
    acme = crm.tenant("acme")
    ids = acme.clients_bulk(2)
    with crm.db.transaction(tenant_id=acme.id) as session:
        session.add(Client(client_type="trader", name="Pending", email="pending@example.com"))
        names, count = read_columns_together(
            session, [(select(Client.name), None), (select(func.count()).select_from(Client), None)]
        )
    assert "Pending" in names[0] and list(count[0]) == [len(ids) + 1]


def test_statements_read_as_numbers_are_float_arrays_with_nan_for_null(crm: CrmKit) -> None:
    """``numbers=``: ids, nullable ids, flags and a parameter's filter, read in a long job's
    snapshot (a binary COPY on PostgreSQL) as float64 arrays equal to the rows as read otherwise,
    NULL as NaN, in the snapshot and the tenant; and as empty arrays when no row matches."""
    import numpy as np

    from core.scheduler.worker import read_only_snapshot

    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    ids = acme.clients_bulk(4)
    globex.clients_bulk(2)
    with acme.ctx() as ctx:
        group = ClientGroup(name="VIP")
        ctx.session.add(group)
        ctx.session.flush()
        ctx.session.get(Client, ids[1]).group_id = group.id
        ctx.session.get(Client, ids[2]).suspended = True
        group_id = group.id
    columns = (Client.id, Client.group_id, Client.suspended, Client.id * 0.5)
    wanted = select(*columns).where(Client.id >= bindparam("first")).order_by(Client.id)
    session = crm.db.session(tenant_id=acme.id)
    try:
        with read_only_snapshot(session):
            plain, numbers, none = read_columns_together(
                session,
                [
                    (wanted, {"first": ids[1]}),
                    (wanted, {"first": ids[1]}),
                    (select(Client.id, Client.group_id).where(Client.id < 0), None),
                ],
                numbers={1, 2},
            )
    finally:
        session.close()
    assert [list(c) for c in plain] == [
        ids[1:],
        [group_id, None, None],
        [False, True, False],
        [i * 0.5 for i in ids[1:]],
    ]
    assert all(isinstance(c, np.ndarray) and c.dtype == np.float64 for c in (*numbers, *none))
    assert numbers[0].tolist() == [float(i) for i in ids[1:]]
    assert numbers[1][0] == group_id and np.isnan(numbers[1][1:]).all()
    assert numbers[2].tolist() == [0.0, 1.0, 0.0]
    assert numbers[3].tolist() == [i * 0.5 for i in ids[1:]]
    assert [len(c) for c in none] == [0, 0]


def test_statements_read_as_integers_are_exact_int64_arrays(crm: CrmKit) -> None:
    """``integers=``: money units up to 2**62 (beyond a double's precision), counts, ids and flags
    read in a long job's snapshot as int64 arrays equal, value for value, to the rows as read
    otherwise, one tenant only, whatever the statement's parameters; no row gives empty arrays; a
    NULL is refused, not misread."""
    import numpy as np

    from core.scheduler.worker import read_only_snapshot

    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    ids = acme.clients_bulk(3, suspended=True) + acme.clients_bulk(1)
    globex.clients_bulk(2)
    big = 2**62 - 1  # an odd number a double would round
    units = (big - Client.id, -Client.id)
    # A bound parameter, an IN list and an enum's values: all travel into the COPY.
    wanted = (
        select(Client.id, *units, Client.suspended)
        .where(Client.id >= bindparam("first"), Client.kyc_status.in_(list(KycStatus)), Client.id.in_(ids))
        .order_by(Client.id)
    )
    session = crm.db.session(tenant_id=acme.id)
    try:
        with read_only_snapshot(session):
            plain, integers, none = read_columns_together(
                session,
                [
                    (wanted, {"first": ids[1]}),
                    (wanted, {"first": ids[1]}),
                    (select(Client.id, func.count()).where(Client.id < 0).group_by(Client.id), None),
                ],
                integers={1, 2},
            )
            with pytest.raises(ValueError, match="NULL"):
                read_columns_together(session, [(select(Client.id, Client.group_id), None)], integers={0})
    finally:
        session.close()
    assert [list(c) for c in plain] == [
        ids[1:],
        [big - i for i in ids[1:]],
        [-i for i in ids[1:]],
        [True, True, False],
    ]
    assert all(isinstance(c, np.ndarray) and c.dtype == np.int64 for c in (*integers, *none))
    assert [c.tolist() for c in integers] == [
        ids[1:],
        [big - i for i in ids[1:]],
        [-i for i in ids[1:]],
        [1, 1, 0],
    ]
    assert [len(c) for c in none] == [0, 0]


def test_statements_read_later_see_the_snapshot_while_the_session_reads_on(crm: CrmKit) -> None:
    """``read_columns_later``: started, then the session reads on its own connection meanwhile;
    the columns waited for are the job's snapshot's (not what was committed since), its tenant's
    only, read as their readers read them."""
    import numpy as np

    with _snapshot_before_two_more_clients(crm) as (session, ids):
        later = read_columns_later(
            session,
            [
                (select(Client.id, Client.name).order_by(Client.id), None),
                (select(Client.id).where(Client.id > ids[0]).order_by(Client.id), None),
            ],
            integers={1},
        )
        [names] = read_columns(session, select(Client.name).order_by(Client.id))  # meanwhile
        (listed, named), (after_first,) = later()
    assert len(names) == 3
    assert list(listed) == ids and list(named) == list(names)
    assert isinstance(after_first, np.ndarray) and after_first.tolist() == ids[1:]


def test_a_snapshot_shared_while_another_writer_holds_on_is_read_alone_and_as_soon(crm: CrmKit) -> None:
    """On SQLite the connections that read a long job's snapshot with it start while the write lock
    is held for them, so that nothing commits between their starts; when another writer keeps the
    lock, the job does not wait for it (a moment at most) and reads everything itself, from the
    same snapshot."""
    import time

    from core.scheduler.worker import read_only_snapshot

    acme = crm.tenant("acme")
    ids = acme.clients_bulk(2)
    writer = crm.db.session(write=True)  # holds the lock until the end
    session = crm.db.session(tenant_id=acme.id)
    try:
        began = time.monotonic()
        with read_only_snapshot(session, siblings=1):
            assert time.monotonic() - began < 5
            later = read_columns_later(session, [(select(Client.id).order_by(Client.id), None)], integers={0})
            [(seen,)] = later()
    finally:
        session.close()
        writer.close()
    assert seen.tolist() == ids


def test_a_decimal_parameter_is_compared_exactly_in_columns_read_as_numbers(crm: CrmKit) -> None:
    """A statement read as ``integers=`` or ``numbers=`` takes its parameters as the ORM does: a
    Decimal with more digits than a double holds (money bounds, amounts) is not rounded on the way,
    so the rows are the ORM's."""
    from decimal import Decimal

    from sqlalchemy import Numeric, literal, literal_column

    acme = crm.tenant("acme")
    ids = acme.clients_bulk(2)
    exact = Decimal("1234567890.123456789")  # a double reads 1234567890.1234567
    same = literal(exact, Numeric(30, 9)) == literal_column("1234567890.123456789")
    wanted = select(Client.id).where(same).order_by(Client.id)
    with crm.db.session(tenant_id=acme.id) as session:
        [orm] = _orm_columns(session, wanted) or [[]]
        [(as_integers,), (as_numbers,)] = read_columns_together(
            session, [(wanted, None), (wanted, None)], integers={0}, numbers={1}
        )
    assert as_integers.tolist() == orm and as_numbers.tolist() == [float(i) for i in orm]
    if crm.db.dialect == "postgresql":  # NUMERIC compares exactly; SQLite's REAL cannot
        assert orm == ids
