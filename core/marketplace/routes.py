"""The marketplace: a tenant's catalog and modules (back office), and operators' side of it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from core.api.deps import PathId, PathModule, operator, portal, staff
from core.context import Ctx
from core.failures import service as failure_store
from core.marketplace import service, settings
from core.marketplace.schemas import (
    CatalogEntryOut,
    FailureOut,
    ImpactOut,
    InstallIn,
    LicenceIn,
    OperatorInstallIn,
    PluginStatusOut,
    PortalPageOut,
    PurgedOut,
    PurgeIn,
    SettingsIn,
    SettingsOut,
    UninstallIn,
)
from core.plugins.dispatch import enabled_plugins, replay_failure
from core.scheduler import service as scheduler
from core.scheduler.routes import DeferredOut
from core.schemas import ListQuery, ModuleName, Page
from core.tenancy.service import as_tenant

router = APIRouter(tags=["marketplace"])
platform_router = APIRouter(tags=["platform"])
portal_router = APIRouter(tags=["portal"])


class FailureQuery(ListQuery):
    plugin: ModuleName | None = None
    resolved: bool | None = None


def _entry(ctx: Ctx, name: str) -> CatalogEntryOut:
    return CatalogEntryOut.of(service.entry(ctx, name))


# --- a tenant's own marketplace ----------------------------------------------------------------


@router.get(
    "/marketplace", response_model=list[CatalogEntryOut], summary="Every module, with my company's state"
)
def catalog(ctx: Ctx = staff("marketplace.read")) -> list[CatalogEntryOut]:
    return [CatalogEntryOut.of(e) for e in service.catalog(ctx)]


@router.get(
    "/marketplace/failures",
    response_model=Page[FailureOut],
    summary="Modules' recent failures (plugin health)",
)
def failures(
    query: Annotated[FailureQuery, Query()], ctx: Ctx = staff("marketplace.read")
) -> Page[FailureOut]:
    return Page.of(failure_store.list_failures(ctx, query.paging, **query.filters()), FailureOut)


@router.post(
    "/marketplace/failures/{failure_id}/replay",
    response_model=FailureOut,
    summary="Deliver a failed event to its module again",
)
def replay(failure_id: PathId, ctx: Ctx = staff("marketplace.manage")) -> FailureOut:
    return FailureOut.model_validate(replay_failure(ctx, failure_id))


@router.get("/marketplace/{plugin}", response_model=CatalogEntryOut)
def module(plugin: PathModule, ctx: Ctx = staff("marketplace.read")) -> CatalogEntryOut:
    return _entry(ctx, plugin)


@router.post(
    "/marketplace/{plugin}/install",
    response_model=CatalogEntryOut,
    summary="Obtain a module (self-service modules only)",
    description="The module's permissions go to the Administrator role. Modules marked for account "
    "managers are installed by them (403 here).",
)
def install(
    plugin: PathModule, body: InstallIn | None = None, ctx: Ctx = staff("marketplace.install")
) -> CatalogEntryOut:
    service.install(ctx, plugin, with_requirements=body.with_requirements if body else False)
    return _entry(ctx, plugin)


@router.post("/marketplace/{plugin}/enable", response_model=CatalogEntryOut)
def enable(plugin: PathModule, ctx: Ctx = staff("marketplace.manage")) -> CatalogEntryOut:
    service.set_enabled(ctx, plugin, True)
    return _entry(ctx, plugin)


@router.post(
    "/marketplace/{plugin}/disable",
    response_model=CatalogEntryOut,
    description="Keeps data and settings; stops the module's routes, events and jobs.",
)
def disable(plugin: PathModule, ctx: Ctx = staff("marketplace.manage")) -> CatalogEntryOut:
    service.set_enabled(ctx, plugin, False)
    return _entry(ctx, plugin)


@router.get(
    "/marketplace/{plugin}/uninstall-impact",
    response_model=ImpactOut,
    summary="What uninstalling would hide, stop and take away",
)
def uninstall_impact(plugin: PathModule, ctx: Ctx = staff("marketplace.manage")) -> ImpactOut:
    return ImpactOut.of(service.uninstall_impact(ctx, plugin))


@router.post(
    "/marketplace/{plugin}/uninstall",
    response_model=CatalogEntryOut,
    description="Keeps the data, so a reinstall restores it. Refused while installed modules require "
    "it, unless `cascade`.",
)
def uninstall(
    plugin: PathModule, body: UninstallIn | None = None, ctx: Ctx = staff("marketplace.manage")
) -> CatalogEntryOut:
    service.uninstall(ctx, plugin, cascade=body.cascade if body else False)
    return _entry(ctx, plugin)


@router.post(
    "/marketplace/{plugin}/purge",
    response_model=PurgedOut,
    summary="Delete an uninstalled module's data for good",
)
def purge(plugin: PathModule, body: PurgeIn, ctx: Ctx = staff("marketplace.manage")) -> PurgedOut:
    _confirm(plugin, body)
    return PurgedOut(plugin=plugin, rows_deleted=service.purge(ctx, plugin))


@router.get("/marketplace/{plugin}/settings", response_model=SettingsOut, response_model_by_alias=True)
def get_settings(plugin: PathModule, ctx: Ctx = staff("marketplace.read")) -> SettingsOut:
    values, schema = settings.get_settings(ctx, plugin)
    return SettingsOut(plugin=plugin, values=values, schema=schema)


@router.put(
    "/marketplace/{plugin}/settings",
    response_model=SettingsOut,
    response_model_by_alias=True,
    description="Validated against the module's settings schema. Send a secret back masked, or leave "
    "it out, to keep it.",
)
def put_settings(plugin: PathModule, body: SettingsIn, ctx: Ctx = staff("marketplace.manage")) -> SettingsOut:
    values = settings.update_settings(ctx, plugin, body.values)
    return SettingsOut(plugin=plugin, values=values, schema=settings.get_settings(ctx, plugin)[1])


def _confirm(plugin: str, body: PurgeIn) -> None:
    from core.errors import InvalidInput

    if body.confirm != plugin:
        raise InvalidInput("confirm", f"type the module's name ({plugin}) to confirm")


# --- platform operators --------------------------------------------------------------------------


@platform_router.get(
    "/platform/plugins",
    response_model=list[PluginStatusOut],
    summary="Every plugin this host found, and why any is broken",
)
def plugins(ctx: Ctx = operator()) -> list[PluginStatusOut]:
    host = ctx.runtime.plugins
    rows = [
        PluginStatusOut(
            name=p.name,
            version=str(p.manifest.version),
            state="loaded",
            reason=None,
            distribution=p.distribution,
        )
        for p in host.plugins.values()
    ]
    rows += [
        PluginStatusOut(
            name=b.name,
            version=str(b.manifest.version) if b.manifest else None,
            state=b.state,
            reason=b.reason,
            distribution=b.distribution,
        )
        for b in host.broken.values()
    ]
    return sorted(rows, key=lambda r: r.name)


@platform_router.get("/platform/tenants/{tenant_id}/marketplace", response_model=list[CatalogEntryOut])
def tenant_catalog(tenant_id: PathId, ctx: Ctx = operator()) -> list[CatalogEntryOut]:
    return [CatalogEntryOut.of(e) for e in service.catalog(as_tenant(ctx, tenant_id))]


@platform_router.post(
    "/platform/tenants/{tenant_id}/marketplace/{plugin}/install",
    response_model=CatalogEntryOut,
    summary="Install a module for a tenant (any install policy)",
)
def operator_install(
    tenant_id: PathId, plugin: PathModule, body: OperatorInstallIn | None = None, ctx: Ctx = operator()
) -> CatalogEntryOut:
    tenant_ctx = as_tenant(ctx, tenant_id)
    body = body or OperatorInstallIn()
    service.install(
        tenant_ctx,
        plugin,
        with_requirements=body.with_requirements,
        licence_expires_at=body.licence_expires_at,
    )
    return _entry(tenant_ctx, plugin)


@platform_router.post(
    "/platform/tenants/{tenant_id}/marketplace/{plugin}/licence",
    response_model=CatalogEntryOut,
    summary="Renew a paid module's licence",
)
def licence(tenant_id: PathId, plugin: PathModule, body: LicenceIn, ctx: Ctx = operator()) -> CatalogEntryOut:
    tenant_ctx = as_tenant(ctx, tenant_id)
    service.set_licence(tenant_ctx, plugin, body.expires_at)
    return _entry(tenant_ctx, plugin)


@platform_router.post(
    "/platform/tenants/{tenant_id}/marketplace/{plugin}/enable", response_model=CatalogEntryOut
)
def operator_enable(tenant_id: PathId, plugin: PathModule, ctx: Ctx = operator()) -> CatalogEntryOut:
    tenant_ctx = as_tenant(ctx, tenant_id)
    service.set_enabled(tenant_ctx, plugin, True)
    return _entry(tenant_ctx, plugin)


@platform_router.post(
    "/platform/tenants/{tenant_id}/marketplace/{plugin}/disable", response_model=CatalogEntryOut
)
def operator_disable(tenant_id: PathId, plugin: PathModule, ctx: Ctx = operator()) -> CatalogEntryOut:
    tenant_ctx = as_tenant(ctx, tenant_id)
    service.set_enabled(tenant_ctx, plugin, False)
    return _entry(tenant_ctx, plugin)


@platform_router.post(
    "/platform/tenants/{tenant_id}/marketplace/{plugin}/uninstall", response_model=CatalogEntryOut
)
def operator_uninstall(
    tenant_id: PathId, plugin: PathModule, body: UninstallIn | None = None, ctx: Ctx = operator()
) -> CatalogEntryOut:
    tenant_ctx = as_tenant(ctx, tenant_id)
    service.uninstall(tenant_ctx, plugin, cascade=body.cascade if body else False)
    return _entry(tenant_ctx, plugin)


@platform_router.post("/platform/tenants/{tenant_id}/marketplace/{plugin}/purge", response_model=PurgedOut)
def operator_purge(tenant_id: PathId, plugin: PathModule, body: PurgeIn, ctx: Ctx = operator()) -> PurgedOut:
    _confirm(plugin, body)
    return PurgedOut(plugin=plugin, rows_deleted=service.purge(as_tenant(ctx, tenant_id), plugin))


@platform_router.get(
    "/platform/tenants/{tenant_id}/plugin-failures",
    response_model=Page[FailureOut],
    summary="A tenant's module failures",
)
def tenant_failures(
    tenant_id: PathId, query: Annotated[FailureQuery, Query()], ctx: Ctx = operator()
) -> Page[FailureOut]:
    return Page.of(
        failure_store.list_failures(as_tenant(ctx, tenant_id), query.paging, **query.filters()), FailureOut
    )


@platform_router.get(
    "/platform/tenants/{tenant_id}/deferred-work",
    response_model=list[DeferredOut],
    summary="A tenant's deferred work waiting, by module and task",
)
def tenant_deferred_work(tenant_id: PathId, ctx: Ctx = operator()) -> list[DeferredOut]:
    groups = scheduler.deferred_backlog(as_tenant(ctx, tenant_id))
    return [DeferredOut.model_validate(group) for group in groups]


# --- the client portal ---------------------------------------------------------------------------


@portal_router.get(
    "/portal/modules",
    response_model=list[PortalPageOut],
    summary="Pages that my broker's modules add to the portal",
)
def portal_pages(ctx: Ctx = portal()) -> list[PortalPageOut]:
    host = ctx.runtime.plugins
    return [
        PortalPageOut(plugin=name, **page)
        for name in sorted(enabled_plugins(ctx))
        for page in host.plugins[name].portal_pages
    ]
