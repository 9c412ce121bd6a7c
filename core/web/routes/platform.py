"""The account managers' console: the platform's tenants."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from core.api.deps import operator
from core.context import Ctx
from core.tenancy import service as tenancy
from core.web.pages import page

router = APIRouter(prefix="/platform")


@router.get("/")
def tenants(request: Request, ctx: Ctx = operator()) -> Response:
    return page(request, ctx, "platform/tenants.html", {"tenants": tenancy.list_tenants(ctx)})
