"""Client Tier Upgrade in the back office: the rules (list, form, details) and the auto and manual
reports with their Upgrade / Reject multi-select. Mounted at /backoffice/plugins/tier_upgrade/;
every page declares the permission of the matching API route and calls the same services."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from core.sdk import (
    Conflict,
    Ctx,
    DomainError,
    FormData,
    InvalidInput,
    PathId,
    TimeZoneName,
    csv_export,
    field_errors,
    page,
    parse_form,
    see_other,
    staff,
)
from plugins.tier_upgrade import service
from plugins.tier_upgrade.models import (
    CurrencyRelation,
    DepositType,
    RecordStatus,
    TierRule,
    UpgradeMethod,
    UpgradeTarget,
)
from plugins.tier_upgrade.routes import RECORD_COLUMNS, csv_rows
from plugins.tier_upgrade.schemas import RecordQuery, RuleIn, RuleUpdate, SelectionIn

BASE = "/backoffice/plugins/tier_upgrade"
RULES, REPORTS = f"{BASE}/rules", f"{BASE}/reports"
ZONES = sorted(zone.value for zone in get_args(TimeZoneName)[0])  # the IANA names the API takes

pages = APIRouter()


# --- the rules list ----------------------------------------------------------------------------------


def _rules_page(request: Request, ctx: Ctx, *, error: str | None = None, status: int = 200) -> Response:
    rules = [
        {**service.describe(ctx, rule), "settling": service.settling(ctx, rule)}
        for rule in service.list_rules(ctx)
    ]
    return page(
        request,
        ctx,
        "tier_upgrade/rules.html",
        {
            "base": BASE,
            "rules": rules,
            "settling": [r["name"] for r in rules if r["settling"]],
            "can_update": ctx.principal is not None and ctx.principal.has(service.UPDATE_SETTINGS),
            "error": error,
        },
        status_code=status,
    )


@pages.get("/rules")
def rules_page(request: Request, ctx: Ctx = staff(service.READ_SETTINGS)) -> Response:
    return _rules_page(request, ctx)


def _rule_action(request: Request, ctx: Ctx, rule_id: int, action: str) -> Response:
    """Disable, enable or delete: back to the list, or the list with the refusal (409 while the
    rule's settlement runs)."""
    try:
        if action == "delete":
            service.delete_rule(ctx, rule_id)
        else:
            service.set_enabled(ctx, rule_id, action == "enable")
    except Conflict as refusal:
        return _rules_page(request, ctx, error=refusal.message, status=409)
    return see_other(RULES)


@pages.post("/rules/{rule_id}/disable")
def disable_rule(request: Request, rule_id: PathId, ctx: Ctx = staff(service.UPDATE_SETTINGS)) -> Response:
    return _rule_action(request, ctx, rule_id, "disable")


@pages.post("/rules/{rule_id}/enable")
def enable_rule(request: Request, rule_id: PathId, ctx: Ctx = staff(service.UPDATE_SETTINGS)) -> Response:
    return _rule_action(request, ctx, rule_id, "enable")


@pages.post("/rules/{rule_id}/delete")
def delete_rule(request: Request, rule_id: PathId, ctx: Ctx = staff(service.UPDATE_SETTINGS)) -> Response:
    return _rule_action(request, ctx, rule_id, "delete")


# --- the rule form -----------------------------------------------------------------------------------


def _rule_body(form: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """The posted form as the API's body: ``tiers.<n>.…`` fields become the list of tiers, each
    with its currencies. A tier row left wholly empty is left out (that tier has no criteria);
    also returns, for each tier kept, its row number, to put errors back beside their row."""
    body: dict[str, Any] = {}
    rows: dict[int, dict[str, Any]] = {}
    for key, value in form.items():
        parts = key.split(".")
        if parts[0] != "tiers":
            body[key] = value
            continue
        if len(parts) < 3 or not parts[1].isdigit() or len(parts[1]) > 3:
            continue
        row = rows.setdefault(int(parts[1]), {})
        if len(parts) == 3 and parts[2] in ("tier_id", "branches_required"):
            row[parts[2]] = value
        elif (
            len(parts) == 5 and parts[2] == "currencies" and parts[4] in ("downline_total", "branch_minimum")
        ):
            row.setdefault("currencies", {}).setdefault(parts[3], {})[parts[4]] = value
    kept = [n for n in sorted(rows) if set(rows[n]) - {"tier_id"}]
    body["tiers"] = [rows[n] for n in kept]
    return body, kept


def _row_errors(error: DomainError, kept: list[int]) -> dict[str, str]:
    """The errors by form field: ``tiers.<i>…`` of the body is row ``kept[i]`` of the form."""
    errors = {}
    for name, message in field_errors(error).items():
        parts = name.split(".")
        if len(parts) > 1 and parts[0] == "tiers" and parts[1].isdigit() and int(parts[1]) < len(kept):
            name = ".".join(["tiers", str(kept[int(parts[1])]), *parts[2:]])
        errors[name] = message
    return errors


def _rule_values(ctx: Ctx, rule: TierRule) -> dict[str, Any]:
    """A rule as the form's flat fields, its tiers in the rows of its rank's tiers."""
    described = service.describe(ctx, rule)
    values: dict[str, Any] = {
        k: str(described[k])
        for k in ("name", "method", "target", "rank_id", "currency_relation", "deposit_type", "timezone")
    }
    values["settlement_time"] = rule.settlement_time
    criteria = {t["tier_id"]: t for t in described["tiers"]}
    for n, tier in enumerate(service.rank_tiers(ctx, rule.rank_id)):
        found = criteria.get(tier.id)
        if found is None:
            continue
        values[f"tiers.{n}.branches_required"] = str(found["branches_required"])
        for currency, amount in found["currencies"].items():
            for part in ("downline_total", "branch_minimum"):
                values[f"tiers.{n}.currencies.{currency}.{part}"] = str(amount[part])
    return values


def _form_page(
    request: Request,
    ctx: Ctx,
    *,
    rule: TierRule | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    rank_id = rule.rank_id if rule is not None else values.get("rank_id")
    tiers = []
    if rank_id is not None and str(rank_id).isdigit():
        try:
            tiers = service.rank_tiers(ctx, int(rank_id))
        except DomainError:
            tiers = []
    context = {
        "base": BASE,
        "rule": rule,
        "rank_name": service.describe(ctx, rule)["rank_name"] if rule is not None else "",
        "ranks": service.rank_choices(ctx) if rule is None else [],
        "tiers": tiers,
        "currencies": service.base_currencies(ctx),
        "values": values,
        "errors": errors or {},
        "settling": rule is not None and service.settling(ctx, rule),
        "methods": list(UpgradeMethod),
        "targets": list(UpgradeTarget),
        "relations": list(CurrencyRelation),
        "deposit_types": list(DepositType),
        "zones": ZONES,
    }
    return page(request, ctx, "tier_upgrade/rule_form.html", context, status_code=status)


@pages.get("/rules/new")
def new_rule_page(request: Request, ctx: Ctx = staff(service.UPDATE_SETTINGS)) -> Response:
    return _form_page(request, ctx, rule=None, values={})


@pages.post("/rules/new")
def create_rule(request: Request, form: FormData, ctx: Ctx = staff(service.UPDATE_SETTINGS)) -> Response:
    body, kept = _rule_body(form)
    try:
        with ctx.session.begin_nested():  # a refusal leaves nothing behind
            rule = service.create_rule(ctx, parse_form(RuleIn, body))
    except (InvalidInput, Conflict) as error:
        status = 409 if isinstance(error, Conflict) else 422
        return _form_page(
            request, ctx, rule=None, values=form, errors=_row_errors(error, kept), status=status
        )
    return see_other(f"{RULES}/{rule.id}")


@pages.get("/rules/tiers")
def rank_tiers_fragment(
    request: Request,
    rank_id: Annotated[str, Query(max_length=12)] = "",
    ctx: Ctx = staff(service.UPDATE_SETTINGS),
) -> Response:
    """The criteria table of the chosen rank's tiers, lowest first (the rank select's htmx swap);
    the select's blank choice ("Choose a rank") sends it empty."""
    if rank_id and not rank_id.isdigit():
        raise InvalidInput("rank_id", "must be the id of a rank")
    tiers = service.rank_tiers(ctx, int(rank_id)) if rank_id else []
    context = {"tiers": tiers, "currencies": service.base_currencies(ctx), "values": {}, "errors": {}}
    return page(request, ctx, "tier_upgrade/rule_form.html", {**context, "settling": False}, block="tiers")


@pages.get("/rules/{rule_id}")
def rule_page(request: Request, rule_id: PathId, ctx: Ctx = staff(service.READ_SETTINGS)) -> Response:
    rule = service.get_rule(ctx, rule_id)
    context = {
        "base": BASE,
        "rule": service.describe(ctx, rule),
        "settling": service.settling(ctx, rule),
        "can_update": ctx.principal is not None and ctx.principal.has(service.UPDATE_SETTINGS),
    }
    return page(request, ctx, "tier_upgrade/rule.html", context)


@pages.get("/rules/{rule_id}/edit")
def edit_rule_page(request: Request, rule_id: PathId, ctx: Ctx = staff(service.UPDATE_SETTINGS)) -> Response:
    rule = service.get_rule(ctx, rule_id)
    return _form_page(request, ctx, rule=rule, values=_rule_values(ctx, rule))


@pages.post("/rules/{rule_id}/edit")
def update_rule(
    request: Request, rule_id: PathId, form: FormData, ctx: Ctx = staff(service.UPDATE_SETTINGS)
) -> Response:
    rule = service.get_rule(ctx, rule_id)
    body, kept = _rule_body(form)
    body.pop("rank_id", None)  # a rule's rank never changes
    body.pop("deposit_type", None)  # one type only, set at creation
    for required in ("name", "method", "target", "currency_relation", "timezone", "settlement_time"):
        body.setdefault(required, None)  # a field emptied is refused, not kept
    try:
        with ctx.session.begin_nested():
            service.update_rule(ctx, rule_id, parse_form(RuleUpdate, body))
    except (InvalidInput, Conflict) as error:
        ctx.session.refresh(rule)
        status = 409 if isinstance(error, Conflict) else 422
        return _form_page(
            request, ctx, rule=rule, values=form, errors=_row_errors(error, kept), status=status
        )
    return see_other(f"{RULES}/{rule_id}")


# --- the reports -------------------------------------------------------------------------------------


class ReportQuery(RecordQuery):
    """The report's query: the API's, with "all statuses" sent empty by the filter form, and the
    notice to show after an Upgrade or Reject."""

    status: RecordStatus | Literal[""] | None = None  # type: ignore[assignment]
    acted: Literal["upgrade", "reject"] | None = None


def _report_page(
    request: Request, ctx: Ctx, query: ReportQuery, *, error: str | None = None, status: int = 200
) -> Response:
    filters = query.model_dump(exclude={"page", "per_page", "acted"})
    filters["status"] = filters["status"] or None
    result = service.list_records(ctx, query.paging, **filters)
    shown = {k: str(v) for k, v in filters.items() if v is not None}
    if query.per_page != 50:
        shown["per_page"] = str(query.per_page)
    context = {
        "base": BASE,
        "query": query,
        "result": result,
        "url": f"{REPORTS}?{urlencode(shown)}&",
        "statuses": list(RecordStatus),
        "methods": list(UpgradeMethod),
        "actionable": [s.value for s in service.ACTIONABLE],
        "can_act": ctx.principal is not None and ctx.principal.has(service.ACT),
        "error": error,
    }
    block = "listing" if request.headers.get("hx-request") else None
    return page(request, ctx, "tier_upgrade/reports.html", context, block=block, status_code=status)


@pages.get("/reports")
def reports_page(
    request: Request, query: Annotated[ReportQuery, Query()], ctx: Ctx = staff(service.READ_REPORT)
) -> Response:
    return _report_page(request, ctx, query)


@pages.get("/reports/export")
def export_report(
    query: Annotated[ReportQuery, Query()], ctx: Ctx = staff(service.READ_REPORT)
) -> StreamingResponse:
    """The report as shown (its method and status), all pages, as CSV: the API export's columns."""
    filters = query.model_dump(exclude={"page", "per_page", "acted"})
    filters["status"] = filters["status"] or None
    return csv_export(
        ctx,
        f"tier-upgrade-{query.method.value}.csv",
        RECORD_COLUMNS,
        lambda reader: csv_rows(service.iter_records(reader, **filters)),
    )


@pages.post("/reports/act")
def act_on_records(request: Request, form: FormData, ctx: Ctx = staff(service.ACT)) -> Response:
    """Upgrade or Reject the chosen records: one post, the whole selection or nothing."""
    back = {k: form[k] for k in ("method", "status") if isinstance(form.get(k), str)}
    try:
        query = parse_form(ReportQuery, back)
    except InvalidInput:
        query = ReportQuery()
    action = form.get("action")
    try:
        if action not in ("upgrade", "reject"):
            raise InvalidInput("action", "choose Upgrade or Reject")
        selection = parse_form(SelectionIn, {"record_ids": form.get("record_ids", [])})
        with ctx.session.begin_nested():
            if action == "upgrade":
                service.upgrade_records(ctx, selection.record_ids)
            else:
                service.reject_records(ctx, selection.record_ids)
    except (InvalidInput, Conflict) as error:
        status = 409 if isinstance(error, Conflict) else 422
        return _report_page(request, ctx, query, error=error.message, status=status)
    shown = {"method": query.method.value, "acted": action}
    if query.status:
        shown["status"] = query.status
    return see_other(f"{REPORTS}?{urlencode(shown)}")
