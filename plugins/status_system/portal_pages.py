"""The client portal's pages of the Status System: the progress bar in every page's header
(``portal.header_badge``), a widget on the portal's home (``portal.home``) and the status details
page ("My status"). They translate HTTP only: what a client is shown is decided in
:mod:`plugins.status_system.client_view` (hidden statuses, the next one, locks never shown)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from core.sdk import Client, Ctx, page, portal
from plugins.status_system import service
from plugins.status_system.client_view import ClientView, client_view

ROOT = "/portal/plugins/status_system"
DETAILS = f"{ROOT}/status"

portal_pages = APIRouter()

# Where the portal lets a client act on a missing condition (core's portal pages).
KYC_PAGE = "/portal/kyc"
DEPOSITS_PAGE = "/portal/deposits"
ACTIONS = {
    "kyc_documents_verified": (KYC_PAGE, "upload"),
    "kyc_status": (KYC_PAGE, "upload"),
    "deposits_sum": (DEPOSITS_PAGE, "deposit"),
    "deposits_count": (DEPOSITS_PAGE, "deposit"),
}


def _with_actions(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each checklist item with, when it is missing and the portal has a page to act on it, that
    page's address and what to do there (the template words it)."""
    out = []
    for item in items:
        href, action = ACTIONS.get(item["metric"], (None, None)) if not item["met"] else (None, None)
        out.append({**item, "href": href, "action": action})
    return out


def badge(ctx: Ctx, client: Client) -> dict[str, Any]:
    """``portal.header_badge`` and ``portal.home``: the status and the bar, without the checklist
    (cheap: one evaluation, shared with the rest of the page)."""
    return {"view": client_view(ctx, client.id), "details_url": DETAILS}


def home_widget(ctx: Ctx, client: Client) -> dict[str, Any]:
    view = client_view(ctx, client.id, details=True)
    return {"view": view, "details_url": DETAILS, "missing": _with_actions(view.missing)[:3]}


def _details(ctx: Ctx, view: ClientView) -> dict[str, Any]:
    statuses = {s.id: s for s in service.list_statuses(ctx) if s.visible_to_clients}
    return {
        "view": view,
        "statuses": statuses,
        "current": statuses.get(view.status.id) if view.status else None,
        "checklist": _with_actions(view.checklist),
        "kyc_missing": any(i["href"] == KYC_PAGE for i in _with_actions(view.missing)),
        "kyc_url": KYC_PAGE,
        "details_url": DETAILS,
    }


@portal_pages.get("/status")
def my_status(request: Request, ctx: Ctx = portal()) -> Response:
    """My status: what it means and grants, the ladder, and what is left for the next one."""
    assert ctx.principal is not None
    view = client_view(ctx, ctx.principal.id, details=True)
    return page(request, ctx, "status_system/portal_status.html", _details(ctx, view))
