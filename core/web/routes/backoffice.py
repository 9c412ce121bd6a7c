"""The back office's home: the dashboard, with the plugins' widgets."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from core.api.deps import signed_in_staff
from core.context import Ctx
from core.crm.overview import overview
from core.web.pages import page

router = APIRouter(prefix="/backoffice")


@router.get("/")
def dashboard(request: Request, ctx: Ctx = signed_in_staff()) -> Response:
    return page(request, ctx, "backoffice/dashboard.html", {"figures": overview(ctx)})
