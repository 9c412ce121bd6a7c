"""Client groups."""

from __future__ import annotations

from sqlalchemy import select

from core.context import Ctx
from core.crm.models import ClientGroup
from core.crm.schemas.groups import ClientGroupIn, ClientGroupUpdate
from core.db.lookup import ensure_unique, fetch
from core.schemas import apply_changes


def list_groups(ctx: Ctx) -> list[ClientGroup]:
    return list(ctx.session.scalars(select(ClientGroup).order_by(ClientGroup.name)))


def get_group(ctx: Ctx, group_id: int, *, field: str | None = None) -> ClientGroup:
    return fetch(ctx.session, ClientGroup, group_id, label="client group", field=field)


def create_group(ctx: Ctx, data: ClientGroupIn) -> ClientGroup:
    ctx.require("client_groups.manage")
    ensure_unique(ctx.session, ClientGroup.name, data.name, label="client group")
    group = ClientGroup(name=data.name, description=data.description, tenant_id=ctx.tenant_id)
    ctx.session.add(group)
    ctx.session.flush()
    return group


def update_group(ctx: Ctx, group_id: int, data: ClientGroupUpdate) -> ClientGroup:
    ctx.require("client_groups.manage")
    group = get_group(ctx, group_id)
    changes = data.changes()
    if "name" in changes:
        ensure_unique(
            ctx.session, ClientGroup.name, changes["name"], label="client group", exclude_id=group.id
        )
    apply_changes(group, changes)
    ctx.session.flush()
    return group


def delete_group(ctx: Ctx, group_id: int) -> None:
    """Clients of a deleted group stay, without a group."""
    ctx.require("client_groups.manage")
    ctx.session.delete(get_group(ctx, group_id))
    ctx.session.flush()
