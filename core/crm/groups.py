"""Client groups."""

from __future__ import annotations

from sqlalchemy import select

from core.context import Ctx
from core.crm.client_events import announce_changes
from core.crm.models import Client, ClientGroup
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
    """Clients of a deleted group stay, without a group (each announced to modules)."""
    ctx.require("client_groups.manage")
    group = get_group(ctx, group_id)
    in_group = select(Client.id).where(Client.group_id == group.id).order_by(Client.id)
    members = list(ctx.session.scalars(in_group))
    ctx.session.delete(group)
    ctx.session.flush()  # the database sets the members' group_id to NULL
    for first in range(0, len(members), 1000):
        chunk = select(Client).where(Client.id.in_(members[first : first + 1000]))
        for client in ctx.session.scalars(chunk.execution_options(populate_existing=True)):
            announce_changes(ctx, client, {"group_id": group_id})
