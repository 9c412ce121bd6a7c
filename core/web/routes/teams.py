"""Settings, Teams: list, create, rename and delete teams through the access services. Deleting
a team keeps its members and clients, without a team."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from core.access import service
from core.access.models import Team
from core.access.schemas import TeamIn, TeamUpdate
from core.api.deps import PathId, staff
from core.context import Ctx
from core.db.paging import PageRequest
from core.errors import DomainError
from core.web.forms import FormData, field_errors, parse_form
from core.web.pages import page
from core.web.routes.settings_forms import attempt

router = APIRouter(prefix="/backoffice/teams")

DONE = {
    "created": "The team was created.",
    "renamed": "The team was renamed.",
    "deleted": "The team was deleted; its members and clients have no team now.",
}
MAX_MEMBERS = 200  # the team page lists this many members; the users list filters by team for more
Done = Annotated[str | None, Query(max_length=20)]


def _list(
    request: Request,
    ctx: Ctx,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> Response:
    values = {"teams": service.list_teams(ctx), "form": form or {}, "errors": errors or {}, "flash": flash}
    return page(request, ctx, "backoffice/teams/list.html", values, status_code=status_code)


@router.get("")
def list_teams(request: Request, done: Done = None, ctx: Ctx = staff("teams.read")) -> Response:
    return _list(request, ctx, flash=DONE.get(done or ""))


@router.post("")
def create_team(request: Request, form: FormData, ctx: Ctx = staff("teams.manage")) -> Response:
    shown = {
        "name": form.get("name", ""),
        **({"description": form["description"]} if "description" in form else {}),
    }
    try:
        data = parse_form(TeamIn, shown)
        attempt(ctx, lambda: service.create_team(ctx, data))
    except DomainError as error:
        return _list(request, ctx, form=shown, errors=field_errors(error), status_code=error.status)
    return RedirectResponse("/backoffice/teams?done=created", status_code=303)


def _team_page(
    request: Request,
    ctx: Ctx,
    team: Team,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    shown = form or {"name": team.name, "description": team.description}
    members = service.list_users(ctx, PageRequest(page=1, per_page=MAX_MEMBERS), team_id=team.id)
    values = {"team": team, "form": shown, "errors": errors or {}, "members": members}
    return page(request, ctx, "backoffice/teams/detail.html", values, status_code=status_code)


@router.get("/{team_id}")
def show_team(request: Request, team_id: PathId, ctx: Ctx = staff("teams.read")) -> Response:
    return _team_page(request, ctx, service.get_team(ctx, team_id))


@router.post("/{team_id}")
def rename_team(
    request: Request, team_id: PathId, form: FormData, ctx: Ctx = staff("teams.manage")
) -> Response:
    team = service.get_team(ctx, team_id)
    shown = {"name": form.get("name", ""), "description": form.get("description", "")}
    try:
        data = parse_form(TeamUpdate, shown)
        attempt(ctx, lambda: service.update_team(ctx, team_id, data))
    except DomainError as error:
        ctx.session.refresh(team)
        return _team_page(
            request, ctx, team, form=shown, errors=field_errors(error), status_code=error.status
        )
    return RedirectResponse("/backoffice/teams?done=renamed", status_code=303)


@router.post("/{team_id}/delete")
def delete_team(request: Request, team_id: PathId, ctx: Ctx = staff("teams.manage")) -> Response:
    service.get_team(ctx, team_id)
    try:
        attempt(ctx, lambda: service.delete_team(ctx, team_id))
    except DomainError as error:
        return _list(request, ctx, errors=field_errors(error), status_code=error.status)
    return RedirectResponse("/backoffice/teams?done=deleted", status_code=303)
