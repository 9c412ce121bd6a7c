"""Client groups."""

from __future__ import annotations

from sqlalchemy import func, select

from core.context import Ctx
from core.crm.models import ClientGroup
from core.crm.schemas import ClientGroupIn, ClientGroupUpdate
from core.errors import Conflict, FieldError, InvalidInput, NotFound


def list_groups(ctx: Ctx) -> list[ClientGroup]:
    return list(ctx.session.scalars(select(ClientGroup).order_by(ClientGroup.name)))


def get_group(ctx: Ctx, group_id: int, *, field: str | None = None) -> ClientGroup:
    group = ctx.session.get(ClientGroup, group_id)
    if group is None:
        if field is not None:
            raise InvalidInput(field, f"no client group {group_id}")
        raise NotFound("client group not found")
    return group


def _unique_name(ctx: Ctx, name: str, exclude_id: int | None = None) -> None:
    stmt = select(ClientGroup.id).where(func.lower(ClientGroup.name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(ClientGroup.id != exclude_id)
    if ctx.session.scalar(stmt) is not None:
        raise Conflict("a client group with this name exists", fields=[FieldError("name", "already in use")])


def create_group(ctx: Ctx, data: ClientGroupIn) -> ClientGroup:
    ctx.require("client_groups.manage")
    _unique_name(ctx, data.name)
    group = ClientGroup(name=data.name, description=data.description, tenant_id=ctx.tenant_id)
    ctx.session.add(group)
    ctx.session.flush()
    return group


def update_group(ctx: Ctx, group_id: int, data: ClientGroupUpdate) -> ClientGroup:
    ctx.require("client_groups.manage")
    group = get_group(ctx, group_id)
    if data.name is not None:
        _unique_name(ctx, data.name, exclude_id=group.id)
        group.name = data.name
    if data.description is not None:
        group.description = data.description
    ctx.session.flush()
    return group


def delete_group(ctx: Ctx, group_id: int) -> None:
    """Clients of a deleted group stay, without a group."""
    ctx.require("client_groups.manage")
    ctx.session.delete(get_group(ctx, group_id))
    ctx.session.flush()
