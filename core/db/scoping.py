"""Central tenant scoping for ORM sessions.

Every session carries its tenant in ``session.info``. These listeners then

* add ``tenant_id = :tenant`` to every ORM SELECT, UPDATE and DELETE touching a tenant-owned
  model, relationship loads included;
* stamp ``tenant_id`` on new tenant-owned rows and refuse rows of another tenant;
* refuse raw SQL (``text()``) that did not come through :func:`core.db.session.tenant_sql`, and
  ``INSERT … FROM SELECT`` that did not come through :func:`core.db.session.tenant_insert` (the
  SELECT inside an INSERT is compiled without the ORM, so no criteria would reach it);
* refuse any query over tenant-owned models from a session with no tenant, unless the session
  was opened explicitly for all tenants (platform operators, the scheduler, migrations).

Default deny: forgetting the tenant fails loudly instead of leaking another broker's data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, with_loader_criteria
from sqlalchemy.sql.elements import TextClause

from core.db.base import TenantOwned

TENANT_ID = "tenant_id"
ALL_TENANTS = "all_tenants"
RAW_SQL_OPTION = "tenant_sql_checked"


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
    state.statement = state.statement.options(
        with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )


def _stamp_new_rows(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    tenant_id = session.info.get(TENANT_ID)
    all_tenants = bool(session.info.get(ALL_TENANTS))
    for obj in session.new:
        if not isinstance(obj, TenantOwned):
            continue
        if obj.tenant_id is None:
            if tenant_id is None:
                raise TenantScopeError(f"new {type(obj).__name__} has no tenant")
            obj.tenant_id = tenant_id
        elif tenant_id is not None and obj.tenant_id != tenant_id and not all_tenants:
            raise TenantScopeError(f"new {type(obj).__name__} belongs to another tenant")
    for obj in session.dirty:
        if isinstance(obj, TenantOwned) and inspect(obj).attrs.tenant_id.history.has_changes():
            raise TenantScopeError(f"{type(obj).__name__}.tenant_id cannot change")


def install(session_class: type[Session]) -> None:
    event.listen(session_class, "do_orm_execute", _scope_statement)
    event.listen(session_class, "before_flush", _stamp_new_rows)
