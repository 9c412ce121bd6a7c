"""The tenant filter: every ORM session keeps to one tenant (not to be confused with data
permissions, ``core.crm.data_permissions``: which of that tenant's clients a user may see).

Every session carries its tenant in ``session.info``. These listeners then

* add ``tenant_id = :tenant`` to every ORM SELECT, UPDATE and DELETE touching a tenant-owned
  model, relationship loads included;
* stamp ``tenant_id`` on new tenant-owned rows and refuse rows of another tenant;
* refuse raw SQL (``text()``) that did not come through :func:`core.db.session.tenant_sql`, and
  ``INSERT … FROM SELECT`` that did not come through :func:`core.db.session.tenant_insert` (the
  SELECT inside an INSERT is compiled without the ORM, so no criteria would reach it);
* refuse any query over tenant-owned models from a session with no tenant, unless the session
  was opened explicitly for all tenants (platform operators, the scheduler, migrations).

Rows that belong to no tenant (*platform rows*: e-mail to platform operators in the outbox) take
two explicit opt-ins: the model declares ``__platform_rows__ = True`` (and a nullable
``tenant_id``), and the writer inserts the row with :func:`add_platform_row`, from a session
without a tenant. Any other tenant-less row still fails at flush, so a forgotten tenant never
turns into a platform row. Tenant sessions cannot write platform rows, and never see them: their
criteria ``tenant_id = :tenant`` match no NULL.

Default deny: forgetting the tenant fails loudly instead of leaking another broker's data.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, with_loader_criteria
from sqlalchemy.sql.elements import TextClause

from core.db.base import TenantOwned

TENANT_ID = "tenant_id"
ALL_TENANTS = "all_tenants"
RAW_SQL_OPTION = "tenant_sql_checked"
PLATFORM_ROW = "platform_row"  # the row add_platform_row() is flushing


class TenantScopeError(RuntimeError):
    """A programming error: tenant data touched without a tenant, or across tenants."""


def _touches_tenant_data(state: ORMExecuteState) -> bool:
    return any(issubclass(mapper.class_, TenantOwned) for mapper in state.all_mappers)


def _scope_statement(state: ORMExecuteState) -> None:
    info = state.session.info
    if info.get(ALL_TENANTS):
        return
    tenant_id = info.get(TENANT_ID)
    if isinstance(state.statement, TextClause):
        if tenant_id is not None and not state.execution_options.get(RAW_SQL_OPTION):
            raise TenantScopeError("raw SQL in a tenant session must go through tenant_sql()")
        return
    if state.is_insert:
        if (
            tenant_id is not None
            and getattr(state.statement, "select", None) is not None
            and not state.execution_options.get(RAW_SQL_OPTION)
        ):
            raise TenantScopeError("INSERT … FROM SELECT in a tenant session must go through tenant_insert()")
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if tenant_id is None:
        if _touches_tenant_data(state):
            raise TenantScopeError("query over tenant data from a session without a tenant")
        return
    state.statement = _scoped(state.statement, tenant_id)


def scoped_select(session: Session, statement: Any) -> Any:
    """``statement`` limited to the session's tenant as the ORM limits what it runs, for a SELECT
    run on the session's connection instead (``core.db.columns``). A session with no tenant may
    run it only if it was opened for all tenants."""
    if session.info.get(ALL_TENANTS):
        return statement
    tenant_id = session.info.get(TENANT_ID)
    if tenant_id is None:
        raise TenantScopeError("a statement on the connection needs a tenant (or an all-tenants session)")
    return _scoped(statement, tenant_id)


# Each statement's tenant-scoped copy, kept while the statement lives: a statement built once and
# run again and again (a module's hot path) is then scoped once per tenant, and its copy keeps the
# cache key SQLAlchemy would otherwise work out again at every execution.
_SCOPED: weakref.WeakKeyDictionary[Any, dict[int, Any]] = weakref.WeakKeyDictionary()


def _scoped(statement: Any, tenant_id: int) -> Any:
    per_tenant = _SCOPED.get(statement)
    if per_tenant is None:
        per_tenant = _SCOPED[statement] = {}
    scoped = per_tenant.get(tenant_id)
    if scoped is None:
        scoped = per_tenant[tenant_id] = statement.options(tenant_criteria(tenant_id))
    return scoped


@functools.lru_cache(maxsize=4096)
def tenant_criteria(tenant_id: int) -> Any:
    """The option that limits a statement to one tenant's rows: built once per tenant, since
    building it costs more than the rest of a small query's set-up."""
    return with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)


def _stamp_new_rows(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    tenant_id = session.info.get(TENANT_ID)
    all_tenants = bool(session.info.get(ALL_TENANTS))
    for obj in session.new:
        if not isinstance(obj, TenantOwned):
            continue
        if obj.tenant_id is None:
            if tenant_id is None:
                if obj is session.info.get(PLATFORM_ROW):
                    continue
                raise TenantScopeError(f"new {type(obj).__name__} has no tenant")
            obj.tenant_id = tenant_id
        elif tenant_id is not None and obj.tenant_id != tenant_id and not all_tenants:
            raise TenantScopeError(f"new {type(obj).__name__} belongs to another tenant")
    for obj in session.dirty:
        if isinstance(obj, TenantOwned) and inspect(obj).attrs.tenant_id.history.has_changes():
            raise TenantScopeError(f"{type(obj).__name__}.tenant_id cannot change")


def add_platform_row(session: Session, row: TenantOwned) -> None:
    """Insert ``row`` as a platform row (it belongs to no tenant) and flush it. Its model must
    declare ``__platform_rows__ = True``, and the session must have no tenant."""
    if not getattr(type(row), "__platform_rows__", False):
        raise TenantScopeError(f"{type(row).__name__} rows always belong to a tenant")
    if session.info.get(TENANT_ID) is not None:
        raise TenantScopeError("a tenant session cannot write platform rows")
    if row.tenant_id is not None:
        raise TenantScopeError(f"a platform {type(row).__name__} belongs to no tenant")
    session.add(row)
    session.info[PLATFORM_ROW] = row
    try:
        session.flush()
    finally:
        del session.info[PLATFORM_ROW]


def install(session_class: type[Session]) -> None:
    event.listen(session_class, "do_orm_execute", _scope_statement)
    event.listen(session_class, "before_flush", _stamp_new_rows)
