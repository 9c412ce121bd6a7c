"""``crm module status_system --tenant SLUG …``: the ladder, a client's standing, staff's actions
and the reports from a terminal, through the same services as the API."""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from typing import Annotated

import typer

from core.sdk import Ctx, InvalidInput, PageRequest, get_client
from plugins.status_system import service, standing
from plugins.status_system.schemas import HistoryQuery

commands = typer.Typer(help="Status System: statuses, clients' standings, reports.", no_args_is_help=True)


def _unit(context: typer.Context) -> Ctx:
    unit: Ctx = context.obj
    return unit


def _status_id(unit: Ctx, name_or_id: str) -> int:
    for status in service.list_statuses(unit):
        if name_or_id in (status.name, str(status.id)):
            return status.id
    raise InvalidInput("status", f"no status {name_or_id!r}")


@commands.command("statuses")
def statuses(context: typer.Context) -> None:
    """The ladder, lowest first, with how many clients hold each status."""
    unit = _unit(context)
    held = {row["status_id"]: row["clients"] for row in service.clients_by_status(unit)}
    for status in service.list_statuses(unit):
        rule = "by hand only" if status.criteria is None else "by rules"
        typer.echo(f"{status.id:>6}  {status.name:<24} {held.get(status.id, 0):>9} clients  ({rule})")


@commands.command("show")
def show(context: typer.Context, client_id: Annotated[int, typer.Argument(min=1)]) -> None:
    """A client's status, lock and floor, and the checklist toward the next status."""
    unit = _unit(context)
    get_client(unit, client_id)
    found = standing.standing_of(unit, client_id)
    typer.echo(f"client {client_id}: {found['status']}" + ("  (at risk)" if found["at_risk"] else ""))
    for what in ("lock", "floor"):
        if found[what]:
            typer.echo(f"  {what}: {found[what]['status']} — {found[what]['reason']}")
    nxt = found["next"]
    if nxt:
        typer.echo(f"  next: {nxt['name']} ({round(nxt['progress'] * 100)} %)")
        for item in nxt["checklist"]:
            mark = "✓" if item["met"] else "✗"
            typer.echo(f"    {mark} {item['text']}" + (f" — {item['missing']}" if item["missing"] else ""))


@commands.command("assign")
def assign(
    context: typer.Context,
    client_id: Annotated[int, typer.Argument(min=1)],
    status: Annotated[str, typer.Option(help="The status's name or id.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the client's history).")],
    mode: Annotated[str, typer.Option(help="once, floor or lock.")] = "once",
    expires: Annotated[datetime | None, typer.Option(help="A floor or lock ends then (UTC).")] = None,
) -> None:
    """Assign a status by hand: once, as a floor (at least) or as a lock (exactly)."""
    unit = _unit(context)
    if mode not in ("once", "floor", "lock"):
        raise InvalidInput("mode", "once, floor or lock")
    if expires is not None and expires.tzinfo is None:
        from datetime import UTC

        expires = expires.replace(tzinfo=UTC)
    standing.assign(unit, client_id, _status_id(unit, status), mode, reason[:500], expires)
    typer.echo(f"client {client_id}: {standing.standing_of(unit, client_id)['status']}")


@commands.command("release")
def release(
    context: typer.Context,
    client_id: Annotated[int, typer.Argument(min=1)],
    what: Annotated[str, typer.Option(help="lock or floor.")],
    reason: Annotated[str, typer.Option(help="Why.")] = "",
) -> None:
    """Lift a client's lock or floor; the rules decide again at once."""
    unit = _unit(context)
    if what not in ("lock", "floor"):
        raise InvalidInput("what", "lock or floor")
    standing.release(unit, client_id, what, reason[:500])
    typer.echo(f"client {client_id}: {standing.standing_of(unit, client_id)['status']}")


@commands.command("recompute")
def recompute(context: typer.Context, client_id: Annotated[int, typer.Argument(min=1)]) -> None:
    """Re-evaluate one client now (every client: crm jobs run status_system.evaluation)."""
    unit = _unit(context)
    get_client(unit, client_id)
    changed = standing.recompute(unit, [client_id])
    typer.echo(f"client {client_id}: {standing.standing_of(unit, client_id)['status']} ({changed} change)")


@commands.command("report")
def report(context: typer.Context) -> None:
    """Clients by status, as CSV on standard output."""
    writer = csv.writer(sys.stdout)
    writer.writerow(["status_id", "name", "clients"])
    for row in service.clients_by_status(_unit(context)):
        writer.writerow([row["status_id"], row["name"], row["clients"]])


@commands.command("history")
def history(
    context: typer.Context,
    client_id: Annotated[int | None, typer.Option("--client", min=1)] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """The latest status changes, newest first, as CSV on standard output."""
    unit = _unit(context)
    entries = service.list_history(unit, HistoryQuery(client_id=client_id), PageRequest(1, limit)).items
    writer = csv.writer(sys.stdout)
    writer.writerow(["created_at", "client_id", "previous", "status", "cause", "actor", "reason"])
    for e in entries:
        writer.writerow(
            [e.created_at.isoformat(), e.client_id, e.previous_name, e.name, e.cause.value, e.actor, e.reason]
        )
