"""The broker's statuses (create, edit, reorder, delete), the rule editor's dry run, the metric list,
and the reports (clients by status, changes over time, the history)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Select, func, insert, literal, or_, select, update

from core.sdk import (
    ICONS,
    OPERATORS,
    Client,
    ClientGroup,
    Conflict,
    Ctx,
    InvalidInput,
    PageRequest,
    PageResult,
    Tenant,
    apply_changes,
    available_metrics,
    ensure_unique,
    fetch,
    paginate,
    record_action,
    scope_clients,
    tenant_insert,
    utcnow,
    visible_client_ids,
)
from plugins.status_system.criteria import check
from plugins.status_system.ladder import Ladder, Rung, load_ladder
from plugins.status_system.models import Cause, HistoryEntry, Standing, Status
from plugins.status_system.schemas import HistoryQuery, StatusIn, StatusUpdate
from plugins.status_system.standing import actor_of, decide_all

MAX_STATUSES = 50


def list_statuses(ctx: Ctx) -> list[Status]:
    return list(ctx.session.scalars(select(Status).order_by(Status.position, Status.id)))


def get_status(ctx: Ctx, status_id: int) -> Status:
    return fetch(ctx.session, Status, status_id, label="status")


def _tree(value: Any) -> dict[str, Any] | None:
    """A parsed criteria tree as stored: plain JSON (amounts as strings)."""
    if value is None:
        return None
    return value.model_dump(mode="json", by_alias=True, exclude_none=True)


def _check_fields(ctx: Ctx, fields: dict[str, Any]) -> None:
    if fields.get("icon") is not None and fields["icon"] not in ICONS:
        raise InvalidInput("icon", f"one of {', '.join(ICONS)}")
    if fields.get("group_id") is not None:
        fetch(ctx.session, ClientGroup, fields["group_id"], label="client group", field="group_id")
    if fields.get("criteria") is not None:
        check(ctx, fields["criteria"], available_metrics(ctx))


def create_status(ctx: Ctx, data: StatusIn) -> Status:
    statuses = list_statuses(ctx)
    if len(statuses) >= MAX_STATUSES:
        raise Conflict(f"a ladder has at most {MAX_STATUSES} statuses")
    ensure_unique(ctx.session, Status.name, data.name, label="status")
    fields = data.model_dump(exclude={"criteria", "position"})
    fields["criteria"] = _tree(data.criteria)
    _check_fields(ctx, fields)
    status = Status(**fields)
    place = len(statuses) if data.position is None else min(data.position, len(statuses))
    statuses.insert(place, status)
    ctx.session.add(status)
    for position, each in enumerate(statuses):
        each.position = position
    ctx.session.flush()
    return status


def update_status(ctx: Ctx, status_id: int, data: StatusUpdate) -> Status:
    status = get_status(ctx, status_id)
    changes = data.changes()
    if "criteria" in changes:
        changes["criteria"] = _tree(data.criteria)
    if "name" in changes:
        ensure_unique(ctx.session, Status.name, changes["name"], label="status", exclude_id=status.id)
    _check_fields(ctx, changes)
    apply_changes(status, changes)
    ctx.session.flush()
    return status


def reorder(ctx: Ctx, status_ids: Sequence[int]) -> list[Status]:
    """Put the statuses in this order, lowest first: every status, each once."""
    statuses = {s.id: s for s in list_statuses(ctx)}
    if sorted(status_ids) != sorted(statuses):
        raise InvalidInput("status_ids", "name every status of the ladder exactly once")
    for position, status_id in enumerate(status_ids):
        statuses[status_id].position = position
    ctx.session.flush()
    return list_statuses(ctx)


def _holders(ctx: Ctx, status: Status, lowest: bool) -> Select[Any]:
    """``SELECT clients.id`` of the clients holding ``status`` (tenant filtered explicitly: it may
    feed an INSERT … SELECT). A client without a standing holds the lowest status."""
    held = select(Standing.client_id.label("id")).where(Standing.tenant_id == ctx.tenant_id)
    if lowest:
        others = held.where(Standing.status_id.is_not(None), Standing.status_id != status.id)
        return select(Client.id).where(Client.tenant_id == ctx.tenant_id, Client.id.not_in(others))
    return held.where(Standing.status_id == status.id)


def holders_query(ctx: Ctx, status_id: int) -> Select[Any] | None:
    statuses = list_statuses(ctx)
    status = next((s for s in statuses if s.id == status_id), None)
    if status is None:
        return None
    return _holders(ctx, status, lowest=status.id == statuses[0].id)


def delete_status(ctx: Ctx, status_id: int, reassign_to: int | None) -> None:
    """Delete a status. While clients hold it the deletion is refused, unless they are moved to
    ``reassign_to`` (each move is in their history)."""
    statuses = list_statuses(ctx)
    status = get_status(ctx, status_id)
    holders = _holders(ctx, status, lowest=status.id == statuses[0].id)
    count = ctx.session.scalar(select(func.count()).select_from(holders.subquery())) or 0
    if count and reassign_to is None:
        raise Conflict(f"{count} clients hold {status.name}: choose a status to move them to (reassign_to)")
    if count:
        if reassign_to == status.id:
            raise InvalidInput("reassign_to", "choose another status")
        target = fetch(ctx.session, Status, reassign_to, label="status", field="reassign_to")  # type: ignore[arg-type]
        _move_all(ctx, holders, status, target, statuses)
    ctx.session.execute(
        update(Standing)
        .where(Standing.lock_status_id == status.id)
        .values(lock_status_id=None, lock_reason="")
    )
    ctx.session.execute(
        update(Standing)
        .where(Standing.floor_status_id == status.id)
        .values(floor_status_id=None, floor_reason="")
    )
    ctx.session.delete(status)
    ctx.session.flush()
    for position, each in enumerate(s for s in statuses if s.id != status.id):
        each.position = position


def _move_all(ctx: Ctx, holders: Select[Any], status: Status, target: Status, statuses: list[Status]) -> None:
    """Every holder of ``status`` to ``target``, in a few statements whatever their number."""
    now = utcnow()
    order = [s.id for s in statuses]
    direction = "up" if order.index(target.id) > order.index(status.id) else "down"
    ids = holders.subquery()
    tenant_insert(
        ctx.session,
        insert(HistoryEntry).from_select(
            [
                "tenant_id",
                "client_id",
                "previous_status_id",
                "previous_name",
                "status_id",
                "name",
                "direction",
                "cause",
                "actor",
                "reason",
                "created_at",
            ],
            select(
                literal(ctx.tenant_id),
                ids.c.id,
                literal(None),
                literal(status.name),
                literal(target.id),
                literal(target.name),
                literal(direction),
                literal(Cause.MANUAL.value),
                literal(actor_of(ctx)[:200]),
                literal(f"status {status.name} deleted"),
                literal(now),
            ),
        ),
    )
    without = select(Client.id).where(
        Client.tenant_id == ctx.tenant_id,
        Client.id.in_(select(ids.c.id)),
        Client.id.not_in(select(Standing.client_id).where(Standing.tenant_id == ctx.tenant_id)),
    )
    tenant_insert(
        ctx.session,
        insert(Standing).from_select(
            ["tenant_id", "client_id", "status_id", "since", "version"],
            select(
                literal(ctx.tenant_id), without.subquery().c.id, literal(target.id), literal(now), literal(1)
            ),
        ),
    )
    ctx.session.execute(
        update(Standing)
        .where(Standing.status_id == status.id)
        .values(status_id=target.id, since=now, version=Standing.version + 1)
    )
    record_action(
        ctx.session,
        entity="status_system_status",
        entity_id=str(status.id),
        action="delete_reassign",
        before={"name": status.name},
        after={"reassigned_to": target.name},
    )


# --- the rule editor's dry run ------------------------------------------------------------------------


def dry_run(ctx: Ctx, status_id: int, criteria: dict[str, Any] | None) -> dict[str, int]:
    """How many clients the ladder would move up and down if ``status_id`` had ``criteria``,
    within the caller's data permissions. Nothing is written."""
    ladder = load_ladder(ctx)
    if status_id not in ladder.level_of:
        get_status(ctx, status_id)
    check(ctx, criteria, ladder.metrics)
    rungs = tuple(
        Rung(**{**r.__dict__, "criteria": criteria}) if r.id == status_id else r for r in ladder.rungs
    )
    trial = Ladder(rungs, ladder.metrics, ladder.settings)
    ids, decision = decide_all(ctx, trial, utcnow())
    visible = ctx.session.scalars(scope_clients(select(Client.id), ctx.principal))
    counted = np.isin(ids, np.fromiter(visible, dtype=np.int64))
    up = int(np.count_nonzero((decision.level > decision.current) & counted))
    down = int(np.count_nonzero((decision.level < decision.current) & counted))
    clients = int(np.count_nonzero(counted))
    return {"clients": clients, "up": up, "down": down, "unchanged": clients - up - down}


# --- metrics -------------------------------------------------------------------------------------------


def list_metrics(ctx: Ctx) -> list[dict[str, Any]]:
    return [
        {
            "name": m.name,
            "label": m.label,
            "kind": m.kind,
            "operators": list(OPERATORS[m.kind]),
            "description": m.description,
            "per_currency": m.per_currency,
            "windowed": m.windowed,
            "unit": m.unit,
            "choices": m.choices(ctx) if m.choices else None,
        }
        for m in available_metrics(ctx).values()
    ]


# --- reports --------------------------------------------------------------------------------------------


def clients_by_status(ctx: Ctx) -> list[dict[str, Any]]:
    """How many clients (of those the caller may see) hold each status."""
    statuses = list_statuses(ctx)
    if not statuses:
        return []
    visible = visible_client_ids(ctx.principal)
    held = dict(
        ctx.session.execute(
            select(Standing.status_id, func.count())
            .where(Standing.client_id.in_(visible), Standing.status_id.is_not(None))
            .group_by(Standing.status_id)
        ).all()
    )
    everyone = ctx.session.scalar(select(func.count()).select_from(visible.subquery())) or 0
    known = {s.id for s in statuses}
    lowest = everyone - sum(
        n for status_id, n in held.items() if status_id in known and status_id != statuses[0].id
    )
    return [
        {"status_id": s.id, "name": s.name, "clients": lowest if i == 0 else held.get(s.id, 0)}
        for i, s in enumerate(statuses)
    ]


def changes_over_time(
    ctx: Ctx, since: datetime | None, until: datetime | None, bucket: str
) -> list[dict[str, Any]]:
    """Status changes per day, week or month: how many went up, down or sideways."""
    stmt = _history_scope(ctx, select(HistoryEntry.created_at, HistoryEntry.direction))
    if since is not None:
        stmt = stmt.where(HistoryEntry.created_at >= since)
    if until is not None:
        stmt = stmt.where(HistoryEntry.created_at < until)
    counts: dict[str, dict[str, int]] = {}
    for created_at, direction in ctx.session.execute(stmt.execution_options(yield_per=10_000)):
        key = _bucket(created_at, bucket)
        entry = counts.setdefault(key, {"up": 0, "down": 0, "same_level": 0})
        entry[direction] = entry.get(direction, 0) + 1
    return [{"period": key, **counts[key]} for key in sorted(counts)]


def _bucket(moment: datetime, bucket: str) -> str:
    if bucket == "month":
        return moment.strftime("%Y-%m")
    if bucket == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    return moment.date().isoformat()


def _history_scope(ctx: Ctx, stmt: Select[Any]) -> Select[Any]:
    return stmt.where(HistoryEntry.client_id.in_(visible_client_ids(ctx.principal)))


def history_query(ctx: Ctx, query: HistoryQuery) -> Select[Any]:
    stmt = _history_scope(ctx, select(HistoryEntry))
    if query.client_id is not None:
        stmt = stmt.where(HistoryEntry.client_id == query.client_id)
    if query.status_id is not None:
        stmt = stmt.where(
            or_(HistoryEntry.status_id == query.status_id, HistoryEntry.previous_status_id == query.status_id)
        )
    if query.cause is not None:
        stmt = stmt.where(HistoryEntry.cause == Cause(query.cause))
    if query.since is not None:
        stmt = stmt.where(HistoryEntry.created_at >= query.since)
    if query.until is not None:
        stmt = stmt.where(HistoryEntry.created_at < query.until)
    return stmt.order_by(HistoryEntry.id.desc())


def list_history(ctx: Ctx, query: HistoryQuery, page: PageRequest) -> PageResult[HistoryEntry]:
    return paginate(ctx.session, history_query(ctx, query), page)


# --- what the pages offer to choose from -------------------------------------------------------------


def group_choices(ctx: Ctx) -> list[tuple[int, str]]:
    """The broker's client groups a status may move its holders into, as (id, name)."""
    return [
        (row.id, row.name)
        for row in ctx.session.execute(select(ClientGroup.id, ClientGroup.name).order_by(ClientGroup.name))
    ]


def broker_zone(ctx: Ctx) -> str:
    """The broker's time zone, in which staff type the moments of a form (a lock's expiry)."""
    tenant = ctx.session.get(Tenant, ctx.tenant_id)
    return tenant.timezone if tenant is not None else "UTC"
