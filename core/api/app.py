"""The FastAPI application: core routers under /api/v1, errors as JSON, default deny."""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from fastapi import APIRouter, FastAPI
from sqlalchemy import text

from core import __version__
from core.access.routes import router as access_router
from core.api import errors
from core.api.deps import public
from core.api.guard import declare_router, guard_routes
from core.api.routing import index_routes
from core.audit.routes import router as audit_router
from core.context import Ctx
from core.crm.routes import clients, deposits, groups, kyc, promotion, prop, ranks, trading_accounts
from core.marketplace import routes as marketplace
from core.marketplace.state import StateWatcher
from core.notify.routes import router as notify_router
from core.portal.routes import router as portal_router
from core.runtime import Runtime
from core.scheduler.routes import router as jobs_router
from core.tenancy.routes import router as tenancy_router
from core.web.app import mount_pages

API_PREFIX = "/api/v1"

# How long a thread may keep the GIL while another waits for it (CPython's default is 5 ms). Request
# threads mostly wait on the database and come back to the interpreter a few times a request;
# behind a CPU-bound one (a CSV export being written out) each return waited up to 5 ms. The cost
# is a few microseconds per switch, paid only while threads contend.
SWITCH_INTERVAL_S = 0.0005


@contextmanager
def tuned_for_requests() -> Iterator[None]:
    """The interpreter of a process that serves requests, tuned for their latency while it does.

    The switch interval above; and the objects alive once the app is up (modules, models, routes,
    schemas: some 330,000) are frozen out of the garbage collector's reach. They live as long as
    the process anyway, and a full collection walking them stopped every thread of the worker for
    ~170 ms: the portal's slowest pages under load (bench/load.py) came in bursts, one per full
    collection. Building the app leaves no garbage to freeze with them (a collection right after
    finds none). Both are undone on the way out (the test suite runs many apps in one process).
    """
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        sys.setswitchinterval(switch_interval)


TAGS = [
    {"name": "health", "description": "Liveness of the service and its database."},
    {"name": "auth", "description": "Back-office sign-in and the signed-in user's profile."},
    {"name": "platform", "description": "Account managers: tenants across the platform."},
    {"name": "company", "description": "The tenant's company profile."},
    {"name": "access", "description": "Users, roles with data permissions, teams and Open API keys."},
    {"name": "clients", "description": "Traders and IBs, their referral tree and the client report."},
    {"name": "client groups", "description": "Client groups."},
    {"name": "ranks", "description": "Ranks and their ordered tiers."},
    {"name": "deposits", "description": "Deposits: portal requests and manual entries, approval."},
    {"name": "trading accounts", "description": "Clients' trading accounts."},
    {"name": "KYC", "description": "KYC documents and their review."},
    {"name": "promotion links", "description": "Registration links with a client type and a referrer."},
    {"name": "prop trading", "description": "Prop challenges and prop-challenge orders."},
    {"name": "notifications", "description": "Client pop-ups and the email outbox."},
    {"name": "system logs", "description": "The operation log and the login log."},
    {
        "name": "marketplace",
        "description": 'Modules: catalog, install ("Obtain"), enable, disable, settings, '
        "uninstall and purge, and their health.",
    },
    {"name": "jobs", "description": "Modules' scheduled jobs and their run history."},
    {"name": "portal", "description": "The client portal: clients acting on their own records."},
]

health_router = APIRouter(tags=["health"])


@health_router.get("/health", summary="Service and database liveness")
def health(ctx: Ctx = public()) -> dict[str, str]:
    ctx.session.connection().execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}


CORE_ROUTERS = [
    health_router,
    access_router,
    tenancy_router,
    clients.router,
    groups.router,
    ranks.router,
    deposits.router,
    trading_accounts.router,
    kyc.router,
    promotion.router,
    prop.router,
    notify_router,
    audit_router,
    marketplace.router,
    marketplace.platform_router,
    jobs_router,
    portal_router,
    marketplace.portal_router,
]


def create_app(runtime: Runtime | None = None, *, watch: bool = True) -> FastAPI:
    """The API. ``watch`` keeps this process's per-tenant module cache in step with changes other
    processes make (on for every deployment: several workers, several machines)."""
    runtime = runtime or Runtime.from_settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        watcher = StateWatcher(runtime).start() if watch else None
        try:
            with tuned_for_requests():
                yield
        finally:
            if watcher is not None:
                watcher.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="crm-marketplace",
        version=__version__,
        description="Multi-tenant CRM for forex and CFD brokers, extended by marketplace modules.",
        openapi_tags=TAGS,
    )
    app.state.runtime = runtime
    errors.install(app)
    for router in CORE_ROUTERS:
        declare_router(router, runtime.permissions)
        app.include_router(router, prefix=API_PREFIX, responses=errors.ERROR_RESPONSES)
    _mount_plugins(app, runtime)
    mount_pages(app, runtime.permissions, runtime.plugins)
    guard_routes(app, runtime.permissions)
    index_routes(app)
    return app


def _mount_plugins(app: FastAPI, runtime: Runtime) -> None:
    """Each loaded plugin's routers, under its own prefix and tag. The host checked them when it
    loaded the plugin; each route answers 404 to tenants without the plugin enabled."""
    for name in sorted(runtime.plugins.plugins):
        plugin = runtime.plugins.plugins[name]
        tag = f"module: {plugin.manifest.display_name}"
        app.openapi_tags = [*(app.openapi_tags or []), {"name": tag, "description": plugin.manifest.summary}]
        if plugin.backoffice_router is not None:
            app.include_router(
                plugin.backoffice_router,
                prefix=f"{API_PREFIX}/plugins/{name}",
                tags=[tag],
                responses=errors.ERROR_RESPONSES,
            )
        if plugin.portal_router is not None:
            app.include_router(
                plugin.portal_router,
                prefix=f"{API_PREFIX}/portal/plugins/{name}",
                tags=[tag],
                responses=errors.ERROR_RESPONSES,
            )
