"""The account managers' console: the tenants, each tenant's modules (installing restricted ones,
licences, enabling and disabling), and the plugin-health view across tenants and per tenant with
replay of failed events. Every action calls the marketplace's own services, for the tenant named
in the URL (``as_tenant``), as the platform's API routes do."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from core.api.deps import Paging, PathId, PathModule, operator
from core.context import Ctx
from core.db.paging import PageRequest
from core.errors import DomainError
from core.failures import service as failure_store
from core.i18n import N_
from core.marketplace import service
from core.marketplace.schemas import LicenceIn, OperatorInstallIn
from core.plugins.dispatch import replay_failure
from core.scheduler import service as scheduler
from core.schemas import ModuleName
from core.tenancy import service as tenancy
from core.web.forms import FormData, field_errors, parse_form
from core.web.i18n import gettext
from core.web.pages import page
from core.web.routes.marketplace import ordered

router = APIRouter(prefix="/platform")

NOTICES = {
    "installed": N_("The module is installed for the tenant."),
    "licence": N_("The licence is renewed."),
    "enabled": N_("The module is enabled."),
    "disabled": N_("The module is disabled."),
    "replayed": N_("The event was delivered again."),
    "failed_again": N_("The event failed again: see the replay error."),
}
Notice = Annotated[Literal[tuple(NOTICES)] | None, Query()]  # type: ignore[valid-type]
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _end_of_day(value: Any, zone: str) -> Any:
    """A date from a date input as the end of that day in the tenant's time zone (an aware
    moment, as the API takes it); anything else as it came, for the schema to refuse by name."""
    if isinstance(value, str) and DAY.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return value
        return datetime.combine(day, time(23, 59, 59), ZoneInfo(zone)).isoformat()
    return value


def _flash(notice: str | None) -> str | None:
    return gettext(NOTICES[notice]) if notice else None


@router.get("/")
def tenants(request: Request, ctx: Ctx = operator()) -> Response:
    return page(request, ctx, "platform/tenants.html", {"tenants": tenancy.list_tenants(ctx)})


@router.get("/tenants/{tenant_id}")
def tenant(request: Request, tenant_id: PathId, notice: Notice = None, ctx: Ctx = operator()) -> Response:
    tenant_ctx = tenancy.as_tenant(ctx, tenant_id)
    return page(
        request,
        tenant_ctx,
        "platform/tenant.html",
        {
            "subject": tenancy.get_tenant(ctx.session, tenant_id),
            "entries": ordered(service.catalog(tenant_ctx)),
            "flash": _flash(notice),
        },
    )


def _module_page(
    request: Request,
    ctx: Ctx,
    tenant_id: int,
    plugin: str,
    *,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    posted: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    tenant_ctx = tenancy.as_tenant(ctx, tenant_id)
    entry = service.entry(tenant_ctx, plugin)
    suggested = None
    m = entry.manifest
    if m is not None and not m.is_free:
        start = entry.licence_expires_at or datetime.now().astimezone()
        start = max(start, datetime.now().astimezone())
        suggested = (start + service.PERIODS[m.price["period"]]).date().isoformat()
    installed = {e.name for e in service.catalog(tenant_ctx) if e.installed_version is not None}
    missing = [r.name for r in (m.requires if m else []) if r.name not in installed]
    return page(
        request,
        tenant_ctx,
        "platform/module.html",
        {
            "subject": tenancy.get_tenant(ctx.session, tenant_id),
            "entry": entry,
            "suggested": suggested,
            "missing": missing,
            "errors": errors or {},
            "error": error,
            "posted": posted or {},
            "flash": _flash(notice),
        },
        status_code=status_code,
    )


@router.get("/tenants/{tenant_id}/modules/{plugin}")
def tenant_module(
    request: Request, tenant_id: PathId, plugin: PathModule, notice: Notice = None, ctx: Ctx = operator()
) -> Response:
    return _module_page(request, ctx, tenant_id, plugin, notice=notice)


def _attempt(
    request: Request, ctx: Ctx, tenant_id: int, plugin: str, action: Any, done: str, posted: dict[str, Any]
) -> Response:
    """Run ``action`` for the tenant in a savepoint; on a refusal show the module's page with it."""
    tenant_ctx = tenancy.as_tenant(ctx, tenant_id)
    try:
        with ctx.session.begin_nested():
            action(tenant_ctx)
    except DomainError as refusal:
        if refusal.status == 404 and not refusal.fields:
            raise
        errors = field_errors(refusal) if refusal.fields else {}
        return _module_page(
            request, ctx, tenant_id, plugin, errors=errors, error=refusal.message, posted=posted,
            status_code=refusal.status,
        )  # fmt: skip
    return RedirectResponse(f"/platform/tenants/{tenant_id}/modules/{plugin}?notice={done}", status_code=303)


@router.post("/tenants/{tenant_id}/modules/{plugin}/install")
def install(
    request: Request, tenant_id: PathId, plugin: PathModule, form: FormData, ctx: Ctx = operator()
) -> Response:
    zone = tenancy.get_tenant(ctx.session, tenant_id).timezone
    data = dict(form)
    if "licence_expires_at" in data:
        data["licence_expires_at"] = _end_of_day(data["licence_expires_at"], zone)

    def action(tenant_ctx: Ctx) -> None:
        body = parse_form(OperatorInstallIn, data)
        service.install(
            tenant_ctx,
            plugin,
            with_requirements=body.with_requirements,
            licence_expires_at=body.licence_expires_at,
        )

    return _attempt(request, ctx, tenant_id, plugin, action, "installed", form)


@router.post("/tenants/{tenant_id}/modules/{plugin}/licence")
def licence(
    request: Request, tenant_id: PathId, plugin: PathModule, form: FormData, ctx: Ctx = operator()
) -> Response:
    zone = tenancy.get_tenant(ctx.session, tenant_id).timezone
    data = {**form, "expires_at": _end_of_day(form.get("expires_at"), zone)} if "expires_at" in form else form

    def action(tenant_ctx: Ctx) -> None:
        body = parse_form(LicenceIn, data)
        service.set_licence(tenant_ctx, plugin, body.expires_at)

    return _attempt(request, ctx, tenant_id, plugin, action, "licence", form)


@router.post("/tenants/{tenant_id}/modules/{plugin}/enable")
def enable(request: Request, tenant_id: PathId, plugin: PathModule, ctx: Ctx = operator()) -> Response:
    return _attempt(
        request, ctx, tenant_id, plugin, lambda t: service.set_enabled(t, plugin, True), "enabled", {}
    )


@router.post("/tenants/{tenant_id}/modules/{plugin}/disable")
def disable(request: Request, tenant_id: PathId, plugin: PathModule, ctx: Ctx = operator()) -> Response:
    return _attempt(
        request, ctx, tenant_id, plugin, lambda t: service.set_enabled(t, plugin, False), "disabled", {}
    )


# --- plugin health ------------------------------------------------------------------------------------


@router.get("/health")
def health(request: Request, ctx: Ctx = operator()) -> Response:
    return page(request, ctx, "platform/health.html", {"rows": service.platform_health(ctx)})


def _tenant_health(
    request: Request,
    ctx: Ctx,
    tenant_id: int,
    paging: PageRequest,
    plugin: str | None,
    resolved: str | None,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    tenant_ctx = tenancy.as_tenant(ctx, tenant_id)
    flag = None if resolved is None else resolved == "true"
    result = failure_store.list_failures(tenant_ctx, paging, plugin=plugin, resolved=flag)
    query = "&".join(f"{k}={v}" for k, v in (("plugin", plugin), ("resolved", resolved)) if v)
    base = f"/platform/tenants/{tenant_id}/health"
    context = {
        "subject": tenancy.get_tenant(ctx.session, tenant_id),
        "result": result,
        "plugin": plugin,
        "resolved": resolved,
        "modules": [e.name for e in service.catalog(tenant_ctx) if e.installed_version is not None],
        "deferred": scheduler.deferred_backlog(tenant_ctx),
        "url": f"{base}?{query + '&' if query else ''}",
        "flash": _flash(notice),
        "error": error,
    }
    block = "listing" if request.headers.get("hx-request") else None
    return page(request, tenant_ctx, "platform/failures.html", context, block=block, status_code=status_code)


@router.get("/tenants/{tenant_id}/health")
def tenant_health(
    request: Request,
    tenant_id: PathId,
    paging: Paging,
    plugin: Annotated[ModuleName | None, Query()] = None,
    resolved: Annotated[Literal["true", "false"] | None, Query()] = None,
    notice: Notice = None,
    ctx: Ctx = operator(),
) -> Response:
    return _tenant_health(request, ctx, tenant_id, paging, plugin, resolved, notice=notice)


@router.post("/tenants/{tenant_id}/failures/{failure_id}/replay")
def replay(request: Request, tenant_id: PathId, failure_id: PathId, ctx: Ctx = operator()) -> Response:
    tenant_ctx = tenancy.as_tenant(ctx, tenant_id)
    try:
        with ctx.session.begin_nested():
            failure = replay_failure(tenant_ctx, failure_id)
    except DomainError as refusal:
        if refusal.status == 404:
            raise
        return _tenant_health(
            request,
            ctx,
            tenant_id,
            PageRequest(),
            None,
            None,
            error=refusal.message,
            status_code=refusal.status,
        )
    outcome = "replayed" if failure.resolved else "failed_again"
    return RedirectResponse(f"/platform/tenants/{tenant_id}/health?notice={outcome}", status_code=303)
