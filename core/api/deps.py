"""Request dependencies: the unit of work, and the access every route must declare.

Every route takes exactly one of these as a parameter, which both authenticates the caller and
hands the route its ``Ctx``::

    def list_clients(ctx: Ctx = staff("clients.read")) -> ...
    def my_popups(ctx: Ctx = portal()) -> ...
    def create_tenant(ctx: Ctx = operator()) -> ...
    def login(ctx: Ctx = public()) -> ...

The app refuses to build a route that declares none (see ``core.api.guard``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.access.auth import Audience, authenticate
from core.bounds import MAX_ID, MAX_PAGE
from core.context import Ctx, bind
from core.db.paging import PageRequest
from core.db.session import CrmSession
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.schemas import MODULE_NAME_PATTERN, PerPage

if TYPE_CHECKING:
    from core.runtime import Runtime

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer = HTTPBearer(
    auto_error=False,
    description="A token from a login endpoint, or an Open API key (back office only).",
)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def request_session(request: Request) -> Iterator[CrmSession]:
    """One transaction per request, committed before the response is sent.

    Writes start with SQLite's write lock (BEGIN IMMEDIATE) so concurrent writers queue
    instead of failing mid-transaction. Any exception rolls everything back: bad input never
    leaves half a change behind."""
    with runtime_of(request).db.transaction(write=request.method not in SAFE_METHODS) as session:
        yield session


class _Declaration:
    """Base of the access declarations. ``route_path`` is the full path template of the route
    it guards (set by the guard when the app is built) and names the operation in the log."""

    route_path: str | None = None
    # The query parameters the route declares (set by the guard): any other is refused, so a
    # misspelt filter is a 422 naming it, never a list silently unfiltered.
    query_names: frozenset[str] | None = None

    def operation(self, request: Request) -> str:
        return f"{request.method} {self.route_path or request.url.path}"

    def refuse_unknown_query(self, request: Request) -> None:
        if self.query_names is None:
            return
        unknown = sorted(set(request.query_params) - self.query_names)
        if unknown:
            raise InvalidInput(unknown[0][:100], "unknown query parameter")


class Access(_Declaration):
    """What a route requires: an audience (who may call) and a permission (or none beyond
    being signed in). Instances are what the build-time guard looks for."""

    def __init__(self, audience: Audience, permission: str | None) -> None:
        self.audience = audience
        self.permission = permission
        # Set when the route belongs to a plugin: the tenant must have it installed and enabled.
        self.plugin: str | None = None

    @property
    def requirement(self) -> str:
        return self.permission or f"signed in ({self.audience.value})"

    def __call__(
        self,
        request: Request,
        session: CrmSession = Depends(request_session, scope="function"),
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> Ctx:
        self.refuse_unknown_query(request)
        runtime = runtime_of(request)
        principal = authenticate(session, self.audience, credentials.credentials if credentials else None)
        # The plugin gate comes first: for a tenant without the plugin its routes do not exist.
        # It reads the per-tenant cache, inside this dependency, so it adds no dependency of its own.
        if (
            self.plugin is not None
            and principal.tenant_id is not None
            and self.plugin not in runtime.plugin_state.enabled(session, principal.tenant_id)
        ):
            raise NotFound("not found")
        if self.permission is not None and not principal.has(self.permission):
            raise PermissionDenied(f"missing permission {self.permission!r}")
        return bind(session, principal, runtime, self.operation(request))


class PublicAccess(_Declaration):
    """Declares a route open to anyone (login, registration, health). Kept to a short list."""

    requirement = "public"

    def __call__(
        self, request: Request, session: CrmSession = Depends(request_session, scope="function")
    ) -> Ctx:
        self.refuse_unknown_query(request)
        return bind(session, None, runtime_of(request), self.operation(request))


def staff(permission: str) -> Any:
    """A back-office route needing ``permission`` (staff token or Open API key)."""
    return Depends(Access(Audience.BACK_OFFICE, permission), scope="function")


def signed_in_staff() -> Any:
    """A back-office route any signed-in user may call for themself (profile, logout)."""
    return Depends(Access(Audience.BACK_OFFICE, None), scope="function")


def portal() -> Any:
    """A client-portal route: the signed-in client acts on their own records only."""
    return Depends(Access(Audience.PORTAL, None), scope="function")


def operator() -> Any:
    """A platform route for account managers."""
    return Depends(Access(Audience.PLATFORM, None), scope="function")


def public() -> Any:
    return Depends(PublicAccess(), scope="function")


# Path parameters: a value outside these bounds names no record, so it answers 404 (not 422).
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
PathModule = Annotated[str, Path(min_length=2, max_length=40, pattern=MODULE_NAME_PATTERN)]


def paging(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[PerPage, Query()] = 50,
) -> PageRequest:
    return PageRequest(page=page, per_page=per_page)


Paging = Annotated[PageRequest, Depends(paging)]
