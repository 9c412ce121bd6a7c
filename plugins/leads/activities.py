"""A lead's timeline: what staff did (notes, calls, e-mails, meetings) and what the module
recorded (created, imported, status and owner changes, registration e-mails, conversion)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from core.sdk import Ctx, User, utcnow
from plugins.leads.models import Activity, ActivityKind, Lead, LeadStatus

LABELS = {status: status.value.replace("_", " ").title() for status in LeadStatus}


def actor_of(ctx: Ctx) -> str:
    principal = ctx.principal
    if principal is None:
        return str(ctx.session.info.get("actor_label") or "system")
    return f"{principal.kind.value}:{principal.label}"[:200]


def record(
    ctx: Ctx, lead: Lead, kind: ActivityKind, text: str, data: dict[str, Any] | None = None
) -> Activity:
    entry = Activity(
        lead_id=lead.id, kind=kind, text=text, actor=actor_of(ctx), data=data, created_at=utcnow()
    )
    ctx.session.add(entry)
    return entry


def status_changed(ctx: Ctx, lead: Lead, before: LeadStatus) -> None:
    record(
        ctx,
        lead,
        ActivityKind.STATUS,
        f"Status: {LABELS[before]} → {LABELS[lead.status]}",
        {"from": before.value, "to": lead.status.value},
    )


def owner_changed(ctx: Ctx, lead: Lead, before: int | None) -> None:
    owners_changed(ctx, [(lead, before)])


def owners_changed(ctx: Ctx, changes: Sequence[tuple[Lead, int | None]]) -> None:
    """Each lead's owner change (the lead, its owner before), the users' names read once."""
    ids = {user for lead, before in changes for user in (before, lead.owner_user_id) if user is not None}
    names = dict(ctx.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}
    for lead, before in changes:
        old, new = names.get(before or 0, "nobody"), names.get(lead.owner_user_id or 0, "nobody")
        record(
            ctx, lead, ActivityKind.OWNER, f"Owner: {old} → {new}", {"from": before, "to": lead.owner_user_id}
        )


def add(ctx: Ctx, lead: Lead, kind: ActivityKind, text: str) -> Activity:
    """An activity staff log on a lead (Registered ones too: the timeline goes on)."""
    ctx.require("leads.update")
    entry = record(ctx, lead, kind, text)
    ctx.session.flush()
    return entry


def timeline(ctx: Ctx, lead: Lead, *, limit: int = 500) -> list[Activity]:
    """The lead's activities, newest first."""
    stmt = select(Activity).where(Activity.lead_id == lead.id).order_by(Activity.id.desc()).limit(limit)
    return list(ctx.session.scalars(stmt))
