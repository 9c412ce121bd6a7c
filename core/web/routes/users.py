"""Settings, Users: the back office's users, created and edited through the access services, so
the privilege ceiling holds here exactly as in the API (a refusal is shown, nothing changes)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from core.access import service
from core.access.models import User
from core.access.routes import UserQuery
from core.access.schemas import PasswordSet, UserIn, UserUpdate
from core.api.deps import PathId, staff
from core.context import Ctx
from core.errors import DomainError
from core.web.forms import FormData, field_errors, parse_form
from core.web.pages import page
from core.web.routes.query_forms import query_form, query_string
from core.web.routes.settings_forms import attempt, ticked

router = APIRouter(prefix="/backoffice/users")

# What a redirect after a successful action tells the user (``?done=…``).
DONE = {
    "created": "The user was created.",
    "saved": "The changes were saved.",
    "password": "The password was set and the user's sessions were ended.",
    "revoked": "The user's sessions were ended.",
}
Done = Annotated[str | None, Query(max_length=20)]


USER_FILTERS = query_form(UserQuery)  # the API's user list query, from the list's filter form


def _choices(ctx: Ctx) -> dict[str, Any]:
    return {"teams": service.list_teams(ctx), "roles": service.list_roles(ctx)}


@router.get("")
def list_users(request: Request, query: UserQuery = USER_FILTERS, ctx: Ctx = staff("users.read")) -> Response:
    filters = query.filters()
    result = service.list_users(ctx, query.paging, **filters)
    choices = _choices(ctx)
    values = {
        "result": result,
        "filters": filters,
        "url": "/backoffice/users?" + query_string({**filters, "per_page": query.per_page}),
        "team_names": {t.id: t.name for t in choices["teams"]},
        **choices,
    }
    if request.headers.get("hx-request"):
        return page(request, ctx, "backoffice/users/list.html", values, block="listing")
    return page(request, ctx, "backoffice/users/list.html", values)


def _new_form(
    request: Request, ctx: Ctx, form: dict[str, Any], errors: dict[str, str], status_code: int = 200
) -> Response:
    values = {"form": form, "errors": errors, **_choices(ctx)}
    return page(request, ctx, "backoffice/users/new.html", values, status_code=status_code)


@router.get("/new")
def new_user(request: Request, ctx: Ctx = staff("users.manage")) -> Response:
    return _new_form(request, ctx, {}, {})


@router.post("")
def create_user(request: Request, form: FormData, ctx: Ctx = staff("users.manage")) -> Response:
    shown = {**form, "role_ids": ticked(form, "role_ids")}
    try:
        data = parse_form(UserIn, shown)
        user = attempt(ctx, lambda: service.create_user(ctx, data))
    except DomainError as error:
        shown.pop("password", None)  # never sent back
        return _new_form(request, ctx, shown, field_errors(error), error.status)
    return RedirectResponse(f"/backoffice/users/{user.id}?done=created", status_code=303)


def _user_page(
    request: Request,
    ctx: Ctx,
    user: User,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    password_errors: dict[str, str] | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> Response:
    shown = form or {
        "name": user.name,
        "team_id": user.team_id,
        "active": user.active,
        "role_ids": [str(r.id) for r in user.roles],
    }
    values = {
        "user": user,
        "form": shown,
        "errors": errors or {},
        "password_errors": password_errors or {},
        "flash": flash,
        **_choices(ctx),
    }
    return page(request, ctx, "backoffice/users/detail.html", values, status_code=status_code)


@router.get("/{user_id}")
def show_user(
    request: Request, user_id: PathId, done: Done = None, ctx: Ctx = staff("users.read")
) -> Response:
    return _user_page(request, ctx, service.get_user(ctx, user_id), flash=DONE.get(done or ""))


@router.post("/{user_id}")
def update_user(
    request: Request, user_id: PathId, form: FormData, ctx: Ctx = staff("users.manage")
) -> Response:
    user = service.get_user(ctx, user_id)
    shown = {
        "name": form.get("name", ""),
        "team_id": form.get("team_id"),  # no team chosen: the user leaves their team
        "active": "true" if form.get("active") else "false",
        "role_ids": ticked(form, "role_ids"),
    }
    try:
        data = parse_form(UserUpdate, shown)
        attempt(ctx, lambda: service.update_user(ctx, user_id, data))
    except DomainError as error:
        ctx.session.refresh(user)
        shown["active"] = shown["active"] == "true"
        return _user_page(
            request, ctx, user, form=shown, errors=field_errors(error), status_code=error.status
        )
    return RedirectResponse(f"/backoffice/users/{user_id}?done=saved", status_code=303)


@router.post("/{user_id}/password")
def reset_password(
    request: Request, user_id: PathId, form: FormData, ctx: Ctx = staff("users.manage")
) -> Response:
    user = service.get_user(ctx, user_id)
    try:
        data = parse_form(PasswordSet, form)
        attempt(ctx, lambda: service.reset_password(ctx, user_id, data.password))
    except DomainError as error:
        ctx.session.refresh(user)
        return _user_page(request, ctx, user, password_errors=field_errors(error), status_code=error.status)
    return RedirectResponse(f"/backoffice/users/{user_id}?done=password", status_code=303)


@router.post("/{user_id}/sessions/revoke")
def revoke_sessions(request: Request, user_id: PathId, ctx: Ctx = staff("users.manage")) -> Response:
    user = service.get_user(ctx, user_id)
    try:
        attempt(ctx, lambda: service.revoke_user_sessions(ctx, user_id))
    except DomainError as error:
        ctx.session.refresh(user)
        return _user_page(request, ctx, user, errors=field_errors(error), status_code=error.status)
    return RedirectResponse(f"/backoffice/users/{user_id}?done=revoked", status_code=303)
