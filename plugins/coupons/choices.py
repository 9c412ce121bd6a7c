"""What the coupon pages offer to choose from: promotion links, prop challenges, client groups, the
clients a user may distribute to (within their data permissions), and the broker's time zone for
the validity dates staff type. Only reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from core.sdk import (
    Client,
    ClientGroup,
    Ctx,
    PromotionLink,
    PropChallenge,
    Tenant,
    company_currencies,
    scope_clients,
)

CLIENT_MATCHES = 20  # clients a search in the distribute dialog shows at most


def promotion_links(ctx: Ctx) -> list[tuple[int, str]]:
    rows = ctx.session.execute(select(PromotionLink.id, PromotionLink.name).order_by(PromotionLink.id))
    return [(link_id, name) for link_id, name in rows]


def challenges(ctx: Ctx) -> list[tuple[int, str]]:
    rows = ctx.session.execute(select(PropChallenge.id, PropChallenge.name).order_by(PropChallenge.id))
    return [(challenge_id, name) for challenge_id, name in rows]


def groups(ctx: Ctx) -> list[tuple[int, str]]:
    rows = ctx.session.execute(select(ClientGroup.id, ClientGroup.name).order_by(ClientGroup.name))
    return [(group_id, name) for group_id, name in rows]


def currencies(ctx: Ctx) -> list[str]:
    return list(company_currencies(ctx))


def find_clients(ctx: Ctx, text: str | None, limit: int = CLIENT_MATCHES) -> list[Any]:
    """Clients whose name or e-mail contains ``text`` (all when empty), within the user's data
    permissions, at most ``limit``."""
    stmt = select(Client.id, Client.name, Client.email).order_by(Client.id)
    if text:
        like = f"%{text.lower()}%"
        stmt = stmt.where(or_(func.lower(Client.name).like(like), func.lower(Client.email).like(like)))
    return list(ctx.session.execute(scope_clients(stmt, ctx.principal).limit(limit)).all())


def clients_named(ctx: Ctx, client_ids: list[int]) -> list[Any]:
    """The chosen clients (to show them again beside a form's errors), within the data permissions."""
    if not client_ids:
        return []
    stmt = select(Client.id, Client.name, Client.email).where(Client.id.in_(client_ids)).order_by(Client.id)
    return list(ctx.session.execute(scope_clients(stmt, ctx.principal)).all())


def broker_zone(ctx: Ctx) -> str:
    tenant = ctx.session.get(Tenant, ctx.tenant_id)
    return tenant.timezone if tenant is not None else "UTC"


def local_input(moment: datetime | None, zone: str) -> str:
    """A stored moment as a ``datetime-local`` field's value in the broker's zone."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def from_local_input(value: str, zone: str) -> str:
    """A ``datetime-local`` value typed in the broker's zone as an aware ISO 8601 moment (a value
    that is not a date is passed on as typed, for the schema to refuse with its message)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.isoformat()
