"""Client Tier Upgrade in the back office (/api/v1/plugins/tier_upgrade/)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from core.sdk import CSV_RESPONSE, Ctx, Page, PathId, csv_export, staff
from plugins.tier_upgrade import service
from plugins.tier_upgrade.schemas import RecordOut, RecordQuery, RuleIn, RuleOut, RuleUpdate, SelectionIn

router = APIRouter()

RECORD_COLUMNS = [
    "id",
    "settlement_date",
    "settlement_at",
    "client_id",
    "client_name",
    "client_type",
    "rank_name",
    "from_tier_name",
    "to_tier_name",
    "status",
    "fail_reason",
    "metrics",
    "rule_name",
    "acted_by_name",
    "acted_at",
]


def _rule(ctx: Ctx, rule: Any) -> RuleOut:
    return RuleOut.model_validate(service.describe(ctx, rule))


def csv_rows(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield {**row, "metrics": json.dumps(row["metrics"], sort_keys=True)}


# --- settings --------------------------------------------------------------------------------------


@router.get("/rules", response_model=list[RuleOut], summary="Tier upgrade rules (one per rank)")
def list_rules(ctx: Ctx = staff(service.READ_SETTINGS)) -> list[RuleOut]:
    return [_rule(ctx, r) for r in service.list_rules(ctx)]


@router.post(
    "/rules",
    response_model=RuleOut,
    status_code=201,
    description="A rank has at most one rule (409 for a second). Settlement is weekly, on Sunday, at "
    "`settlement_time` in `timezone`.",
)
def create_rule(body: RuleIn, ctx: Ctx = staff(service.UPDATE_SETTINGS)) -> RuleOut:
    return _rule(ctx, service.create_rule(ctx, body))


@router.get("/rules/{rule_id}", response_model=RuleOut)
def get_rule(rule_id: PathId, ctx: Ctx = staff(service.READ_SETTINGS)) -> RuleOut:
    return _rule(ctx, service.get_rule(ctx, rule_id))


@router.patch(
    "/rules/{rule_id}",
    response_model=RuleOut,
    description="Applies from the next settlement; clients already upgraded keep their tier. Refused "
    "(409) while the rule's settlement is running.",
)
def update_rule(rule_id: PathId, body: RuleUpdate, ctx: Ctx = staff(service.UPDATE_SETTINGS)) -> RuleOut:
    return _rule(ctx, service.update_rule(ctx, rule_id, body))


@router.post("/rules/{rule_id}/disable", response_model=RuleOut, summary="Stop settling this rule")
def disable_rule(rule_id: PathId, ctx: Ctx = staff(service.UPDATE_SETTINGS)) -> RuleOut:
    return _rule(ctx, service.set_enabled(ctx, rule_id, False))


@router.post("/rules/{rule_id}/enable", response_model=RuleOut, summary="Settle this rule again")
def enable_rule(rule_id: PathId, ctx: Ctx = staff(service.UPDATE_SETTINGS)) -> RuleOut:
    return _rule(ctx, service.set_enabled(ctx, rule_id, True))


@router.delete("/rules/{rule_id}", status_code=204, description="Its records stay in the reports.")
def delete_rule(rule_id: PathId, ctx: Ctx = staff(service.UPDATE_SETTINGS)) -> Response:
    service.delete_rule(ctx, rule_id)
    return Response(status_code=204)


# --- reports ---------------------------------------------------------------------------------------


@router.get(
    "/records",
    response_model=Page[RecordOut],
    summary="The auto or manual upgrade report (method=auto|manual), within my data permissions",
)
def list_records(
    query: Annotated[RecordQuery, Query()], ctx: Ctx = staff(service.READ_REPORT)
) -> Page[RecordOut]:
    return Page.of(service.list_records(ctx, query.paging, **query.filters()), RecordOut)


@router.get("/records/export", response_class=StreamingResponse, responses=CSV_RESPONSE)
def export_records(
    query: Annotated[RecordQuery, Query()], ctx: Ctx = staff(service.READ_REPORT)
) -> StreamingResponse:
    filters = query.filters()
    return csv_export(
        ctx,
        f"tier-upgrade-{query.method.value}.csv",
        RECORD_COLUMNS,
        lambda reader: csv_rows(service.iter_records(reader, **filters)),
    )


@router.get("/records/{record_id}", response_model=RecordOut)
def get_record(record_id: PathId, ctx: Ctx = staff(service.READ_REPORT)) -> RecordOut:
    return RecordOut.model_validate(service.get_record(ctx, record_id))


@router.post(
    "/records/upgrade",
    response_model=list[RecordOut],
    summary="Upgrade the chosen pending or failed records",
    description="Each is re-checked now: if the client's rank or tier changed, the record becomes Fail "
    "with the reason. Expired, rejected or successful records make the whole request 409.",
)
def upgrade(body: SelectionIn, ctx: Ctx = staff(service.ACT)) -> list[RecordOut]:
    records = service.upgrade_records(ctx, body.record_ids)
    return [RecordOut.model_validate(service.get_record(ctx, r.id)) for r in records]


@router.post(
    "/records/reject", response_model=list[RecordOut], summary="Reject the chosen pending or failed records"
)
def reject(body: SelectionIn, ctx: Ctx = staff(service.ACT)) -> list[RecordOut]:
    records = service.reject_records(ctx, body.record_ids)
    return [RecordOut.model_validate(service.get_record(ctx, r.id)) for r in records]
