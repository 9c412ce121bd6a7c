"""``page()``: render a full page in its audience's layout, or one block of it for htmx.

The layout's parts (the navigation filtered for the caller, the portal's notification badge and
the plugins' header badges) are computed only for a full page: an htmx fragment skips them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from core.access.models import PrincipalKind
from core.context import Ctx
from core.crm.clients import get_client
from core.notify import service as notify
from core.web.contributions import PLATFORM_NAV, backoffice_nav, portal_nav, render_slot
from core.web.templating import render


def layout_context(request: Request, ctx: Ctx) -> dict[str, Any]:
    """What the caller's layout shows around the page."""
    principal = ctx.principal
    if principal is None:
        return {}
    if principal.kind is PrincipalKind.CLIENT:
        client = get_client(ctx, principal.id)
        count = notify.unread_count(ctx) + sum(notify.module_counts(ctx, client).values())
        return {
            "nav": portal_nav(ctx),
            "client": client,
            "notification_count": count,
            "header_badges": render_slot(request, ctx, "portal.header_badge", client),
        }
    if principal.kind is PrincipalKind.OPERATOR:
        return {"nav": list(PLATFORM_NAV)}
    return {"nav": backoffice_nav(ctx)}


def page(
    request: Request,
    ctx: Ctx,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """``template`` (which extends its audience's layout) for the signed-in caller; with ``block``
    only that block, for an htmx request to swap in."""
    values = {
        "slot": lambda name, subject=None, **more: render_slot(request, ctx, name, subject, **more),
        **(context or {}),
    }
    if block is None:
        values = {**layout_context(request, ctx), **values}
    return render(request, ctx, template, values, block=block, status_code=status_code, headers=headers)
