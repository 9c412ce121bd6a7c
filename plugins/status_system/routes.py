"""The Status System's API: the back office (/api/v1/plugins/status_system/) and the client's own
standing in the portal (/api/v1/portal/plugins/status_system/)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from core.sdk import CSV_RESPONSE, Ctx, Page, PathId, csv_export, format_time, get_client, portal, staff
from plugins.status_system import service, standing
from plugins.status_system.client_view import client_view
from plugins.status_system.schemas import (
    AssignIn,
    ByStatusOut,
    ChangesOut,
    DeleteIn,
    DryRunIn,
    DryRunOut,
    HistoryOut,
    HistoryQuery,
    MetricOut,
    MyStatusOut,
    OrderIn,
    ReleaseIn,
    ReportQuery,
    StandingOut,
    StatusIn,
    StatusOut,
    StatusUpdate,
)

READ, UPDATE, ASSIGN = "status_system.read", "status_system.update", "status_system.assign"

router = APIRouter()
portal_router = APIRouter()

HISTORY_COLUMNS = ["id", "created_at", "client_id", "previous_name", "name", "direction", "cause"]
HISTORY_COLUMNS += ["actor", "reason", "evaluation"]


# --- statuses ----------------------------------------------------------------------------------------


@router.get("/statuses", response_model=list[StatusOut], summary="The ladder, lowest status first")
def list_statuses(ctx: Ctx = staff(READ)) -> list[Any]:
    return service.list_statuses(ctx)


@router.post(
    "/statuses",
    response_model=StatusOut,
    status_code=201,
    description="A status with `criteria` is reached by the rules; without, only by hand. The lowest "
    "status is every new client's. Rules apply at each client's next event and at the nightly "
    "re-evaluation; try them first with the dry run.",
)
def create_status(body: StatusIn, ctx: Ctx = staff(UPDATE)) -> Any:
    return service.create_status(ctx, body)


@router.get("/statuses/{status_id}", response_model=StatusOut)
def get_status(status_id: PathId, ctx: Ctx = staff(READ)) -> Any:
    return service.get_status(ctx, status_id)


@router.patch("/statuses/{status_id}", response_model=StatusOut)
def update_status(status_id: PathId, body: StatusUpdate, ctx: Ctx = staff(UPDATE)) -> Any:
    return service.update_status(ctx, status_id, body)


@router.put("/statuses/order", response_model=list[StatusOut], summary="Reorder the ladder (lowest first)")
def reorder(body: OrderIn, ctx: Ctx = staff(UPDATE)) -> list[Any]:
    return service.reorder(ctx, body.status_ids)


@router.post(
    "/statuses/{status_id}/delete",
    status_code=204,
    summary="Delete a status",
    description="Refused (409) while clients hold it, unless `reassign_to` names the status to move "
    "them to (each move is in their history).",
)
def delete_status(status_id: PathId, body: DeleteIn, ctx: Ctx = staff(UPDATE)) -> Response:
    service.delete_status(ctx, status_id, body.reassign_to)
    return Response(status_code=204)


@router.post(
    "/statuses/{status_id}/dry-run",
    response_model=DryRunOut,
    summary="How many clients would move up and down with these rules",
    description="Nothing is saved. Counts the clients within my data permissions.",
)
def dry_run(status_id: PathId, body: DryRunIn, ctx: Ctx = staff(READ)) -> dict[str, int]:
    criteria = (
        body.criteria.model_dump(mode="json", by_alias=True, exclude_none=True) if body.criteria else None
    )
    return service.dry_run(ctx, status_id, criteria)


@router.get("/metrics", response_model=list[MetricOut], summary="What rules can test, with their operators")
def list_metrics(ctx: Ctx = staff(READ)) -> list[dict[str, Any]]:
    return service.list_metrics(ctx)


# --- clients -----------------------------------------------------------------------------------------


@router.get("/clients/{client_id}", response_model=StandingOut, summary="A client's status and progress")
def client_standing(client_id: PathId, ctx: Ctx = staff(READ)) -> dict[str, Any]:
    get_client(ctx, client_id)
    return standing.standing_of(ctx, client_id)


@router.post(
    "/clients/{client_id}/assign",
    response_model=StandingOut,
    summary="Assign a status by hand: once, as a floor, or as a lock",
    description="A lock (exactly this status) beats a floor (at least this status), which beats the "
    "rules. `once` sets the status now; the rules may move it later (after the grace period).",
)
def assign(client_id: PathId, body: AssignIn, ctx: Ctx = staff(ASSIGN)) -> dict[str, Any]:
    standing.assign(ctx, client_id, body.status_id, body.mode, body.reason, body.expires_at)
    return standing.standing_of(ctx, client_id)


@router.post("/clients/{client_id}/release", response_model=StandingOut, summary="Lift a lock or a floor")
def release(client_id: PathId, body: ReleaseIn, ctx: Ctx = staff(ASSIGN)) -> dict[str, Any]:
    standing.release(ctx, client_id, body.what, body.reason)
    return standing.standing_of(ctx, client_id)


@router.post(
    "/clients/{client_id}/recompute",
    response_model=StandingOut,
    summary="Re-evaluate a client now",
)
def recompute(client_id: PathId, ctx: Ctx = staff(ASSIGN)) -> dict[str, Any]:
    get_client(ctx, client_id)
    standing.recompute(ctx, [client_id])
    return standing.standing_of(ctx, client_id)


# --- history and reports -----------------------------------------------------------------------------


@router.get("/history", response_model=Page[HistoryOut], summary="Status changes, newest first")
def history(query: Annotated[HistoryQuery, Query()], ctx: Ctx = staff(READ)) -> Page[Any]:
    return Page.of(service.list_history(ctx, query, query.paging), HistoryOut)


def _history_rows(reader: Ctx, query: HistoryQuery) -> Iterator[dict[str, Any]]:
    for entry in reader.session.scalars(
        service.history_query(reader, query).execution_options(yield_per=1000)
    ):
        yield {
            **{column: getattr(entry, column) for column in HISTORY_COLUMNS},
            "created_at": format_time(entry.created_at),
            "cause": entry.cause.value,
            "evaluation": json.dumps(entry.evaluation, sort_keys=True) if entry.evaluation else "",
        }


@router.get("/history/export", response_class=StreamingResponse, responses=CSV_RESPONSE)
def export_history(query: Annotated[HistoryQuery, Query()], ctx: Ctx = staff(READ)) -> StreamingResponse:
    return csv_export(ctx, "status-history.csv", HISTORY_COLUMNS, lambda reader: _history_rows(reader, query))


@router.get("/reports/by-status", response_model=list[ByStatusOut], summary="Clients by status")
def by_status(ctx: Ctx = staff(READ)) -> list[dict[str, Any]]:
    return service.clients_by_status(ctx)


@router.get("/reports/by-status/export", response_class=StreamingResponse, responses=CSV_RESPONSE)
def export_by_status(ctx: Ctx = staff(READ)) -> StreamingResponse:
    return csv_export(
        ctx, "clients-by-status.csv", ["status_id", "name", "clients"], service.clients_by_status
    )


@router.get("/reports/changes", response_model=list[ChangesOut], summary="Status changes over time")
def changes(query: Annotated[ReportQuery, Query()], ctx: Ctx = staff(READ)) -> list[dict[str, Any]]:
    return service.changes_over_time(ctx, query.since, query.until, query.bucket)


@router.get("/reports/changes/export", response_class=StreamingResponse, responses=CSV_RESPONSE)
def export_changes(query: Annotated[ReportQuery, Query()], ctx: Ctx = staff(READ)) -> StreamingResponse:
    return csv_export(
        ctx,
        f"status-changes-by-{query.bucket}.csv",
        ["period", "up", "down", "same_level"],
        lambda reader: service.changes_over_time(reader, query.since, query.until, query.bucket),
    )


# --- the portal --------------------------------------------------------------------------------------


def _rung(rung: Any) -> dict[str, Any] | None:
    if rung is None:
        return None
    return {"id": rung.id, "name": rung.name, "caption": rung.caption, "colour": rung.colour}


@portal_router.get(
    "/me",
    response_model=MyStatusOut,
    summary="My status, the next one and what is still missing",
    description="Statuses hidden from clients are never named; a lock or a floor shows as the status.",
)
def my_standing(ctx: Ctx = portal()) -> dict[str, Any]:
    assert ctx.principal is not None
    view = client_view(ctx, ctx.principal.id, details=True)
    status = service.get_status(ctx, view.status.id) if view.status is not None else None
    return {
        "status": _rung(view.status),
        "description": status.description if status else "",
        "grants": status.grants if status else "",
        "next": _rung(view.next),
        "progress": view.progress,
        "percent": view.percent,
        "reached": view.reached,
        "top": view.top,
        "ladder": [_rung(r) for r in view.ladder],
        "checklist": view.checklist,
        "at_risk": view.at_risk,
        "keep": view.keep,
    }


@portal_router.get("/statuses", response_model=list[StatusOut], summary="The statuses clients can see")
def visible_statuses(ctx: Ctx = portal()) -> list[Any]:
    return [s for s in service.list_statuses(ctx) if s.visible_to_clients]
