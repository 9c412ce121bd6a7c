"""The back office's client groups: list, create, rename and delete (behind a confirmation)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from core.api.deps import PathId, staff
from core.context import Ctx
from core.crm import groups
from core.crm.schemas.groups import ClientGroupIn, ClientGroupUpdate
from core.errors import DomainError
from core.web.forms import FormData, field_errors, parse_form
from core.web.pages import page

router = APIRouter(prefix="/backoffice/groups")
LIST = "/backoffice/groups"


def _list(request: Request, ctx: Ctx, **values: Any) -> Response:
    assert ctx.principal is not None
    context = {
        "groups": groups.list_groups(ctx),
        "can_manage": ctx.principal.has("client_groups.manage"),
        "form": {},
        "errors": {},
        **values,
    }
    status = 422 if context["errors"] else 200
    return page(request, ctx, "backoffice/groups/list.html", context, status_code=status)


@router.get("")
def group_list(request: Request, ctx: Ctx = staff("client_groups.read")) -> Response:
    return _list(request, ctx)


@router.post("")
def create_group(request: Request, form: FormData, ctx: Ctx = staff("client_groups.manage")) -> Response:
    try:
        groups.create_group(ctx, parse_form(ClientGroupIn, form))
    except DomainError as error:
        return _list(request, ctx, form=form, errors=field_errors(error))
    return RedirectResponse(LIST, status_code=303)


@router.get("/{group_id}")
def group_page(request: Request, group_id: PathId, ctx: Ctx = staff("client_groups.read")) -> Response:
    group = groups.get_group(ctx, group_id)
    assert ctx.principal is not None
    values = {
        "group": group,
        "form": {"name": group.name, "description": group.description},
        "errors": {},
        "can_manage": ctx.principal.has("client_groups.manage"),
    }
    return page(request, ctx, "backoffice/groups/edit.html", values)


@router.post("/{group_id}")
def update_group(
    request: Request, group_id: PathId, form: FormData, ctx: Ctx = staff("client_groups.manage")
) -> Response:
    group = groups.get_group(ctx, group_id)
    data = {"name": form.get("name", ""), "description": form.get("description", "")}
    try:
        groups.update_group(ctx, group.id, parse_form(ClientGroupUpdate, data))
    except DomainError as error:
        values = {"group": group, "form": data, "errors": field_errors(error), "can_manage": True}
        return page(request, ctx, "backoffice/groups/edit.html", values, status_code=422)
    return RedirectResponse(LIST, status_code=303)


@router.post("/{group_id}/delete")
def delete_group(group_id: PathId, ctx: Ctx = staff("client_groups.manage")) -> Response:
    groups.delete_group(ctx, group_id)
    return RedirectResponse(LIST, status_code=303)
