"""An audience of clients — chosen one by one, by client group and/or by segment (a module's
audience, ``core.crm.segments``) — as one query of client ids.

Set-based, so sending to a 100,000-client group is one statement, not 100,000 objects. Only
clients the caller may see (data permissions) are in it, and the query filters on the tenant
explicitly, so it can feed an INSERT … FROM SELECT (``core.db.session.tenant_insert``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, or_, select

from core.context import Ctx
from core.crm.data_permissions import scope_clients
from core.crm.models import Client, ClientGroup
from core.crm.segments import segment_query
from core.errors import InvalidInput


def audience_query(
    ctx: Ctx,
    client_ids: Sequence[int],
    group_ids: Sequence[int],
    *,
    segments: Sequence[str] = (),
    field_prefix: str = "",
) -> Select[Any]:
    """``SELECT clients.id`` for the clients named, the members of the groups named and the
    members of the segments named (``"<plugin>:<key>"``), each once. A client the caller cannot
    see, an unknown group or an unknown segment is a 422 naming the field."""
    conditions = []
    if client_ids:
        wanted = set(client_ids)
        visible = set(
            ctx.session.scalars(scope_clients(select(Client.id).where(Client.id.in_(wanted)), ctx.principal))
        )
        missing = sorted(wanted - visible)
        if missing:
            raise InvalidInput(f"{field_prefix}client_ids", f"no client {missing[0]}")
        conditions.append(Client.id.in_(wanted))
    if group_ids:
        known = set(ctx.session.scalars(select(ClientGroup.id).where(ClientGroup.id.in_(set(group_ids)))))
        missing = sorted(set(group_ids) - known)
        if missing:
            raise InvalidInput(f"{field_prefix}group_ids", f"no client group {missing[0]}")
        conditions.append(Client.group_id.in_(known))
    for key in dict.fromkeys(segments):
        conditions.append(Client.id.in_(segment_query(ctx, key, field=f"{field_prefix}segments")))
    if not conditions:
        raise InvalidInput(f"{field_prefix}client_ids", "choose at least one client, client group or segment")
    stmt = select(Client.id).where(Client.tenant_id == ctx.tenant_id, or_(*conditions))
    return scope_clients(stmt, ctx.principal)
