"""The Status System in the back office: the ladder (create, edit, reorder, delete), the rule editor
(a criteria tree builder with a dry run), the panel on a client's page and the reports. Mounted at
/backoffice/plugins/status_system/; every route declares the permission of the matching API route
and calls the same services: pages translate HTTP, the services decide."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from core.sdk import (
    ICONS,
    Conflict,
    Ctx,
    DomainError,
    FormData,
    Id,
    Input,
    InvalidInput,
    ListQuery,
    PageRequest,
    PathId,
    company_currencies,
    field_errors,
    get_client,
    page,
    parse_form,
    refusal_status,
    see_other,
    staff,
)
from plugins.status_system import routes, service, standing
from plugins.status_system.routes import ASSIGN, READ, UPDATE
from plugins.status_system.schemas import (
    AssignIn,
    DeleteIn,
    HistoryQuery,
    OrderIn,
    ReleaseIn,
    ReportQuery,
    StatusIn,
    StatusUpdate,
)

BASE = "/backoffice/plugins/status_system"
STATUSES, REPORTS = f"{BASE}/statuses", f"{BASE}/reports"
CAUSES = ("rule", "demotion", "manual", "lock", "floor", "expiry")

pages = APIRouter()


# --- the ladder --------------------------------------------------------------------------------------


def _metrics(ctx: Ctx) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in service.list_metrics(ctx)}


def _statuses_page(
    request: Request,
    ctx: Ctx,
    *,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    delete_id: int | None = None,
    status: int = 200,
) -> Response:
    statuses = service.list_statuses(ctx)
    counts = {row["status_id"]: row["clients"] for row in service.clients_by_status(ctx)}
    order = [s.id for s in statuses]
    moves = {}
    for i, s in enumerate(statuses):
        up = order[:]
        if i + 1 < len(order):
            up[i], up[i + 1] = up[i + 1], up[i]
        down = order[:]
        if i > 0:
            down[i], down[i - 1] = down[i - 1], down[i]
        moves[s.id] = {"up": up if i + 1 < len(order) else None, "down": down if i > 0 else None}
    context = {
        "base": BASE,
        "statuses": statuses,
        "counts": counts,
        "moves": moves,
        "metrics": _metrics(ctx),
        "groups": dict(service.group_choices(ctx)),
        "can_update": ctx.can(UPDATE),
        "error": error,
        "errors": errors or {},
        "delete_id": delete_id,
    }
    return page(request, ctx, "status_system/statuses.html", context, status_code=status)


@pages.get("/statuses")
def statuses_page(request: Request, ctx: Ctx = staff(READ)) -> Response:
    return _statuses_page(request, ctx)


@pages.post("/statuses/order")
def reorder(request: Request, form: FormData, ctx: Ctx = staff(UPDATE)) -> Response:
    """A Move up / Move down button: the whole ladder in its new order, lowest first."""
    try:
        body = parse_form(OrderIn, {"status_ids": form.get("status_ids", [])})
        with ctx.session.begin_nested():
            service.reorder(ctx, body.status_ids)
    except InvalidInput as error:
        return _statuses_page(request, ctx, error=error.message, status=422)
    moved = form.get("moved")
    return see_other(f"{STATUSES}#status-{moved}" if isinstance(moved, str) and moved.isdigit() else STATUSES)


@pages.post("/statuses/{status_id}/delete")
def delete_status(request: Request, status_id: PathId, form: FormData, ctx: Ctx = staff(UPDATE)) -> Response:
    try:
        body = parse_form(DeleteIn, {k: v for k, v in form.items() if k == "reassign_to"})
        with ctx.session.begin_nested():
            service.delete_status(ctx, status_id, body.reassign_to)
    except (InvalidInput, Conflict) as error:
        errors = field_errors(error) if isinstance(error, InvalidInput) else {}
        return _statuses_page(
            request,
            ctx,
            error=error.message,
            errors=errors,
            delete_id=status_id,
            status=refusal_status(error),
        )
    return see_other(STATUSES)


# --- the status form ---------------------------------------------------------------------------------

TEXTS = ("name", "caption", "description", "colour", "icon", "grants")


def _status_body(form: Mapping[str, Any], *, editing: bool) -> dict[str, Any]:
    body: dict[str, Any] = {name: form.get(name, "" if name not in ("name", "colour", "icon") else None)
                            for name in TEXTS}  # fmt: skip
    if not editing:
        body = {k: v for k, v in body.items() if v is not None}
        if "position" in form:
            body["position"] = form["position"]
    body["visible_to_clients"] = form.get("visible_to_clients") == "true"
    body["group_id"] = form.get("group_id")
    if not editing and body["group_id"] is None:
        del body["group_id"]
    return body


def _status_values(status: Any) -> dict[str, Any]:
    values = {name: getattr(status, name) for name in TEXTS}
    values["visible_to_clients"] = "true" if status.visible_to_clients else ""
    values["group_id"] = status.group_id or ""
    return values


def _form_page(
    request: Request,
    ctx: Ctx,
    *,
    status: Any,
    values: Mapping[str, Any],
    errors: dict[str, str] | None = None,
    code: int = 200,
) -> Response:
    context = {
        "base": BASE,
        "status": status,
        "values": values,
        "errors": errors or {},
        "icons": ICONS,
        "groups": service.group_choices(ctx),
        "count": len(service.list_statuses(ctx)),
    }
    return page(request, ctx, "status_system/status_form.html", context, status_code=code)


@pages.get("/statuses/new")
def new_status_page(request: Request, ctx: Ctx = staff(UPDATE)) -> Response:
    values = {"colour": "#6b7280", "icon": "star", "visible_to_clients": "true"}
    return _form_page(request, ctx, status=None, values=values)


@pages.post("/statuses/new")
def create_status(request: Request, form: FormData, ctx: Ctx = staff(UPDATE)) -> Response:
    try:
        with ctx.session.begin_nested():
            created = service.create_status(ctx, parse_form(StatusIn, _status_body(form, editing=False)))
    except (InvalidInput, Conflict) as error:
        return _form_page(
            request, ctx, status=None, values=form, errors=field_errors(error), code=refusal_status(error)
        )
    return see_other(f"{STATUSES}#status-{created.id}")


@pages.get("/statuses/{status_id}/edit")
def edit_status_page(request: Request, status_id: PathId, ctx: Ctx = staff(UPDATE)) -> Response:
    status = service.get_status(ctx, status_id)
    return _form_page(request, ctx, status=status, values=_status_values(status))


@pages.post("/statuses/{status_id}/edit")
def update_status(request: Request, status_id: PathId, form: FormData, ctx: Ctx = staff(UPDATE)) -> Response:
    status = service.get_status(ctx, status_id)
    try:
        with ctx.session.begin_nested():
            service.update_status(ctx, status_id, parse_form(StatusUpdate, _status_body(form, editing=True)))
    except (InvalidInput, Conflict) as error:
        ctx.session.refresh(status)
        return _form_page(
            request, ctx, status=status, values=form, errors=field_errors(error), code=refusal_status(error)
        )
    return see_other(f"{STATUSES}#status-{status_id}")


# --- the rule editor ---------------------------------------------------------------------------------
#
# The tree is a form whose field names encode each node's place: the root is ``n``, its children
# ``n.0``, ``n.1``…, theirs ``n.0.0``… Each node has ``<id>.kind`` (all, any, not or leaf); a leaf has
# ``<id>.metric``, ``.operator``, ``.value`` (repeated for a list), ``.currency``, ``.window_days``.
# Every action (add a condition or a group, negate, remove, dry run) posts the whole form and gets
# the editor back; the server turns the form into the API's criteria JSON and validates it with the
# API's schema and ``criteria.check``, whose field names (``criteria.all.0.value``) are mapped back
# to the form's node ids.

MAX_FORM_DEPTH = 8
MAX_FORM_CHILDREN = 30
GROUPS = ("all", "any")


def _blank_leaf(metrics: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    first = next(iter(metrics.values()), None)
    metric = first["name"] if first else ""
    operator = first["operators"][0] if first else ""
    return {
        "kind": "leaf",
        "metric": metric,
        "operator": operator,
        "value": "",
        "currency": "",
        "window_days": "",
    }


def _node_from_criteria(tree: Mapping[str, Any]) -> dict[str, Any]:
    for kind in GROUPS:
        if kind in tree:
            return {"kind": kind, "children": [_node_from_criteria(child) for child in tree[kind]]}
    if "not" in tree:
        return {"kind": "not", "children": [_node_from_criteria(tree["not"])]}
    value = tree.get("value")
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, list):
        value = [str(v) for v in value]
    else:
        value = "" if value is None else str(value)
    return {
        "kind": "leaf",
        "metric": str(tree.get("metric", "")),
        "operator": str(tree.get("operator", "")),
        "value": value,
        "currency": str(tree.get("currency") or ""),
        "window_days": str(tree.get("window_days") or ""),
    }


def _node_from_form(form: Mapping[str, Any], fid: str, depth: int = 0) -> dict[str, Any]:
    kind = form.get(f"{fid}.kind")
    if kind in (*GROUPS, "not") and depth < MAX_FORM_DEPTH:
        prefix = f"{fid}."
        indexes = sorted(
            {
                int(head)
                for key in form
                if key.startswith(prefix)
                and (head := key[len(prefix) :].split(".", 1)[0]).isdigit()
                and len(head) <= 3
            }
        )[:MAX_FORM_CHILDREN]
        children = [
            _node_from_form(form, f"{fid}.{i}", depth + 1) for i in indexes if f"{fid}.{i}.kind" in form
        ]
        return {"kind": kind, "fid": fid, "children": children}

    def text(field: str) -> str:
        value = form.get(f"{fid}.{field}", "")
        return value[0] if isinstance(value, list) else str(value)

    value = form.get(f"{fid}.value", "")
    return {
        "kind": "leaf",
        "fid": fid,
        "metric": text("metric"),
        "operator": text("operator"),
        "value": value,
        "currency": text("currency"),
        "window_days": text("window_days"),
    }


def _find(node: dict[str, Any], fid: str, parent: dict[str, Any] | None = None) -> tuple[Any, Any]:
    if node.get("fid") == fid:
        return node, parent
    for child in node.get("children", []):
        found = _find(child, fid, node)
        if found[0] is not None:
            return found
    return None, None


def _apply(root: dict[str, Any], op: str, at: str, metrics: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """One editing action on the tree (a node named by its form id); the new root."""
    node, parent = _find(root, at)
    if node is None:
        return root
    if op in ("add_leaf", "add_group"):
        new = _blank_leaf(metrics)
        added = new if op == "add_leaf" else {"kind": "all", "children": [new]}
        if node["kind"] in GROUPS:
            node["children"].append(added)
        elif parent is None:  # a rule of one condition becomes a group of two
            return {"kind": "all", "children": [node, added]}
    elif op == "negate":
        wrapped = {"kind": "not", "children": [dict(node)]}
        if parent is None:
            return wrapped
        parent["children"][parent["children"].index(node)] = wrapped
    elif op == "unwrap" and node["kind"] == "not" and node["children"]:
        inner = node["children"][0]
        if parent is None:
            return inner
        parent["children"][parent["children"].index(node)] = inner
    elif op == "remove":
        while parent is not None and parent["kind"] == "not":  # a NOT of nothing goes too
            node, parent = parent, _find(root, parent["fid"])[1] if "fid" in parent else None
        if parent is None:
            return {"kind": "all", "children": []}
        parent["children"].remove(node)
    return root


def _renumber(node: dict[str, Any], fid: str = "n", number: str = "") -> dict[str, Any]:
    """Node ids by position, as the editor renders them (and as the next post names them), and
    the numbers staff read ("Condition 2.1")."""
    node["fid"], node["number"] = fid, number
    for i, child in enumerate(node.get("children", [])):
        inner = number if node["kind"] == "not" else f"{number}.{i + 1}".lstrip(".")
        _renumber(child, f"{fid}.{i}", inner)
    return node


def _criteria(
    node: dict[str, Any], metrics: Mapping[str, dict[str, Any]], paths: dict[str, str], path: str = "criteria"
) -> dict[str, Any]:
    """The tree as the API's criteria JSON, typed by each metric's kind; ``paths`` maps each node's
    API path to its form id."""
    paths[path] = node["fid"]
    kind = node["kind"]
    if kind in GROUPS:
        return {
            kind: [_criteria(c, metrics, paths, f"{path}.{kind}.{i}") for i, c in enumerate(node["children"])]
        }
    if kind == "not":
        inner = (
            node["children"][0]
            if node["children"]
            else {"kind": "all", "children": [], "fid": node["fid"] + ".0"}
        )
        return {"not": _criteria(inner, metrics, paths, f"{path}.not")}
    leaf: dict[str, Any] = {"metric": node["metric"], "operator": node["operator"]}
    metric_kind = metrics.get(node["metric"], {}).get("kind")
    value = node["value"]
    if metric_kind in ("choice", "set"):
        leaf["value"] = value if isinstance(value, list) else ([value] if value else [])
    elif metric_kind == "flag":
        if value in ("true", "false"):
            leaf["value"] = value == "true"
    elif value not in ("", []):
        leaf["value"] = value[0] if isinstance(value, list) else value
    if node["currency"]:
        leaf["currency"] = node["currency"]
    if node["window_days"]:
        leaf["window_days"] = node["window_days"]
    return leaf


def _tree_errors(problems: list[tuple[str, str]], paths: Mapping[str, str]) -> dict[str, str]:
    """API field names (``criteria.all.0.value``) as the editor's (``n.0.value``; a node's own
    error under its id)."""
    errors: dict[str, str] = {}
    for name, message in problems:
        if not name.startswith("criteria"):
            errors.setdefault("", message)
            continue
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            fid = paths.get(".".join(parts[:cut]))
            if fid is not None:
                rest = parts[cut:]
                field = rest[0] if len(rest) == 1 and rest[0] not in (*GROUPS, "not") else None
                errors.setdefault(f"{fid}.{field}" if field else fid, message)
                break
        else:
            errors.setdefault("", message)
    return errors


def _validated(
    criteria: dict[str, Any] | None, paths: Mapping[str, str], metrics: Mapping[str, dict[str, Any]]
) -> StatusUpdate:
    """The tree through the API's schema, its errors named as the API names them
    (``criteria.all.0.value``)."""
    return parse_form(StatusUpdate, {"criteria": criteria})


def _editor_page(
    request: Request,
    ctx: Ctx,
    status: Any,
    root: dict[str, Any],
    *,
    manual: bool,
    errors: dict[str, str] | None = None,
    dry_run: dict[str, int] | None = None,
    code: int = 200,
) -> Response:
    metrics = _metrics(ctx)
    context = {
        "base": BASE,
        "status": status,
        "root": _renumber(root),
        "manual": manual,
        "metrics": metrics,
        "currencies": company_currencies(ctx),
        "errors": errors or {},
        "dry_run": dry_run,
        "url": f"{STATUSES}/{status.id}/rule",
    }
    block = "editor" if request.headers.get("hx-request") else None
    return page(request, ctx, "status_system/rule_editor.html", context, block=block, status_code=code)


@pages.get("/statuses/{status_id}/rule")
def rule_editor_page(request: Request, status_id: PathId, ctx: Ctx = staff(UPDATE)) -> Response:
    status = service.get_status(ctx, status_id)
    if status.criteria is None:
        root = {"kind": "all", "children": [_blank_leaf(_metrics(ctx))]}
    else:
        root = _node_from_criteria(status.criteria)
    return _editor_page(request, ctx, status, root, manual=status.criteria is None)


EditorOp = Literal["refresh", "add_leaf", "add_group", "negate", "unwrap", "remove", "dry_run", "save"]


class EditorAction(Input):
    op: EditorOp = "refresh"
    at: str = ""


@pages.post("/statuses/{status_id}/rule")
def rule_editor_action(
    request: Request,
    status_id: PathId,
    form: FormData,
    action: Annotated[EditorAction, Query()],
    ctx: Ctx = staff(UPDATE),
) -> Response:
    """An editing action re-renders the editor; the dry run shows its counts; Save stores the rule
    (criteria null when "by hand only" is chosen) and goes back to the ladder."""
    status = service.get_status(ctx, status_id)
    metrics = _metrics(ctx)
    manual = form.get("mode") == "manual"
    root = _node_from_form(form, "n") if "n.kind" in form else {"kind": "all", "children": []}
    if action.op not in ("refresh", "dry_run", "save"):
        root = _apply(root, action.op, action.at, metrics)
    _renumber(root)
    if action.op not in ("dry_run", "save"):
        return _editor_page(request, ctx, status, root, manual=manual)
    paths: dict[str, str] = {}
    criteria = None if manual else _criteria(root, metrics, paths)
    try:
        data = _validated(criteria, paths, metrics)
        if action.op == "dry_run":
            tree = (
                data.criteria.model_dump(mode="json", by_alias=True, exclude_none=True)
                if data.criteria
                else None
            )
            counts = service.dry_run(ctx, status_id, tree)
            return _editor_page(request, ctx, status, root, manual=manual, dry_run=counts)
        with ctx.session.begin_nested():
            service.update_status(ctx, status_id, data)
    except (InvalidInput, Conflict) as error:
        problems = [(item.field, item.message) for item in error.fields] or [("", error.message)]
        errors = _tree_errors(problems, paths)
        return _editor_page(
            request, ctx, status, root, manual=manual, errors=errors, code=refusal_status(error)
        )
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": f"{STATUSES}#status-{status_id}"})
    return see_other(f"{STATUSES}#status-{status_id}")


# --- the client panel --------------------------------------------------------------------------------


def _panel_values(ctx: Ctx, client_id: int) -> dict[str, Any]:
    history = service.list_history(ctx, HistoryQuery(client_id=client_id), PageRequest(page=1, per_page=10))
    return {
        "base": BASE,
        "client_id": client_id,
        "standing": standing.standing_of(ctx, client_id),
        "history": history.items,
        "history_total": history.total,
        "statuses": service.list_statuses(ctx),
        "errors": {},
        "error": None,
        "values": {},
    }


def client_panel(ctx: Ctx, client: Any) -> dict[str, Any]:
    """The panel on a client's page (``backoffice.client_panel``): the host's page already decided
    the caller may see this client."""
    return _panel_values(ctx, client.id)


def _panel_page(
    request: Request,
    ctx: Ctx,
    client_id: int,
    *,
    error: DomainError | None = None,
    values: Mapping[str, Any] | None = None,
    code: int = 200,
) -> Response:
    client = get_client(ctx, client_id)  # 404 outside the caller's data permissions
    context = {**_panel_values(ctx, client_id), "client": client, "values": values or {}}
    if error is not None:
        context["errors"] = field_errors(error) if isinstance(error, InvalidInput) else {}
        context["error"] = error.message
    block = "panel" if request.headers.get("hx-request") else None
    return page(request, ctx, "status_system/client_status.html", context, block=block, status_code=code)


@pages.get("/clients/{client_id}")
def client_status_page(request: Request, client_id: PathId, ctx: Ctx = staff(READ)) -> Response:
    return _panel_page(request, ctx, client_id)


def _after_panel_action(request: Request, ctx: Ctx, client_id: int) -> Response:
    if request.headers.get("hx-request"):
        return _panel_page(request, ctx, client_id)
    return see_other(f"/backoffice/clients/{client_id}#status-panel")


@pages.post("/clients/{client_id}/assign")
def assign(request: Request, client_id: PathId, form: FormData, ctx: Ctx = staff(ASSIGN)) -> Response:
    body = {k: form[k] for k in ("status_id", "mode", "reason", "expires_at") if k in form}
    if isinstance(body.get("expires_at"), str):
        zone = service.broker_zone(ctx)
        try:
            moment = datetime.fromisoformat(body["expires_at"])
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ZoneInfo(zone))
            body["expires_at"] = moment.isoformat()
        except ValueError:
            pass  # refused by the schema, with its message
    try:
        data = parse_form(AssignIn, body)
        with ctx.session.begin_nested():
            standing.assign(ctx, client_id, data.status_id, data.mode, data.reason, data.expires_at)
    except (InvalidInput, Conflict) as error:
        return _panel_page(request, ctx, client_id, error=error, values=form, code=refusal_status(error))
    return _after_panel_action(request, ctx, client_id)


@pages.post("/clients/{client_id}/release")
def release(request: Request, client_id: PathId, form: FormData, ctx: Ctx = staff(ASSIGN)) -> Response:
    try:
        data = parse_form(ReleaseIn, {k: form[k] for k in ("what", "reason") if k in form})
        with ctx.session.begin_nested():
            standing.release(ctx, client_id, data.what, data.reason)
    except (InvalidInput, Conflict) as error:
        return _panel_page(request, ctx, client_id, error=error, code=refusal_status(error))
    return _after_panel_action(request, ctx, client_id)


# --- the reports -------------------------------------------------------------------------------------


Blank = Literal[""]


class ReportsQuery(ListQuery):
    """The reports page's query: the changes' bucket and days (in the broker's zone), and the
    history's filters; the filter form sends a filter left on "any" empty."""

    bucket: Literal["day", "week", "month"] = "day"
    since: date | Blank | None = None
    until: date | Blank | None = None
    cause: Literal["rule", "demotion", "manual", "lock", "floor", "expiry"] | Blank | None = None
    status_id: Id | Blank | None = None
    client_id: Id | Blank | None = None

    def given(self, name: str) -> Any:
        value = getattr(self, name)
        return None if value == "" else value


def _moment(day: date | str | None, zone: str) -> datetime | None:
    """A day typed in the broker's zone as its first moment (UTC)."""
    if not isinstance(day, date):
        return None
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _history_query(query: ReportsQuery) -> HistoryQuery:
    return HistoryQuery(
        cause=query.given("cause"),
        status_id=query.given("status_id"),
        client_id=query.given("client_id"),
        page=query.page,
        per_page=query.per_page,
    )


@pages.get("/reports")
def reports_page(
    request: Request, query: Annotated[ReportsQuery, Query()], ctx: Ctx = staff(READ)
) -> Response:
    zone = service.broker_zone(ctx)
    report = ReportQuery(
        since=_moment(query.since, zone), until=_moment(query.until, zone), bucket=query.bucket
    )
    history_query = _history_query(query)
    history = service.list_history(ctx, history_query, history_query.paging)
    filters = {k: str(v) for k, v in query.filters().items() if v not in (None, "")}
    if query.per_page != 50:
        filters["per_page"] = str(query.per_page)
    changes_params = {"bucket": report.bucket}
    for name in ("since", "until"):
        moment = getattr(report, name)
        if moment is not None:
            changes_params[name] = moment.isoformat()
    history_params = {k: filters[k] for k in ("cause", "status_id", "client_id") if k in filters}
    context = {
        "base": BASE,
        "query": query,
        "by_status": service.clients_by_status(ctx),
        "changes": service.changes_over_time(ctx, report.since, report.until, report.bucket),
        "history": history,
        "statuses": service.list_statuses(ctx),
        "causes": CAUSES,
        "url": f"{REPORTS}?{urlencode(filters)}&",
        "changes_csv": f"{REPORTS}/changes.csv?{urlencode(changes_params)}",
        "history_csv": f"{REPORTS}/history.csv?{urlencode(history_params)}",
    }
    block = "history" if request.headers.get("hx-request") else None
    return page(request, ctx, "status_system/reports.html", context, block=block)


# The exports are the API's (same columns, same service queries, data permissions applied), served
# under the back office so that the page's session cookie (Path /backoffice) signs them in.


@pages.get("/reports/by-status.csv")
def export_by_status(ctx: Ctx = staff(READ)) -> StreamingResponse:
    return routes.export_by_status(ctx)


@pages.get("/reports/changes.csv")
def export_changes(query: Annotated[ReportQuery, Query()], ctx: Ctx = staff(READ)) -> StreamingResponse:
    return routes.export_changes(query, ctx)


@pages.get("/reports/history.csv")
def export_history(query: Annotated[HistoryQuery, Query()], ctx: Ctx = staff(READ)) -> StreamingResponse:
    return routes.export_history(query, ctx)
