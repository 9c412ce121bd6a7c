"""Data permissions: which clients a principal may see.

One helper for every list, record and report over clients and client-owned rows (deposits,
documents, orders, module records…):

* all company data: no restriction;
* team: clients of the user's team, plus clients assigned to the user;
* own: only clients assigned to the user;
* a client (portal): only themself.

Plugins use the same helpers for their own client-owned tables.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, or_, select

from core.access.models import DataScope, PrincipalKind, User
from core.access.principal import Principal
from core.crm.models import Client

S = TypeVar("S", bound=Select[Any])


def client_condition(principal: Principal | None) -> ColumnElement[bool] | None:
    """The WHERE condition over ``Client`` for this principal; None means every client."""
    if principal is None or principal.kind is PrincipalKind.OPERATOR:
        return None  # the system, or an operator acting for the platform
    if principal.kind is PrincipalKind.CLIENT:
        return Client.id == principal.id
    if principal.data_scope is DataScope.ALL:
        return None
    own = Client.assigned_user_id == principal.user_id if principal.user_id is not None else false()
    if principal.data_scope is DataScope.TEAM and principal.team_id is not None:
        return or_(Client.team_id == principal.team_id, own)
    return own


def staff_owned_condition(
    principal: Principal | None, user_id: ColumnElement[Any]
) -> ColumnElement[bool] | None:
    """The WHERE condition over rows a back-office user owns (``user_id`` names the owner column:
    a lead's owner, say) under the same scopes as clients: all; the user's team's (owned by a user
    of the team) and their own; or their own. None means every row; a client sees none."""
    if principal is None or principal.kind is PrincipalKind.OPERATOR:
        return None
    if principal.kind is PrincipalKind.CLIENT:
        return false()
    if principal.data_scope is DataScope.ALL:
        return None
    own = user_id == principal.user_id if principal.user_id is not None else false()
    if principal.data_scope is DataScope.TEAM and principal.team_id is not None:
        return or_(user_id.in_(select(User.id).where(User.team_id == principal.team_id)), own)
    return own


def scope_clients(stmt: S, principal: Principal | None) -> S:
    """Restrict a query selecting from ``Client`` to the clients the principal may see."""
    condition = client_condition(principal)
    return stmt if condition is None else stmt.where(condition)


def scope_client_owned(stmt: S, principal: Principal | None, client_id: ColumnElement[Any]) -> S:
    """Restrict a query over rows that belong to a client (``client_id`` names the column)."""
    condition = client_condition(principal)
    if condition is None:
        return stmt
    return stmt.where(client_id.in_(select(Client.id).where(condition)))


def visible_client_ids(principal: Principal | None) -> Select[Any]:
    """A sub-select of the ids of the clients the principal may see."""
    return scope_clients(select(Client.id), principal)


def get_client_owned(
    ctx: Any, model: type[Any], record_id: int, *, label: str, for_update: bool = False
) -> Any:
    """One row of a client-owned model (``model.client_id``) that the caller may see, else 404.

    ``for_update`` locks it FOR NO KEY UPDATE: state changes serialize, while foreign-key checks
    of other transactions against the row need not wait."""
    from core.errors import NotFound

    stmt = scope_client_owned(select(model).where(model.id == record_id), ctx.principal, model.client_id)
    if for_update:
        stmt = stmt.with_for_update(key_share=True)
    row = ctx.session.scalar(stmt)
    if row is None:
        raise NotFound(f"{label} not found")
    return row
