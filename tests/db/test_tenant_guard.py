"""The storage layer keeps tenants apart by itself: no query can forget the tenant."""

from __future__ import annotations

import pytest
import sqlalchemy
from sqlalchemy import delete, func, inspect, select, text, update

from core.context import bind
from core.crm.clients import ancestor_ids
from core.crm.models import Client, ClientGroup
from core.db.base import Base, TenantOwned, utcnow
from core.db.session import serialize_on, tenant_sql
from core.db.tenant_filter import TenantScopeError, add_platform_row
from core.notify.models import EmailMessage


@pytest.fixture
def two_tenants(crm):
    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    acme.clients_bulk(3)
    globex.clients_bulk(2)
    return crm, acme, globex


def test_selects_see_only_the_sessions_tenant(two_tenants):
    crm, acme, globex = two_tenants
    with crm.db.transaction(tenant_id=acme.id) as session:
        assert {c.tenant_id for c in session.scalars(select(Client))} == {acme.id}
        assert len(session.scalars(select(Client)).all()) == 3
        assert session.get(Client, _first_client_id(crm, globex.id)) is None


def test_a_statement_built_once_is_scoped_to_each_session_that_runs_it(two_tenants):
    # Core keeps each statement's scoped copy per tenant: run alternately by two tenants, the same
    # statement object still answers each with its own rows only.
    crm, acme, globex = two_tenants
    names = select(Client.tenant_id, func.count()).group_by(Client.tenant_id)
    for tenant, expected in [(acme, 3), (globex, 2), (acme, 3), (globex, 2)]:
        with crm.db.transaction(tenant_id=tenant.id) as session:
            assert session.execute(names).all() == [(tenant.id, expected)]


def test_bulk_update_and_delete_touch_only_the_sessions_tenant(two_tenants):
    crm, acme, globex = two_tenants
    with crm.db.transaction(tenant_id=acme.id) as session:
        assert session.execute(update(Client).values(suspended=True)).rowcount == 3
        assert session.execute(delete(Client)).rowcount == 3
    assert crm.count("clients", globex.id) == 2
    with crm.db.transaction(tenant_id=globex.id) as session:
        assert not any(c.suspended for c in session.scalars(select(Client)))


def test_a_session_without_tenant_cannot_read_tenant_data(two_tenants):
    crm, _, _ = two_tenants
    with crm.db.session() as session, pytest.raises(TenantScopeError):
        session.scalars(select(Client)).all()


def test_new_rows_are_stamped_and_foreign_tenant_rows_refused(two_tenants):
    crm, acme, globex = two_tenants
    with crm.db.transaction(tenant_id=acme.id) as session:
        group = ClientGroup(name="VIP")
        session.add(group)
        session.flush()
        assert group.tenant_id == acme.id
    with pytest.raises(TenantScopeError), crm.db.transaction(tenant_id=acme.id) as session:
        session.add(ClientGroup(name="Sneaky", tenant_id=globex.id))
        session.flush()
    assert crm.count("client_groups", globex.id) == 0


def test_moving_a_row_to_another_tenant_is_refused(two_tenants):
    crm, acme, globex = two_tenants
    with pytest.raises(TenantScopeError), crm.db.transaction(tenant_id=acme.id) as session:
        client = session.scalars(select(Client)).first()
        client.tenant_id = globex.id
        session.flush()


def test_raw_sql_must_go_through_the_helper_and_filter_on_tenant(two_tenants):
    crm, acme, _ = two_tenants
    with crm.db.session(tenant_id=acme.id) as session:
        with pytest.raises(TenantScopeError):
            session.execute(text("SELECT COUNT(*) FROM clients"))
        with pytest.raises(TenantScopeError):
            tenant_sql(session, "SELECT COUNT(*) FROM clients")
        counted = tenant_sql(
            session, "SELECT COUNT(*) FROM clients WHERE tenant_id = :tenant_id"
        ).scalar_one()
        assert counted == 3


def test_a_tenant_session_serializes_on_one_key_or_several(two_tenants):
    # On PostgreSQL several keys are locked with one raw statement: it reads no tenant data, and
    # the filter must let it through (a batch of clients locks its chunk this way).
    crm, acme, _globex = two_tenants
    with crm.db.transaction(tenant_id=acme.id, write=True) as session:
        serialize_on(session, "one")
        serialize_on(session, "a", "b", "c")


def test_referral_tree_queries_stay_in_the_tenant(two_tenants):
    """Recursive CTEs get the tenant criteria too (an id collision across tenants cannot leak)."""
    crm, acme, globex = two_tenants
    with crm.db.transaction(tenant_id=globex.id) as session:
        upline, downline = session.scalars(select(Client).order_by(Client.id)).all()
        downline.referrer_id = upline.id
    with crm.db.transaction(tenant_id=globex.id) as session:
        assert ancestor_ids(bind(session, None, crm.runtime, "test"), downline.id) == [upline.id]
    with crm.db.transaction(tenant_id=acme.id) as session:
        assert ancestor_ids(bind(session, None, crm.runtime, "test"), downline.id) == []


def _first_client_id(crm, tenant_id: int) -> int:
    with crm.db.engine.connect() as connection:
        return connection.execute(
            text("SELECT MIN(id) FROM clients WHERE tenant_id = :t"), {"t": tenant_id}
        ).scalar_one()


def test_insert_from_select_must_filter_on_the_tenant_itself(two_tenants):
    """The SELECT inside an INSERT escapes the automatic criteria, so the guard refuses it unless
    it comes through tenant_insert(), which insists on an explicit tenant filter."""
    from sqlalchemy import insert, literal

    from core.db.session import tenant_insert

    crm, acme, _ = two_tenants

    def copy_names(where=None):
        source = select(Client.id) if where is None else select(Client.id).where(where)
        rows = source.subquery()
        return insert(ClientGroup).from_select(
            ["tenant_id", "name", "description", "created_at"],
            select(
                literal(acme.id),
                literal("g-") + rows.c.id.cast(sqlalchemy.String),
                literal(""),
                literal(utcnow()),
            ),
        )

    with crm.db.session(tenant_id=acme.id) as session:
        with pytest.raises(TenantScopeError):
            session.execute(copy_names())  # would copy every tenant's clients
        with pytest.raises(TenantScopeError):
            tenant_insert(session, copy_names())
        tenant_insert(session, copy_names(Client.tenant_id == acme.id))
        session.commit()
    assert crm.count("client_groups", acme.id) == 3


def _platform_email(address: str = "op@platform.example.com") -> EmailMessage:
    return EmailMessage(
        to_address=address,
        subject="s",
        body_text="b",
        message_id=f"<{address}>",
        next_attempt_at=utcnow(),
    )


def _served_models(runtime) -> list[type]:
    """Core's models and those of the plugins the runtime loaded. Not every class mapped in this
    process: other tests load plugins of their own into it for good, among them a test plugin the
    host refused because its model opts out of tenancy, and one whose tables they dropped again."""
    plugin_tables = {table for plugin in runtime.plugins.plugins.values() for table in plugin.tables}
    return [
        m.class_
        for m in Base.registry.mappers
        if m.class_.__module__.startswith("core.") or m.local_table in plugin_tables
    ]


def test_only_models_that_declare_it_take_rows_without_a_tenant(crm):
    """Platform rows (no tenant) need both opt-ins: the model's and add_platform_row()."""
    tenant_owned = [cls for cls in _served_models(crm.runtime) if issubclass(cls, TenantOwned)]
    assert [cls for cls in tenant_owned if cls.__dict__.get("__platform_rows__")] == [EmailMessage]
    schema = inspect(crm.db.engine)  # the migrated database
    for cls in tenant_owned:
        if cls is EmailMessage:
            continue
        # The database refuses their tenant-less rows too, whatever the session.
        nullable = {c["name"]: c["nullable"] for c in schema.get_columns(cls.__tablename__)}
        assert nullable["tenant_id"] is False, cls.__tablename__
        for session in (crm.db.session(), crm.db.session(all_tenants=True)):
            with session, pytest.raises(TenantScopeError, match="always belong to a tenant"):
                add_platform_row(session, cls())
    for session in (crm.db.session(), crm.db.session(all_tenants=True)):
        with session:
            session.add(ClientGroup(name="Orphan"))
            with pytest.raises(TenantScopeError, match="has no tenant"):
                session.flush()
            session.rollback()
            session.add(_platform_email())  # a forgotten tenant does not make platform mail
            with pytest.raises(TenantScopeError, match="has no tenant"):
                session.flush()
    assert crm.count("client_groups") == crm.count("email_messages") == 0


def test_a_tenant_session_never_writes_or_sees_platform_rows(two_tenants):
    crm, acme, _ = two_tenants
    with crm.db.transaction() as session:
        add_platform_row(session, _platform_email())
    with crm.db.transaction(tenant_id=acme.id) as session:
        with pytest.raises(TenantScopeError, match="tenant session cannot write platform rows"):
            add_platform_row(session, _platform_email("other@platform.example.com"))
        mine = _platform_email("trader@example.com")
        session.add(mine)  # without add_platform_row it is the tenant's, as every new row is
        session.flush()
        assert mine.tenant_id == acme.id
        assert [m.to_address for m in session.scalars(select(EmailMessage))] == ["trader@example.com"]
        assert session.execute(update(EmailMessage).values(subject="changed")).rowcount == 1
        assert session.execute(delete(EmailMessage)).rowcount == 1
    with crm.db.transaction(all_tenants=True) as session:
        platform = session.scalars(select(EmailMessage)).one()
        assert (platform.to_address, platform.tenant_id, platform.subject) == (
            "op@platform.example.com",
            None,
            "s",
        )


def test_insert_rows_writes_many_rows_exactly_and_only_into_the_sessions_tenant(two_tenants):
    """``insert_rows`` (COPY on PostgreSQL, executemany on SQLite): money, enums,
    times and NULLs arrive as given, and a row naming another tenant lands in the session's."""
    from decimal import Decimal

    from core.crm.models import Deposit, DepositKind, DepositStatus
    from core.db.bulk import insert_rows

    crm, acme, globex = two_tenants
    client_id = _first_client_id(crm, acme.id)
    now = utcnow()
    amounts = [Decimal("0.0001"), Decimal("123456789012.3456"), Decimal("10")]
    rows = [
        {
            "client_id": client_id,
            "amount": amount,
            "currency": "USD",
            "kind": DepositKind.MANUAL,
            "status": DepositStatus.APPROVED if i else DepositStatus.PENDING,
            "note": f"it's row {i}",
            "decision_note": "",
            "decided_at": now if i else None,
            "created_at": now,
            "tenant_id": globex.id,  # ignored: the session's tenant is written
        }
        for i, amount in enumerate(amounts)
    ]
    with crm.db.transaction(tenant_id=acme.id) as session:
        assert insert_rows(session, Deposit, rows) == 3
    with crm.db.transaction(tenant_id=acme.id) as session:
        found = session.scalars(
            select(Deposit).where(Deposit.note.like("it's row %")).order_by(Deposit.id)
        ).all()
        assert [d.amount for d in found] == amounts
        assert [d.status for d in found] == [
            DepositStatus.PENDING,
            DepositStatus.APPROVED,
            DepositStatus.APPROVED,
        ]
        assert [d.decided_at for d in found] == [None, now, now]
    assert crm.count("deposits", globex.id) == 0
    with pytest.raises(TenantScopeError), crm.db.session() as session:
        insert_rows(session, Deposit, rows)


AWKWARD_TEXTS = ["tab\there", "two\nlines\r\n", "back\\slash \\N \\.", "", "ünïcödé ✓ 日本", "'quoted' \"x\""]


def test_insert_rows_keeps_any_text_and_json_exactly(two_tenants):
    """What COPY's text format escapes (tabs, line breaks, backslashes, its NULL marker ``\\N``)
    arrives as written, and a JSON column gets the document (nested values and nulls in it) or none."""
    from core.audit.models import OperationLog
    from core.db.bulk import insert_rows

    crm, acme, _globex = two_tenants
    documents = [{"text": t, "nested": [1, {"deep": t}], "none": None} for t in AWKWARD_TEXTS]
    rows = [
        {
            "actor_kind": "system",
            "actor_label": label,
            "operation": "bulk test",
            "entity": "things",
            "entity_id": str(i),
            "action": "create",
            "before": None,
            "after": document,
        }
        for i, (label, document) in enumerate(zip(AWKWARD_TEXTS, documents, strict=True))
    ]
    with crm.db.transaction(tenant_id=acme.id) as session:
        assert insert_rows(session, OperationLog, rows) == len(rows)
    with crm.db.transaction(tenant_id=acme.id) as session:
        found = session.scalars(
            select(OperationLog).where(OperationLog.operation == "bulk test").order_by(OperationLog.id)
        ).all()
        assert [entry.actor_label for entry in found] == AWKWARD_TEXTS
        assert [entry.after for entry in found] == documents
        assert [entry.before for entry in found] == [None] * len(rows)
        assert all(entry.at is not None for entry in found)  # left out: the model's default
