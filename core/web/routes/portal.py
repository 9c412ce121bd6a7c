"""The client portal's home, with the pop-ups shown on login and the plugins' widgets."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from core.api.deps import portal
from core.context import Ctx
from core.db.paging import PageRequest
from core.notify import service as notify
from core.web.pages import page

router = APIRouter(prefix="/portal")


@router.get("/")
def home(request: Request, ctx: Ctx = portal()) -> Response:
    popups = notify.list_popups(ctx, PageRequest(page=1, per_page=5), unread=True).items
    return page(request, ctx, "portal/home.html", {"popups": popups})
