"""Clients' standings: recomputation (serialized, idempotent, written only on a real change), staff's
one-off assignments, floors and locks, and what a client's standing looks like.

Every path that may change a status goes through :func:`recompute`: the events, the nightly batch
(a chunk of clients at a time) and staff's actions. It locks the clients (``serialize_on``), reads
their standing and facts inside the lock, decides (``decision.decide``) and writes only what
changed: so a duplicated or replayed event, or two workers deciding the same client, write one
history row per real change and notify once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    and_,
    bindparam,
    case,
    column,
    func,
    null,
    select,
    update,
)
from sqlalchemy.orm.util import identity_key

from core.sdk import (
    Client,
    Conflict,
    Ctx,
    InvalidInput,
    StatusChange,
    UTCDateTime,
    announce,
    create_popups,
    epoch_seconds,
    fetch,
    get_client,
    insert_rows,
    key_chunks,
    listening,
    one_of,
    queue_email,
    serialize_on,
    set_client_group,
    utcnow,
)
from plugins.status_system.checklist import describe
from plugins.status_system.criteria import Facts, Rider, Riding, evaluate, measure
from plugins.status_system.decision import NEVER, NONE, Current, Decision, decide
from plugins.status_system.ladder import (
    PLUGIN,
    Ladder,
    Rung,
    Stamp,
    load_ladder,
    remembered_ladder,
    stamp_columns,
)
from plugins.status_system.models import Cause, HistoryEntry, Standing, Status

STATUS_CHANGED = "crm_client_status_changed"


def lock_key(ctx: Ctx, client_id: int) -> str:
    return f"status_system:{ctx.tenant_id}:{client_id}"


def actor_of(ctx: Ctx) -> str:
    if ctx.principal is not None:
        return f"{ctx.principal.kind.value}:{ctx.principal.label}"
    return str(ctx.session.info.get("actor_label") or "system")


def _join_standings(stmt: Any, among: Any) -> Any:
    # Joined on the ids asked about too, so that the standings are found by their index.
    return stmt.outerjoin(Standing, and_(Standing.client_id == Client.id, among(Standing.client_id)))


# The standing's columns ``current_of`` reads, in this order: scanned on their own by the batch,
# read with a few clients' facts in the same statement (``criteria.Rider``, with the ladder's stamp).
STANDING_COLUMNS = (
    Standing.client_id,
    Standing.status_id,
    epoch_seconds(Standing.promoted_at),
    Standing.lock_status_id,
    epoch_seconds(Standing.lock_expires_at),
    Standing.floor_status_id,
    epoch_seconds(Standing.floor_expires_at),
    Standing.warned_at.is_not(None),
)
STANDING = Rider("standing", STANDING_COLUMNS, _join_standings)
STANDING_AND_STAMP = Rider("standing+stamp", (*STANDING_COLUMNS, *stamp_columns()), _join_standings)


def _levels(ladder: Ladder, status_ids: list[Any], default: int) -> np.ndarray:
    """Status ids (None for none) as ladder levels; ``default`` where there is none or it is gone."""
    known = np.array(sorted(ladder.level_of), dtype=np.float64)
    levels = np.array([ladder.level_of[int(i)] for i in known], dtype=np.int64)
    wanted = np.asarray(status_ids, dtype=np.float64)  # None is NaN
    if not len(known):
        return np.full(len(wanted), default, dtype=np.int64)
    at = np.minimum(np.searchsorted(known, wanted), len(known) - 1)
    return np.where(known[at] == wanted, levels[at], default)


def current_of(ladder: Ladder, size: int, riding: Riding) -> Current:
    """The standings read with the facts as arrays (a client without a row holds the lowest
    status, with no lock or floor)."""
    current = Current.empty(size)
    columns, at, inside = riding.columns, riding.rows.at, riding.rows.inside
    if not len(at):
        return current
    # Read with a few clients' facts, a client without a standing has None; in the batch's scan of
    # every standing, the columns are float arrays already.
    held = inside & ~np.isnan(np.asarray(columns[0], dtype=np.float64))
    places = at[held]

    def column(i: int) -> np.ndarray:
        return np.asarray(columns[i], dtype=np.float64)[held]

    current.stored[places] = True
    current.level[places] = _levels(ladder, columns[1], 0)[held]
    current.promoted_at[places] = column(2)
    current.lock[places] = _levels(ladder, columns[3], NONE)[held]
    current.lock_expires[places] = np.nan_to_num(column(4), nan=NEVER)
    current.floor[places] = _levels(ladder, columns[5], NONE)[held]
    current.floor_expires[places] = np.nan_to_num(column(6), nan=NEVER)
    current.warned[places] = np.asarray(columns[7], dtype=bool)[held]
    return current


def _stamp_of(riding: Riding) -> Stamp | None:
    """The ladder's stamp as read (None when no client was read)."""
    if not len(riding.rows.at):
        return None
    return (int(riding.columns[-2][0]), riding.columns[-1][0])


def decide_all(ctx: Ctx, ladder: Ladder, now: datetime) -> tuple[np.ndarray, Decision]:
    """Every client of the tenant (sorted ids) and the decision for each, out of one statement over
    their facts and standings: the nightly batch's first phase and the rule editor's dry run.
    Nothing is locked."""
    needs, set_values = ladder.needs(), ladder.set_values()
    facts, riding = measure(ctx, needs, ladder.metrics, None, now, set_values=set_values, rider=STANDING)
    return facts.ids, decide(ladder, current_of(ladder, len(facts.ids), riding), facts, now)


@dataclass
class Assessment:
    """Clients' standings, facts and decision, read inside their lock. ``rows`` (the standings as
    objects, to change or show them) are loaded when first asked for (:func:`rows_of`)."""

    ladder: Ladder
    facts: Facts
    current: Current
    decision: Decision
    now: datetime
    rows: dict[int, Standing] | None = None


def rows_of(ctx: Ctx, found: Assessment) -> dict[int, Standing]:
    if found.rows is None:
        asked = found.facts.ids.tolist()
        # Refreshed: a recomputation writes standings with UPDATE statements, not through objects.
        stmt = select(Standing).where(Standing.client_id.in_(asked)).execution_options(populate_existing=True)
        found.rows = {row.client_id: row for row in ctx.session.scalars(stmt)}
    return found.rows


def assess(
    ctx: Ctx, client_ids: Iterable[int], now: datetime | None = None, *, fresh: bool = False
) -> Assessment:
    """The clients' facts, standings and decision in one statement (two when the ladder remembered
    from an earlier event has changed since: its stamp is read with them)."""
    now = now or utcnow()
    ladder = remembered_ladder(ctx)
    ids = np.array(sorted(set(client_ids)), dtype=np.int64)

    def read(ladder: Ladder) -> tuple[Facts, Riding]:
        needs, set_values = ladder.needs(), ladder.set_values()
        return measure(
            ctx,
            needs,
            ladder.metrics,
            ids,
            now,
            set_values=set_values,
            keep_raw=True,
            rider=STANDING_AND_STAMP,
        )

    facts, riding = read(ladder)
    stamp = _stamp_of(riding)
    if stamp is not None and stamp != ladder.stamp:
        ladder = load_ladder(ctx)
        facts, riding = read(ladder)
    current = current_of(ladder, len(ids), riding)
    current.fresh[:] = fresh
    return Assessment(ladder, facts, current, decide(ladder, current, facts, now), now)


def recompute(
    ctx: Ctx,
    client_ids: Iterable[int],
    *,
    now: datetime | None = None,
    cause: Cause | None = None,
    reason: str = "",
    fresh: bool = False,
) -> int:
    """Re-decide the clients and write what changed; returns how many changed status. ``fresh``
    ignores the status they hold (a lock was just lifted)."""
    ids = sorted(set(client_ids))
    if not ids:
        return 0
    serialize_on(ctx.session, *(lock_key(ctx, client_id) for client_id in ids))
    found = assess(ctx, ids, now, fresh=fresh)
    if not found.ladder.rungs:
        return 0
    dirty = np.flatnonzero(found.decision.dirty).tolist()
    # The clients a change needs as objects (for modules listening, an e-mail, a group), in one
    # query rather than one each; held here, as the session's identity map keeps only weak
    # references.
    held = _clients(ctx, found.facts.ids[dirty].tolist()) if dirty and _needs_clients(ctx, found) else []
    # Every standing is written before any change is recorded: recording moves clients between
    # groups, whose events re-enter here for the same clients and must find them settled.
    first_rows: Rows = []
    updates: Rows = []
    changed = [at for at in dirty if _apply(found, at, first_rows, updates)]
    _write_standings(ctx, first_rows, updates)
    for at in changed:
        _record_change(ctx, found, at, cause, reason)
    for at in np.flatnonzero(found.decision.warn).tolist():
        _warn(ctx, found, at)
    write_pending(ctx)
    del held
    return len(changed)


def recompute_clients(ctx: Ctx, keys: list[str]) -> None:
    """Deferred work (``hooks.RECOMPUTE``): re-decide the clients whose facts an event changed."""
    recompute(ctx, [int(key) for key in keys])


def _needs_clients(ctx: Ctx, found: Assessment) -> bool:
    ladder = found.ladder
    grouped = any(rung.group_id is not None for rung in ladder.rungs)
    return grouped or listening(ctx, STATUS_CHANGED) or ladder.notify_email


def _clients(ctx: Ctx, client_ids: list[int]) -> list[Client]:
    """The clients as objects: those the unit of work holds already (an event's), the rest read."""
    held = {i: ctx.session.identity_map.get(identity_key(Client, i)) for i in client_ids}
    missing = [i for i, client in held.items() if client is None]
    read = [
        client
        for chunk in key_chunks(ctx.session, missing)
        for client in ctx.session.scalars(select(Client).where(one_of(ctx.session, Client.id, chunk)))
    ]
    return [client for client in held.values() if client is not None] + read


def _standing_row(ctx: Ctx, found: Assessment, client_id: int) -> Standing:
    rows = rows_of(ctx, found)
    row = rows.get(client_id)
    if row is None:
        row = Standing(client_id=client_id, status_id=found.ladder.rungs[0].id, since=found.now, version=0)
        ctx.session.add(row)
        rows[client_id] = row
    return row


Rows = list[dict[str, Any]]


def _apply(found: Assessment, at: int, first_rows: Rows, updates: Rows) -> bool:
    """The client's standing as decided, as a first row (``first_rows``) or a change of its row
    (``updates``, see ``_UPDATE``); whether its status changed."""
    decision, ladder = found.decision, found.ladder
    client_id = int(found.facts.ids[at])
    before, after = int(decision.current[at]), int(decision.level[at])
    new = ladder.rungs[after].id
    if not found.current.stored[at]:  # the lowest status, nothing set: a row only on a change
        if before == after:
            return False
        first_rows.append(
            {
                "client_id": client_id,
                "status_id": new,
                "since": found.now,
                "promoted_at": found.now if after > before else None,
                **dict.fromkeys(("lock_status_id", "lock_expires_at", "floor_status_id", "floor_expires_at")),
                **dict.fromkeys(("lock_reason", "floor_reason", "set_by"), ""),
                "version": 1,
            }
        )
        return True
    updates.append(
        {
            "client": client_id,
            "status": new,
            "moved": before != after,
            "promoted": after > before,
            "lock_ended": bool(decision.lock_expired[at]),
            "floor_ended": bool(decision.floor_expired[at]),
            "warned": bool(decision.warn[at]),
            "unwarned": bool(decision.unwarn[at]),
            "at": found.now,
        }
    )
    return before != after


_STANDINGS = Standing.__table__
_FLAGS = ("moved", "promoted", "lock_ended", "floor_ended", "warned", "unwarned")


def _standing_update(row: Callable[[str], Any]) -> Any:
    """The UPDATE of changed standings, keyed by client: the status, since when, the last
    promotion, a lock or floor that ended cleared, and the at-risk warning. ``row(name)`` is a
    changed standing's value (``client``, ``status`` and the flags); ``at`` is the moment."""
    at = bindparam("at", type_=UTCDateTime())

    def keep_unless(flag: str, column: Any, value: Any) -> Any:
        return case((row(flag), value), else_=column)

    c = _STANDINGS.c
    return (
        update(_STANDINGS)
        .where(c.client_id == row("client"), c.tenant_id == bindparam("tenant"))
        .values(
            status_id=row("status"),
            since=keep_unless("moved", c.since, at),
            promoted_at=keep_unless("promoted", c.promoted_at, at),
            lock_status_id=keep_unless("lock_ended", c.lock_status_id, null()),
            lock_reason=keep_unless("lock_ended", c.lock_reason, ""),
            lock_expires_at=keep_unless("lock_ended", c.lock_expires_at, null()),
            floor_status_id=keep_unless("floor_ended", c.floor_status_id, null()),
            floor_reason=keep_unless("floor_ended", c.floor_reason, ""),
            floor_expires_at=keep_unless("floor_ended", c.floor_expires_at, null()),
            warned_at=case((row("warned"), at), (row("unwarned"), null()), else_=c.warned_at),
            version=c.version + 1,
        )
    )


def _bound(name: str) -> Any:
    return bindparam(name, type_=Boolean()) if name in _FLAGS else bindparam(name)


# One standing (an event's), or many as an executemany (SQLite, which runs it in C).
_UPDATE = _standing_update(_bound)
# Many standings on PostgreSQL in one statement: the changes travel as one JSON document, turned
# into rows by the server (an executemany costs the driver a statement per row).
_CHANGES = (
    func.json_to_recordset(bindparam("rows", type_=JSON()))
    .table_valued(
        column("client", BigInteger()),
        column("status", BigInteger()),
        *(column(flag, Boolean()) for flag in _FLAGS),
    )
    .render_derived("changes", with_types=True)
)
_UPDATE_MANY = _standing_update(lambda name: _CHANGES.c[name])


def _write_standings(ctx: Ctx, first_rows: Rows, updates: Rows) -> None:
    insert_rows(ctx.session, Standing, first_rows)
    if not updates:
        return
    common = {"tenant": ctx.tenant_id, "at": updates[0]["at"]}
    if len(updates) == 1:
        ctx.session.execute(_UPDATE, {**updates[0], **common})
    elif ctx.session.get_bind().dialect.name == "postgresql":
        rows = [{name: u[name] for name in ("client", "status", *_FLAGS)} for u in updates]
        ctx.session.execute(_UPDATE_MANY, {"rows": rows, **common})
    else:
        ctx.session.execute(_UPDATE, [{**u, **common} for u in updates])


def _record_change(ctx: Ctx, found: Assessment, at: int, cause: Cause | None, reason: str) -> None:
    decision, ladder = found.decision, found.ladder
    client_id = int(found.facts.ids[at])
    before, after = int(decision.current[at]), int(decision.level[at])
    previous, new = ladder.rungs[before], ladder.rungs[after]
    why = Cause(cause or decision.cause[at])
    record(
        ctx,
        client_id,
        previous,
        new,
        why,
        reason,
        evaluation_of(ctx, found, at, new if after > before else previous),
        notify_email=ladder.notify_email,
    )


def _warn(ctx: Ctx, found: Assessment, at: int) -> None:
    """Tell a client, once, that their status is at risk and what keeps it (a pop-up, and an
    e-mail when the broker sends them): the rules no longer hold it, and the margin or the grace
    period is all that does."""
    ladder = found.ladder
    client_id = int(found.facts.ids[at])
    rung = ladder.rungs[int(found.decision.current[at])]
    title = f"Your {rung.name} status is at risk"
    body = f"Your {rung.name} status is kept for now, but the rules no longer hold it."
    if rung.criteria is not None:
        relaxed = evaluate(rung.criteria, found.facts, ladder.metrics, share=ladder.keep_share)
        keep = describe(ctx, relaxed, found.facts, at, ladder.metrics, keeping=True)
        body += " To keep it: " + "; ".join(item.get("missing") or item["text"] for item in keep) + "."
    data = {"status_id": rung.id, "direction": "at_risk"}
    _pending(ctx).popups.append({"client_id": client_id, "title": title, "body": body, "data": data})
    if ladder.notify_email:
        _email(ctx, client_id, title, body)


def evaluation_of(ctx: Ctx, found: Assessment, at: int, rung: Rung) -> dict[str, Any] | None:
    """The checklist of ``rung``'s tree for the client: what decided a change, kept in the history."""
    evaluation = found.decision.full.get(rung.level)
    if evaluation is None:
        return None
    return {
        "status": rung.name,
        "met": bool(evaluation.met[at]),
        "progress": round(float(evaluation.score[at]), 4),
        "checklist": describe(ctx, evaluation, found.facts, at, found.ladder.metrics),
    }


def record(
    ctx: Ctx,
    client_id: int,
    previous: Rung | None,
    new: Rung,
    cause: Cause,
    reason: str,
    evaluation: dict[str, Any] | None,
    *,
    notify_email: bool,
) -> None:
    """Record a change: its history row and the client's pop-up are written with the chunk's
    others by :func:`write_pending` (a few statements for any number of changes); the client is
    told only when they can see the status, and the change is announced to modules now."""
    direction = "same_level"
    if previous is not None and new.level != previous.level:
        direction = "up" if new.level > previous.level else "down"
    pending = _pending(ctx)
    pending.history.append(
        {
            "client_id": client_id,
            "previous_status_id": previous.id if previous else None,
            "previous_name": previous.name if previous else None,
            "status_id": new.id,
            "name": new.name,
            "direction": direction,
            "cause": cause,
            "actor": actor_of(ctx)[:200],
            "reason": reason[:500],
            "evaluation": evaluation,
            "created_at": utcnow(),
        }
    )
    if new.visible_to_clients:
        _notify(ctx, client_id, new, direction, notify_email)
    _follow_group(ctx, client_id, previous, new)
    if not listening(ctx, STATUS_CHANGED):
        return
    client = ctx.session.get(Client, client_id)
    change: StatusChange = {
        "previous_status_id": previous.id if previous else None,
        "previous_status": previous.name if previous else None,
        "status_id": new.id,
        "status": new.name,
        "direction": direction,  # type: ignore[typeddict-item]
        "cause": cause.value,  # type: ignore[typeddict-item]
        "reason": reason,
    }
    announce(ctx, STATUS_CHANGED, announcer=PLUGIN, client=client, change=change)


@dataclass
class Pending:
    """Changes recorded in this unit of work and not yet written."""

    history: list[dict[str, Any]] = field(default_factory=list)
    popups: list[dict[str, Any]] = field(default_factory=list)


PENDING = "status_system.pending"


def _pending(ctx: Ctx) -> Pending:
    pending = ctx.session.info.get(PENDING)
    if pending is None:
        pending = ctx.session.info[PENDING] = Pending()
    return pending


def write_pending(ctx: Ctx) -> None:
    """Write the recorded changes: the history rows in one INSERT, the pop-ups in another."""
    pending = ctx.session.info.pop(PENDING, None)
    if pending is None:
        return
    insert_rows(ctx.session, HistoryEntry, pending.history)
    create_popups(ctx, pending.popups, source=PLUGIN)


def _follow_group(ctx: Ctx, client_id: int, previous: Rung | None, new: Rung) -> None:
    """A status that carries a client group moves its holders into it (the group's portal
    permissions come with the status); leaving it moves them out of the previous status's group,
    unless staff had moved them elsewhere meanwhile."""
    if new.group_id is not None:
        set_client_group(ctx, client_id, new.group_id)
    elif previous is not None and previous.group_id is not None:
        client = ctx.session.get(Client, client_id)
        if client is not None and client.group_id == previous.group_id:
            set_client_group(ctx, client_id, None)


def _notify(ctx: Ctx, client_id: int, new: Rung, direction: str, notify_email: bool) -> None:
    title = f"Your status is now {new.name}"
    body = new.caption or (
        f"Congratulations: you reached {new.name}."
        if direction == "up"
        else f"Your status changed to {new.name}."
    )
    data = {"status_id": new.id, "direction": direction}
    _pending(ctx).popups.append({"client_id": client_id, "title": title, "body": body, "data": data})
    if notify_email:
        _email(ctx, client_id, title, body)


def _email(ctx: Ctx, client_id: int, subject: str, body: str) -> None:
    client = ctx.session.get(Client, client_id)
    if client is not None and client.email:
        text = f"{body}\n\nSee what your status means in your client portal."
        queue_email(ctx, client.email, subject, text, client_id=client_id)


# --- staff's actions ---------------------------------------------------------------------------------


def assign(
    ctx: Ctx,
    client_id: int,
    status_id: int,
    mode: str,
    reason: str,
    expires_at: datetime | None = None,
) -> None:
    """Staff set a status: ``once`` (now; the rules may move it later, after the grace period),
    ``floor`` (at least this status) or ``lock`` (exactly this status, whatever the rules say)."""
    get_client(ctx, client_id)  # 404 outside the caller's data permissions
    status = fetch(ctx.session, Status, status_id, label="status", field="status_id")
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("expires_at", "must be in the future")
    if mode == "once" and expires_at is not None:
        raise InvalidInput("expires_at", "only a floor or a lock expires")
    serialize_on(ctx.session, lock_key(ctx, client_id))
    found = assess(ctx, [client_id], now)
    row = _standing_row(ctx, found, client_id)
    if mode == "lock":
        row.lock_status_id, row.lock_reason, row.lock_expires_at = status.id, reason, expires_at
        row.set_by = actor_of(ctx)
        cause = Cause.LOCK
    elif mode == "floor":
        row.floor_status_id, row.floor_reason, row.floor_expires_at = status.id, reason, expires_at
        row.set_by = actor_of(ctx)
        cause = Cause.FLOOR
    else:
        if row.lock_status_id is not None and (row.lock_expires_at is None or row.lock_expires_at > now):
            raise Conflict("a lock holds this client's status: lift it first, or lock another status")
        level_of = found.ladder.level_of
        before = level_of.get(row.status_id, 0)
        if row.status_id != status.id:
            rungs = found.ladder.rungs
            row.status_id, row.since, row.version = status.id, now, row.version + 1
            if level_of[status.id] > before:
                row.promoted_at = now  # the grace period protects a manual promotion too
            record(
                ctx,
                client_id,
                rungs[before],
                rungs[level_of[status.id]],
                Cause.MANUAL,
                reason,
                None,
                notify_email=found.ladder.notify_email,
            )
            write_pending(ctx)
        return
    ctx.session.flush()
    recompute(ctx, [client_id], now=now, cause=cause, reason=reason)


def release(ctx: Ctx, client_id: int, what: str, reason: str) -> None:
    """Lift a client's lock or floor; the rules (and the other one) decide again at once."""
    get_client(ctx, client_id)
    serialize_on(ctx.session, lock_key(ctx, client_id))
    row = ctx.session.scalar(select(Standing).where(Standing.client_id == client_id))
    if row is None or getattr(row, f"{what}_status_id") is None:
        raise Conflict(f"the client has no {what}")
    setattr(row, f"{what}_status_id", None)
    setattr(row, f"{what}_reason", "")
    setattr(row, f"{what}_expires_at", None)
    ctx.session.flush()
    recompute(
        ctx,
        [client_id],
        cause=Cause.LOCK if what == "lock" else Cause.FLOOR,
        reason=reason or f"{what} lifted",
        fresh=what == "lock",
    )


# --- reading a standing ----------------------------------------------------------------------------


def standing_of(ctx: Ctx, client_id: int) -> dict[str, Any]:
    """A client's status, lock, floor, the next status and the checklist to reach it, and, with
    automatic demotion, whether the status is at risk and what keeps it."""
    found = assess(ctx, [client_id])
    ladder = found.ladder
    row = rows_of(ctx, found).get(client_id)
    if not ladder.rungs:
        return {"client_id": client_id, "status_id": None, "status": None, "since": None, "lock": None,
                "floor": None, "next": None, "current": None, "at_risk": False, "keep": []}  # fmt: skip
    level = int(found.current.level[0])
    rung = ladder.rungs[level]
    names = {r.id: r.name for r in ladder.rungs}

    def staff_set(what: str) -> dict[str, Any] | None:
        status_id = getattr(row, f"{what}_status_id", None) if row else None
        if status_id is None:
            return None
        return {
            "status_id": status_id,
            "status": names.get(status_id),
            "reason": getattr(row, f"{what}_reason"),
            "expires_at": getattr(row, f"{what}_expires_at"),
            "set_by": row.set_by,
        }

    def about(target: Rung | None) -> dict[str, Any] | None:
        if target is None or target.criteria is None:
            return None
        evaluation = found.decision.full[target.level]
        return {
            "status_id": target.id,
            "name": target.name,
            "met": bool(evaluation.met[0]),
            "progress": round(float(evaluation.score[0]), 4),
            "checklist": describe(ctx, evaluation, found.facts, 0, ladder.metrics),
        }

    at_risk = bool(found.decision.at_risk[0])
    keep: list[dict[str, Any]] = []
    if at_risk and rung.criteria is not None:
        relaxed = evaluate(rung.criteria, found.facts, ladder.metrics, share=ladder.keep_share)
        keep = describe(ctx, relaxed, found.facts, 0, ladder.metrics, keeping=True)
    return {
        "client_id": client_id,
        "status_id": rung.id,
        "status": rung.name,
        "since": row.since if row else None,
        "lock": staff_set("lock"),
        "floor": staff_set("floor"),
        "next": about(ladder.above(level)),
        "current": about(rung),
        "at_risk": at_risk,
        "keep": keep,
    }
