"""Default deny: every route must declare the access it needs, or the app does not build."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from core.access.permissions import PermissionRegistry
from core.api.deps import Access, PublicAccess


class UnguardedRoute(RuntimeError):
    """A route without a declared permission: a bug the host refuses to serve."""


def _walk(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _walk(dependency)


def declared_access(route: APIRoute) -> Access | PublicAccess | None:
    found = [call for call in _walk(route.dependant) if isinstance(call, Access | PublicAccess)]
    return found[0] if len(found) == 1 else None


def check_route(route: APIRoute, registry: PermissionRegistry) -> Access | PublicAccess:
    label = f"{','.join(sorted(route.methods))} {route.path}"
    found = [call for call in _walk(route.dependant) if isinstance(call, Access | PublicAccess)]
    if not found:
        raise UnguardedRoute(f"route {label} declares no permission")
    if len({id(call) for call in found}) > 1:
        raise UnguardedRoute(f"route {label} declares more than one access requirement")
    access = found[0]
    if isinstance(access, Access) and access.permission is not None and access.permission not in registry:
        raise UnguardedRoute(f"route {label} requires unknown permission {access.permission!r}")
    return access


def guard_routes(app: FastAPI, registry: PermissionRegistry) -> None:
    """Check every API route and document its requirement in the OpenAPI schema."""
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue  # the OpenAPI schema and docs pages
        access = check_route(route, registry)
        route.openapi_extra = {**(route.openapi_extra or {}), "x-required-permission": access.requirement}
        note = f"**Requires:** `{access.requirement}`"
        route.description = f"{route.description}\n\n{note}" if route.description else note
