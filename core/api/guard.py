"""Default deny: every route must declare the access it needs, or the app does not build.

Two passes, because FastAPI builds each included route's effective copy (prefix, docs) lazily
from the original route:

* ``declare_router`` runs on a router *before* it is included: it checks each route and writes
  its requirement into the route's OpenAPI operation (``x-required-permission``) and description;
* ``guard_routes`` runs on the finished app: every effective route, whatever router it came
  from, must carry exactly one declaration — a route added any other way still cannot slip by.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.routing import BaseRoute

from core.access.permissions import PermissionRegistry
from core.api.deps import Access, PublicAccess, declaration_of, in_one_hop
from core.api.errors import MALFORMED_BODY
from core.plugins.host import PluginRejected


class UnguardedRoute(RuntimeError):
    """A route without a declared permission: a bug the host refuses to serve."""


def _walk(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _walk(dependency)


def check_access(label: str, dependant: Dependant, registry: PermissionRegistry) -> Access | PublicAccess:
    found = [call for call in _walk(dependant) if isinstance(call, Access | PublicAccess)]
    served = declaration_of(dependant.call) if dependant.call is not None else None
    if isinstance(served, Access | PublicAccess):
        found.append(served)
    if not found:
        raise UnguardedRoute(f"route {label} declares no permission")
    if len({id(call) for call in found}) > 1:
        raise UnguardedRoute(f"route {label} declares more than one access requirement")
    access = found[0]
    if isinstance(access, Access) and access.permission is not None and access.permission not in registry:
        raise UnguardedRoute(f"route {label} requires unknown permission {access.permission!r}")
    return access


def _label(methods: set[str] | None, path: str | None) -> str:
    return f"{','.join(sorted(methods or ()))} {path}"


def _original_api_routes(routes: list[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        nested = getattr(route, "original_router", None)  # an included router
        if nested is not None:
            yield from _original_api_routes(nested.routes)


def check_plugin_router(
    router: object, registry: PermissionRegistry, *, plugin: str, pages: bool = False
) -> APIRouter:
    """The plugin host's router check: a plugin's router is an ``APIRouter`` whose every route
    declares its access (else the plugin is refused, with the reason). ``pages``: a page router,
    signed in by session cookie."""
    if not isinstance(router, APIRouter):
        raise PluginRejected("a router hook must return a fastapi.APIRouter")
    try:
        declare_router(router, registry, plugin=plugin, pages=pages)
    except UnguardedRoute as error:
        raise PluginRejected(str(error)) from None
    return router


def _plain_json_model(route: APIRoute) -> type[BaseModel] | None:
    """The route's response model if FastAPI would answer it as plain JSON, all fields, by alias."""
    model = route.response_model
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    if route.response_model_include or route.response_model_exclude or not route.response_model_by_alias:
        return None
    if route.response_model_exclude_unset or route.response_model_exclude_defaults:
        return None
    if route.response_model_exclude_none or not isinstance(route.response_class, DefaultPlaceholder):
        return None
    return model


def declare_router(
    router: APIRouter, registry: PermissionRegistry, *, plugin: str | None = None, pages: bool = False
) -> None:
    """Check a router's routes and document their requirement; call before including it.

    For a plugin's router, every route is tied to the plugin, so the host can answer 404 to a
    tenant that has not installed and enabled it; plugin routes cannot be public (a request with
    no principal has no tenant to ask)."""
    for route in _original_api_routes(router.routes):
        label = _label(route.methods, route.path)
        access = check_access(label, route.dependant, registry)
        if plugin is not None:
            if not isinstance(access, Access):
                raise UnguardedRoute(f"route {label} of plugin {plugin!r} cannot be public")
            access.plugin = plugin
        access.page = pages
        # Included copies of the route are built from its endpoint: they get the one-hop endpoint.
        route.endpoint = in_one_hop(
            route.endpoint, json_model=_plain_json_model(route), status_code=route.status_code or 200
        )
        if route.body_field is not None:
            route.responses = {**MALFORMED_BODY, **route.responses}
        route.openapi_extra = {**(route.openapi_extra or {}), "x-required-permission": access.requirement}
        note = f"**Requires:** `{access.requirement}`"
        if note not in (route.description or ""):
            route.description = f"{route.description}\n\n{note}" if route.description else note


def effective_routes(app: FastAPI) -> Iterator[tuple[str, set[str], Dependant]]:
    """(path, methods, dependant) of every API route as the app serves it."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context.path or "", set(context.methods or ()), context.dependant


def _query_names(dependant: Dependant) -> frozenset[str]:
    """Every query parameter a route reads, its own and its dependencies', a query model's
    fields included."""
    names: set[str] = set()
    for field in [*dependant.query_params, *(q for d in _dependants(dependant) for q in d.query_params)]:
        annotation = field.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= {info.alias or name for name, info in annotation.model_fields.items()}
        else:
            names.add(field.alias)
    return frozenset(names)


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependants(dependency)


def guard_routes(app: FastAPI, registry: PermissionRegistry) -> None:
    """Refuse the app if any route it serves declares no access (or an unknown permission)."""
    seen: dict[int, str] = {}
    for path, methods, dependant in effective_routes(app):
        access = check_access(_label(methods, path), dependant, registry)
        access.query_names = _query_names(dependant)
        # One declaration serving two paths (a router included twice) names neither.
        access.route_path = path if seen.setdefault(id(access), path) == path else None
