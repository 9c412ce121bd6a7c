"""Settings, System logs: the operation log and the login log, with the API's filters, paging
and CSV exports (the API's own export code). Both show a user only entries about clients within
their data permissions (the rule lives in ``core.audit.service``)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from core.api.deps import staff
from core.audit import service
from core.audit.routes import LoginQuery, OperationQuery, login_log_csv, operation_log_csv
from core.context import Ctx
from core.web.pages import page
from core.web.routes.query_forms import query_form, query_string
from core.web.templating import tenant_brief

router = APIRouter(prefix="/backoffice/logs")

ACTIONS = ("create", "update", "delete")
ACTOR_KINDS = ("staff", "api_key", "client", "operator", "system")


class OperationFilters(OperationQuery):
    """The API's operation-log query from the filter form, whose period is given in days of the
    broker's time zone (the first and the last day, both included)."""

    at_from: date | None = None  # type: ignore[assignment]
    at_to: date | None = None  # type: ignore[assignment]

    def to_log_filter(self, zone: str) -> service.LogFilter:
        def start(day: date) -> datetime:
            return datetime.combine(day, time.min, ZoneInfo(zone))

        values: dict[str, Any] = self.filters()
        values["at_from"] = start(self.at_from) if self.at_from else None
        values["at_to"] = start(self.at_to + timedelta(days=1)) if self.at_to else None
        return service.LogFilter(**values)


OPERATION_FILTERS = query_form(OperationFilters)
LOGIN_FILTERS = query_form(LoginQuery)


def _zone(ctx: Ctx) -> str:
    return tenant_brief(ctx).timezone


@router.get("")
def operation_log(
    request: Request, query: OperationFilters = OPERATION_FILTERS, ctx: Ctx = staff("audit.read")
) -> Response:
    filters = query.filters()
    result = service.list_operations(ctx, query.to_log_filter(_zone(ctx)), query.paging)
    qs = query_string(filters)
    values = {
        "result": result,
        "filters": filters,
        "url": "/backoffice/logs?" + query_string({**filters, "per_page": query.per_page}),
        "export": "/backoffice/logs/export.csv" + ("?" + qs.rstrip("&") if qs else ""),
        "actions": ACTIONS,
        "actor_kinds": ACTOR_KINDS,
        "tab": "operations",
    }
    block = "listing" if request.headers.get("hx-request") else None
    return page(request, ctx, "backoffice/logs/operations.html", values, block=block)


@router.get("/export.csv")
def export_operation_log(
    query: OperationFilters = OPERATION_FILTERS, ctx: Ctx = staff("audit.read")
) -> StreamingResponse:
    return operation_log_csv(ctx, query.to_log_filter(_zone(ctx)))


@router.get("/logins")
def login_log(
    request: Request, query: LoginQuery = LOGIN_FILTERS, ctx: Ctx = staff("audit.read")
) -> Response:
    filters = query.filters()
    result = service.list_logins(ctx, query.to_filter(), query.paging)
    qs = query_string(filters)
    values = {
        "result": result,
        "filters": filters,
        "url": "/backoffice/logs/logins?" + query_string({**filters, "per_page": query.per_page}),
        "export": "/backoffice/logs/logins/export.csv" + ("?" + qs.rstrip("&") if qs else ""),
        "tab": "logins",
    }
    block = "listing" if request.headers.get("hx-request") else None
    return page(request, ctx, "backoffice/logs/logins.html", values, block=block)


@router.get("/logins/export.csv")
def export_login_log(query: LoginQuery = LOGIN_FILTERS, ctx: Ctx = staff("audit.read")) -> StreamingResponse:
    return login_log_csv(ctx, query.to_filter())
