"""Request dependencies: the unit of work, and the access every route must declare.

Every route takes exactly one of these as a parameter, which both authenticates the caller and
hands the route its ``Ctx``::

    def list_clients(ctx: Ctx = staff("clients.read")) -> ...
    def my_popups(ctx: Ctx = portal()) -> ...
    def create_tenant(ctx: Ctx = operator()) -> ...
    def login(ctx: Ctx = public()) -> ...

The app refuses to build a route that declares none (see ``core.api.guard``).

**One thread-pool hop per request.** Routes and services are synchronous (SQLAlchemy sessions).
FastAPI would run each sync dependency, the route and the response's validation in the thread pool
one after the other: five hops for a list. The guard instead replaces each route's endpoint with
``in_one_hop(endpoint)``: FastAPI parses the request on the event loop, then one worker thread opens
the unit of work, authenticates, runs the route and commits; the response is validated back on
the loop.
"""

from __future__ import annotations

import abc
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Path, Query, Request, Response, params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from core.access.auth import Audience, authenticate
from core.bounds import MAX_ID, MAX_PAGE
from core.context import Ctx, bind
from core.db.paging import PageRequest
from core.db.session import CrmSession
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.schemas import MODULE_NAME_PATTERN, PerPage
from core.web.sessions import session_token

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


class _Declaration(abc.ABC):
    """Base of the access declarations: ``resolve`` gives the route its ``Ctx``. ``route_path`` is
    the full path template of the route it guards (set by the guard when the app is built) and
    names the operation in the log."""

    route_path: str | None = None
    # The query parameters the route declares (set by the guard): any other is refused, so a
    # misspelt filter is a 422 naming it, never a list silently unfiltered.
    query_names: frozenset[str] | None = None
    # Set on the routes of a page router (``core.web``): the caller is signed in by its audience's
    # session cookie, not by a bearer token.
    page: bool = False

    @abc.abstractmethod
    def resolve(self, request: Request, session: CrmSession, token: str | None) -> Ctx:
        """The route's ``Ctx`` for this caller, or the refusal (raised)."""

    def serve(
        self,
        endpoint: Callable[..., Any],
        ctx_name: str,
        request: Request,
        credentials: HTTPAuthorizationCredentials | None,
        values: dict[str, Any],
    ) -> Any:
        """Run one request in this thread: the unit of work, the caller, the route, the commit."""
        token = self.token(request, credentials)
        with runtime_of(request).db.transaction(write=request.method not in SAFE_METHODS) as session:
            values[ctx_name] = self.resolve(request, session, token)
            return endpoint(**values)

    def check(self, request: Request, credentials: HTTPAuthorizationCredentials | None) -> None:
        """Refuse the caller as ``serve`` would, without running the route."""
        with runtime_of(request).db.transaction() as session:
            self.resolve(request, session, self.token(request, credentials))

    def token(self, request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
        """The caller's token: the bearer's, or for a page the audience's session cookie."""
        return credentials.credentials if credentials else None

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

    def token(self, request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
        if self.page:
            return session_token(request, self.audience)
        return super().token(request, credentials)

    def resolve(self, request: Request, session: CrmSession, token: str | None) -> Ctx:
        """Authenticate the caller inside the request's unit of work, or refuse the request."""
        self.refuse_unknown_query(request)
        runtime = runtime_of(request)
        principal = authenticate(session, self.audience, token, runtime.principals)
        # The plugin gate comes first: for a tenant without the plugin its routes do not exist.
        # It reads the per-tenant cache, so it costs no query.
        if (
            self.plugin is not None
            and principal.tenant_id is not None
            and self.plugin not in runtime.plugin_state.enabled(session, principal.tenant_id)
        ):
            raise NotFound("not found")
        if self.permission is not None and not principal.has(self.permission):
            raise PermissionDenied(f"missing permission {self.permission!r}")
        return bind(session, principal, runtime, self.operation(request))

    def __call__(
        self,
        request: Request,
        session: CrmSession = Depends(request_session, scope="function"),
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> Ctx:
        # Only for an endpoint ``in_one_hop`` cannot take over (an ``async def`` route).
        return self.resolve(request, session, self.token(request, credentials))


class PublicAccess(_Declaration):
    """Declares a route open to anyone (login, registration, health). Kept to a short list."""

    requirement = "public"

    def resolve(self, request: Request, session: CrmSession, token: str | None) -> Ctx:
        self.refuse_unknown_query(request)
        return bind(session, None, runtime_of(request), self.operation(request))

    def __call__(
        self, request: Request, session: CrmSession = Depends(request_session, scope="function")
    ) -> Ctx:
        return self.resolve(request, session, None)


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


async def paging(  # async: pure parsing, no reason for a thread-pool hop
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[PerPage, Query()] = 50,
) -> PageRequest:
    return PageRequest(page=page, per_page=per_page)


Paging = Annotated[PageRequest, Depends(paging)]


_REQUEST = "crm_request_"
_CREDENTIALS = "crm_credentials_"


def declaration_of(endpoint: Callable[..., Any] | None) -> _Declaration | None:
    """The access declaration an ``in_one_hop`` endpoint serves under."""
    return getattr(endpoint, "crm_declaration", None)


def in_one_hop(
    endpoint: Callable[..., Any], *, json_model: type[BaseModel] | None = None, status_code: int = 200
) -> Callable[..., Any]:
    """``endpoint`` as an async endpoint that runs its whole unit of work in one thread-pool hop.

    The new endpoint takes the route's own parameters (FastAPI parses them on the event loop) and,
    in place of the declared ``Ctx``, the request and the bearer credentials; the declaration then
    authenticates and calls ``endpoint`` in one worker thread (``_Declaration.serve``). An async
    endpoint, or one declaring its access other than as one ``Ctx`` parameter, is returned as is
    (its declaration then runs as an ordinary dependency).

    ``json_model``: the route's response model, when the route answers it as plain JSON. A result
    of exactly that model was validated when it was built, so it is written out directly instead
    of being dumped, validated again and encoded again."""
    if declaration_of(endpoint) is not None or inspect.iscoroutinefunction(endpoint):
        return endpoint
    signature = inspect.signature(endpoint, eval_str=True)
    declared = [
        (name, parameter.default.dependency)
        for name, parameter in signature.parameters.items()
        if isinstance(parameter.default, params.Depends)
        and isinstance(parameter.default.dependency, _Declaration)
    ]
    if len(declared) != 1:
        return endpoint
    ctx_name, declaration = declared[0]
    kept = [
        parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for name, parameter in signature.parameters.items()
        if name != ctx_name
    ]
    if any(p.annotation is Response for p in kept):
        json_model = None  # the route sets headers or a status on FastAPI's response: let it merge them
    # FastAPI hands the request to one parameter only: the route's own, if it takes it.
    own_request = next((p.name for p in kept if p.annotation is Request), None)
    added = (
        []
        if own_request
        else [inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request)]
    )
    if isinstance(declaration, Access):
        added.append(
            inspect.Parameter(
                _CREDENTIALS,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=HTTPAuthorizationCredentials | None,
                default=Depends(bearer),
            )
        )

    @functools.wraps(endpoint)
    async def run(**values: Any) -> Any:
        request = values[own_request] if own_request else values.pop(_REQUEST)
        credentials = values.pop(_CREDENTIALS, None)
        result = await run_in_threadpool(declaration.serve, endpoint, ctx_name, request, credentials, values)
        if json_model is not None and type(result) is json_model:
            return Response(
                result.model_dump_json(by_alias=True), status_code=status_code, media_type="application/json"
            )
        return result

    run.__signature__ = signature.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
    run.crm_declaration = declaration  # type: ignore[attr-defined]
    return run


async def refuse_caller(request: Request) -> None:
    """Raise the refusal the caller would get from this request's route, if any.

    The request's parameters are parsed before the one hop that authenticates, so when they fail
    to parse the error handler asks this first: a caller without access gets 401, 403 or 404,
    never a description of what the route accepts."""
    declaration = declaration_of(request.scope.get("endpoint"))
    if declaration is not None:
        await run_in_threadpool(declaration.check, request, await bearer(request))
