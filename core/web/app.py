"""Mounting the pages on the application: core's page routers, every plugin's, and the vendored
front-end files under /static. Every page router gets the CSRF check and stays out of the OpenAPI
schema (pages answer HTML); the guard then checks each page's access like any API route's."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from core.access.permissions import PermissionRegistry
from core.api.guard import declare_router
from core.plugins.host import PluginHost
from core.web.routes import (
    backoffice,
    clients,
    console,
    deposits,
    groups,
    kyc,
    logs,
    marketplace,
    portal,
    portal_account,
    portal_money,
    portal_prop,
    promotion,
    ranks,
    roles,
    signin,
    teams,
    users,
)
from core.web.sessions import require_csrf
from core.web.templating import ASSETS, build_environment

CORE_PAGES: list[APIRouter] = [
    signin.router,
    backoffice.router,
    portal.router,
    console.router,
    marketplace.router,
    users.router,
    roles.router,
    teams.router,
    logs.router,
    clients.router,
    deposits.router,
    kyc.router,
    promotion.router,
    groups.router,
    ranks.router,
    portal_account.router,
    portal_prop.router,
    portal_money.router,
]


class Assets(StaticFiles):
    """The vendored files. Those whose name carries their version never change: cache them for
    a year; our own small files are revalidated."""

    async def get_response(self, path: str, scope: Scope):  # type: ignore[no-untyped-def]
        response = await super().get_response(path, scope)
        pinned = any(ch.isdigit() for ch in path.split(".")[0])
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if pinned else "no-cache"
        return response


def include_pages(app: FastAPI, router: APIRouter, prefix: str = "") -> None:
    app.include_router(router, prefix=prefix, include_in_schema=False, dependencies=[Depends(require_csrf)])


def mount_pages(app: FastAPI, registry: PermissionRegistry, host: PluginHost) -> None:
    app.state.pages = build_environment(host)
    app.mount("/static", Assets(directory=ASSETS), name="static")
    for router in CORE_PAGES:
        declare_router(router, registry, pages=True)
        include_pages(app, router)
    for name in sorted(host.plugins):
        plugin = host.plugins[name]
        if plugin.backoffice_page_router is not None:
            include_pages(app, plugin.backoffice_page_router, f"/backoffice/plugins/{name}")
        if plugin.portal_page_router is not None:
            include_pages(app, plugin.portal_page_router, f"/portal/plugins/{name}")
