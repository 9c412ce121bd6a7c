"""The back office's ranks and tiers: each rank with its tiers lowest first, a form to create a
rank with its tiers, and a rank's page to rename it, reorder it, add and rename tiers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from core.api.deps import PathId, staff
from core.context import Ctx
from core.crm import ranks
from core.crm.schemas.ranks import RankIn, RankUpdate, TierIn
from core.errors import DomainError
from core.web.forms import FormData, field_errors, parse_form
from core.web.pages import page

router = APIRouter(prefix="/backoffice/ranks")
LIST = "/backoffice/ranks"


def _can_manage(ctx: Ctx) -> bool:
    return ctx.principal is not None and ctx.principal.has("ranks.manage")


def _list(request: Request, ctx: Ctx, **values: Any) -> Response:
    context = {
        "ranks": [(rank, ranks.tiers_of(ctx, rank.id)) for rank in ranks.list_ranks(ctx)],
        "can_manage": _can_manage(ctx),
        "form": {},
        "errors": {},
        **values,
    }
    status = 422 if context["errors"] else 200
    return page(request, ctx, "backoffice/ranks/list.html", context, status_code=status)


@router.get("")
def rank_list(request: Request, ctx: Ctx = staff("ranks.read")) -> Response:
    return _list(request, ctx)


def tiers_field(text: Any) -> list[dict[str, str]]:
    """The form's tiers: one name a line, lowest first (blank lines skipped)."""
    lines = text if isinstance(text, list) else str(text or "").splitlines()
    return [{"name": line.strip()} for line in lines if line.strip()]


@router.post("")
def create_rank(request: Request, form: FormData, ctx: Ctx = staff("ranks.manage")) -> Response:
    data = {**form, "tiers": tiers_field(form.get("tiers"))}
    try:
        rank = ranks.create_rank(ctx, parse_form(RankIn, data))
    except DomainError as error:
        return _list(request, ctx, form=form, errors=_tier_errors(field_errors(error)))
    return RedirectResponse(f"{LIST}/{rank.id}", status_code=303)


def _tier_errors(errors: dict[str, str]) -> dict[str, str]:
    """A tier's error (``tiers.2.name``) is shown beside the tiers' field."""
    shown: dict[str, str] = {}
    for name, message in errors.items():
        shown.setdefault("tiers" if name.startswith("tiers") else name, message)
    return shown


def _rank_page(request: Request, ctx: Ctx, rank_id: int, status_code: int = 200, **values: Any) -> Response:
    rank = ranks.get_rank(ctx, rank_id)
    context = {
        "rank": rank,
        "tiers": ranks.tiers_of(ctx, rank.id),
        "can_manage": _can_manage(ctx),
        "form": {"name": rank.name, "sort_order": rank.sort_order},
        "errors": {},
        "tier_errors": {},
        **values,
    }
    return page(request, ctx, "backoffice/ranks/edit.html", context, status_code=status_code)


@router.get("/{rank_id}")
def rank_page(request: Request, rank_id: PathId, ctx: Ctx = staff("ranks.read")) -> Response:
    return _rank_page(request, ctx, rank_id)


@router.post("/{rank_id}")
def update_rank(
    request: Request, rank_id: PathId, form: FormData, ctx: Ctx = staff("ranks.manage")
) -> Response:
    data = {"name": form.get("name", ""), "sort_order": form.get("sort_order", "0")}
    try:
        ranks.update_rank(ctx, rank_id, parse_form(RankUpdate, data))
    except DomainError as error:
        return _rank_page(request, ctx, rank_id, 422, form=data, errors=field_errors(error))
    return RedirectResponse(f"{LIST}/{rank_id}", status_code=303)


@router.post("/{rank_id}/tiers")
def add_tier(request: Request, rank_id: PathId, form: FormData, ctx: Ctx = staff("ranks.manage")) -> Response:
    try:
        ranks.add_tier(ctx, rank_id, parse_form(TierIn, {"name": form.get("name", "")}))
    except DomainError as error:
        return _rank_page(request, ctx, rank_id, 422, tier_errors={"new": field_errors(error)})
    return RedirectResponse(f"{LIST}/{rank_id}", status_code=303)


@router.post("/{rank_id}/tiers/{tier_id}")
def rename_tier(
    request: Request, rank_id: PathId, tier_id: PathId, form: FormData, ctx: Ctx = staff("ranks.manage")
) -> Response:
    try:
        ranks.rename_tier(ctx, rank_id, tier_id, parse_form(TierIn, {"name": form.get("name", "")}))
    except DomainError as error:
        return _rank_page(request, ctx, rank_id, 422, tier_errors={tier_id: field_errors(error)})
    return RedirectResponse(f"{LIST}/{rank_id}", status_code=303)
