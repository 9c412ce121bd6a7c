"""Settings, Roles: roles with the permission editor grouped by module (core's permissions and
those of the tenant's modules, as the API lists them) and the data permission, all through the
access services: a user grants only permissions they hold, and acts on no role above their own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from core.access import service
from core.access.models import DataScope, Role
from core.access.permissions import Permission
from core.access.schemas import RoleIn, RoleUpdate
from core.api.deps import PathId, staff
from core.context import Ctx
from core.errors import DomainError
from core.web.forms import FormData, field_errors, parse_form
from core.web.pages import page
from core.web.routes.settings_forms import attempt, ticked

router = APIRouter(prefix="/backoffice/roles")

SCOPES = (
    (DataScope.ALL, "All company data", "Every client of the company."),
    (DataScope.TEAM, "Team data", "The clients of the user's team, and the clients assigned to the user."),
    (DataScope.OWN, "Own clients", "Only the clients assigned to the user."),
)

DONE = {"created": "The role was created.", "saved": "The role was saved."}
Done = Annotated[str | None, Query(max_length=20)]


@dataclass(frozen=True)
class PermissionGroup:
    module: str
    label: str
    permissions: list[Permission]


def permission_groups(ctx: Ctx) -> list[PermissionGroup]:
    """The permissions a role may be given here (``service.grantable_permissions``, as the API's
    list), grouped by module: core's first, then each module's by its display name."""
    host = ctx.runtime.plugins
    groups: dict[str, list[Permission]] = {}
    for permission in service.grantable_permissions(ctx):
        groups.setdefault(permission.module, []).append(permission)

    def label(module: str) -> str:
        plugin = host.plugins.get(module)
        return "Core" if module == "core" else (plugin.manifest.display_name if plugin else module)

    ordered = sorted(groups, key=lambda module: (module != "core", label(module).lower()))
    return [PermissionGroup(module, label(module), groups[module]) for module in ordered]


@router.get("")
def list_roles(request: Request, ctx: Ctx = staff("roles.read")) -> Response:
    return page(
        request, ctx, "backoffice/roles/list.html", {"roles": service.list_roles(ctx), "scopes": SCOPES}
    )


def _editor(
    request: Request,
    ctx: Ctx,
    *,
    role: Role | None,
    form: dict[str, Any],
    errors: dict[str, str] | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> Response:
    values = {
        "flash": flash,
        "role": role,
        "form": form,
        "errors": errors or {},
        "groups": permission_groups(ctx),
        "scopes": SCOPES,
        "held": ctx.principal.permissions if ctx.principal else frozenset(),
    }
    return page(request, ctx, "backoffice/roles/editor.html", values, status_code=status_code)


def _shown(form: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": form.get("name", ""),
        "description": form.get("description", ""),
        "data_scope": form.get("data_scope", ""),
        "permissions": ticked(form, "permissions"),
    }


@router.get("/new")
def new_role(request: Request, ctx: Ctx = staff("roles.manage")) -> Response:
    form = {"name": "", "description": "", "data_scope": DataScope.OWN.value, "permissions": []}
    return _editor(request, ctx, role=None, form=form)


@router.post("")
def create_role(request: Request, form: FormData, ctx: Ctx = staff("roles.manage")) -> Response:
    shown = _shown(form)
    try:
        data = parse_form(RoleIn, {k: v for k, v in shown.items() if v != ""} | {"name": shown["name"]})
        role = attempt(ctx, lambda: service.create_role(ctx, data))
    except DomainError as error:
        return _editor(
            request, ctx, role=None, form=shown, errors=field_errors(error), status_code=error.status
        )
    return RedirectResponse(f"/backoffice/roles/{role.id}?done=created", status_code=303)


@router.get("/{role_id}")
def show_role(
    request: Request, role_id: PathId, done: Done = None, ctx: Ctx = staff("roles.read")
) -> Response:
    role = service.get_role(ctx, role_id)
    form = {
        "name": role.name,
        "description": role.description,
        "data_scope": role.data_scope.value,
        "permissions": sorted(role.permissions),
    }
    return _editor(request, ctx, role=role, form=form, flash=DONE.get(done or ""))


@router.post("/{role_id}")
def update_role(
    request: Request, role_id: PathId, form: FormData, ctx: Ctx = staff("roles.manage")
) -> Response:
    role = service.get_role(ctx, role_id)
    shown = _shown(form)
    fields: dict[str, Any] = {"name": shown["name"], "description": shown["description"]}
    if not role.is_admin:  # the administrator role's grants are the system's, not an editor's
        fields |= {"data_scope": shown["data_scope"] or None, "permissions": shown["permissions"]}
    try:
        data = parse_form(RoleUpdate, fields)
        attempt(ctx, lambda: service.update_role(ctx, role_id, data))
    except DomainError as error:
        ctx.session.refresh(role)
        if role.is_admin:
            shown |= {"data_scope": role.data_scope.value, "permissions": sorted(role.permissions)}
        return _editor(
            request, ctx, role=role, form=shown, errors=field_errors(error), status_code=error.status
        )
    return RedirectResponse(f"/backoffice/roles/{role_id}?done=saved", status_code=303)


@router.post("/{role_id}/delete")
def delete_role(request: Request, role_id: PathId, ctx: Ctx = staff("roles.manage")) -> Response:
    role = service.get_role(ctx, role_id)
    try:
        attempt(ctx, lambda: service.delete_role(ctx, role_id))
    except DomainError as error:
        ctx.session.refresh(role)
        form = {
            "name": role.name,
            "description": role.description,
            "data_scope": role.data_scope.value,
            "permissions": sorted(role.permissions),
        }
        return _editor(
            request, ctx, role=role, form=form, errors=field_errors(error), status_code=error.status
        )
    return RedirectResponse("/backoffice/roles", status_code=303)
