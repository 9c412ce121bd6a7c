"""Sessions: one ``Database`` per process, sessions opened for a tenant or for all tenants."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Result, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnClause

from core.db import isolation, tenant_filter
from core.db.engine import SQLITE_BEGIN, make_engine, writer_turns


class CrmSession(Session):
    """Session class the tenant-scoping and audit listeners are attached to."""

    @property
    def tenant_id(self) -> int | None:
        return self.info.get(tenant_filter.TENANT_ID)

    @property
    def dialect_name(self) -> str:
        return self.get_bind().dialect.name

    def connection(self, *args: Any, **kwargs: Any) -> Connection:
        # Work inside a lazy isolation that reaches for the connection directly needs its savepoint.
        isolation.touch(self)
        return super().connection(*args, **kwargs)


tenant_filter.install(CrmSession)
isolation.install(CrmSession)


class Database:
    """Owns the engine and hands out sessions.

    ``write=True`` asks for a transaction that serializes with other writers from its start:
    ``BEGIN IMMEDIATE`` on SQLite. PostgreSQL needs no such mode; services take row locks
    (``FOR UPDATE``) where an invariant depends on it.
    """

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.engine: Engine = make_engine(url, **engine_kwargs)
        self._factory = sessionmaker(self.engine, class_=CrmSession, expire_on_commit=False)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(
        self,
        *,
        tenant_id: int | None = None,
        all_tenants: bool = False,
        write: bool = False,
        **info: Any,
    ) -> CrmSession:
        if tenant_id is not None and all_tenants:
            raise ValueError("a session is for one tenant or for all tenants, not both")
        session = self._factory()
        session.info[tenant_filter.TENANT_ID] = tenant_id
        session.info[tenant_filter.ALL_TENANTS] = all_tenants
        session.info.update(info)
        if write:
            begin_immediate(session)
        return session

    @contextmanager
    def transaction(self, **kwargs: Any) -> Iterator[CrmSession]:
        """A session whose work commits on success and rolls back on any exception."""
        session = self.session(**kwargs)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def give_way(self, until: float) -> None:
        """On SQLite, wait while other connections write or wait to write (``core.db.turns``),
        until ``until`` (``time.monotonic()``) at the latest. A no-op elsewhere: PostgreSQL's
        writers wait only for the rows they share."""
        turns = writer_turns(self.engine)
        if turns is not None:
            turns.give_way(until)

    def dispose(self) -> None:
        self.engine.dispose()


def tenant_insert(session: Session, statement: Insert) -> Result[Any]:
    """Run ``INSERT … FROM SELECT`` over tenant data. The session's automatic tenant criteria do
    not reach a SELECT inside an INSERT, so the SELECT must filter every tenant-owned table it
    reads on ``tenant_id`` itself (``core.crm.audience`` builds client selects that do)."""
    if session.info.get(tenant_filter.TENANT_ID) is None:
        raise tenant_filter.TenantScopeError("tenant_insert() needs a tenant session")
    inner = getattr(statement, "select", None)
    if inner is None or not _mentions_tenant(inner):
        raise tenant_filter.TenantScopeError("tenant_insert(): the SELECT must filter on tenant_id")
    # SQLAlchemy keeps the driver's rowcount only for UPDATE and DELETE unless asked; callers
    # count the rows they wrote.
    options = {tenant_filter.RAW_SQL_OPTION: True, "preserve_rowcount": True}
    return session.execute(statement.execution_options(**options))


def _mentions_tenant(statement: Any) -> bool:
    # A walk of the expression, not its SQL: compiling it to look costs more than the insert.
    return any(isinstance(e, ColumnClause) and e.name == "tenant_id" for e in visitors.iterate(statement))


WRITE_LOCK = "write_lock"


def begin_immediate(session: Session) -> None:
    """Start the session's transaction holding SQLite's write lock (a no-op elsewhere).

    Call it before the session's first query; calling it again in the same transaction is a
    no-op."""
    current = session.get_transaction()
    if current is not None and session.info.get(WRITE_LOCK) is current:
        return
    session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
    session.info[WRITE_LOCK] = session.get_transaction()


def tenant_sql(session: Session, sql: str, params: dict[str, Any] | None = None) -> Result[Any]:
    """Run raw SQL over tenant data; the statement must filter on ``:tenant_id``."""
    tenant_id = session.info.get(tenant_filter.TENANT_ID)
    if tenant_id is None:
        raise tenant_filter.TenantScopeError("tenant_sql() needs a tenant session")
    if ":tenant_id" not in sql:
        raise tenant_filter.TenantScopeError("raw SQL over tenant data must filter on :tenant_id")
    statement = text(sql).execution_options(**{tenant_filter.RAW_SQL_OPTION: True})
    return session.execute(statement, {**(params or {}), "tenant_id": tenant_id})


def serialize_on(session: Session, key: str, *keys: str) -> None:
    """Serialize transactions that share a key until commit: a transaction-scoped advisory lock
    per key on PostgreSQL (several keys are taken in one statement, in one order, so two
    transactions locking overlapping sets cannot deadlock); on SQLite the write transaction
    (BEGIN IMMEDIATE) already does."""
    if session.get_bind().dialect.name != "postgresql":
        begin_immediate(session)
        return
    hashes = sorted({_advisory_hash(k) for k in (key, *keys)})
    # On the unit of work's connection directly: the statement reads no table, so the ORM's
    # execution (the tenant filter, the result's ORM wrapping) would only add to every event's cost.
    connection = session.connection()
    if len(hashes) == 1:
        connection.execute(_LOCK_ONE, {"hash": hashes[0]})
    else:
        connection.execute(_LOCK_MANY, {"hashes": hashes})


# Raw SQL that reads no table: marked checked, or a tenant session's filter would refuse it.
_LOCK_ONE = text("SELECT pg_advisory_xact_lock(CAST(:hash AS bigint))").execution_options(
    **{tenant_filter.RAW_SQL_OPTION: True}
)
_LOCK_MANY = text(
    "SELECT count(pg_advisory_xact_lock(h)) FROM unnest(CAST(:hashes AS bigint[])) AS h"
).execution_options(**{tenant_filter.RAW_SQL_OPTION: True})


def _advisory_hash(key: str) -> int:
    """A stable 64-bit lock key computed here, so that many keys can be sorted before locking."""
    import hashlib

    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
