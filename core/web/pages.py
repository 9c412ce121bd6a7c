"""``page()``: render a full page in its audience's layout, or one block of it for htmx.

The layout's parts (the navigation filtered for the caller, the portal's notification badge and
the plugins' header badges) are computed only for a full page: an htmx fragment skips them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from core.access.models import PrincipalKind
from core.context import Ctx
from core.crm.clients import get_client
from core.errors import Conflict, DomainError
from core.notify import service as notify
from core.web.contributions import PLATFORM_NAV, NavItem, backoffice_nav, portal_nav, render_slot
from core.web.i18n import gettext
from core.web.templating import render


@dataclass(frozen=True)
class NavLink:
    """A navigation entry as the layout draws it: translated, and marked when it is this page."""

    label: str
    href: str
    icon: str
    section: str
    current: bool


def nav_links(request: Request, items: list[NavItem], home: str) -> list[NavLink]:
    path = request.url.path
    return [
        NavLink(
            gettext(item.label),
            item.href,
            item.icon,
            gettext(item.section) if item.section else "",
            path == item.href or (item.href != home and path.startswith(item.href)),
        )
        for item in items
    ]


def layout_context(request: Request, ctx: Ctx) -> dict[str, Any]:
    """What the caller's layout shows around the page."""
    principal = ctx.principal
    if principal is None:
        return {}
    if principal.kind is PrincipalKind.CLIENT:
        client = get_client(ctx, principal.id)
        count = notify.unread_count(ctx) + sum(notify.module_counts(ctx, client).values())
        return {
            "nav": nav_links(request, portal_nav(ctx), "/portal/"),
            "client": client,
            "notification_count": count,
            "header_badges": render_slot(request, ctx, "portal.header_badge", client),
        }
    if principal.kind is PrincipalKind.OPERATOR:
        return {"nav": nav_links(request, list(PLATFORM_NAV), "/platform/")}
    return {"nav": nav_links(request, backoffice_nav(ctx), "/backoffice/")}


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


def see_other(url: str) -> RedirectResponse:
    """After a form's action succeeds: go to ``url`` (303, so reloading does not post again)."""
    return RedirectResponse(url, status_code=303)


def refusal_status(error: DomainError) -> int:
    """The status of a page that shows a refusal again: 409 for a conflict, otherwise 422."""
    return 409 if isinstance(error, Conflict) else 422
