"""The client portal's home, with the pop-ups shown on login and the plugins' widgets; dismissing
and using a pop-up; and the notifications page (core's messages, then each module's tab)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from markupsafe import Markup
from starlette.responses import RedirectResponse, Response

from core.api.deps import Paging, PathId, portal
from core.context import Ctx
from core.crm.clients import get_client
from core.db.paging import PageRequest
from core.notify import service as notify
from core.notify.models import Popup
from core.web.pages import page
from core.web.sessions import is_local_page

router = APIRouter(prefix="/portal")

# Where "Use Now" leads for a module's pop-up that names no action of its own (a coupon's, say):
# the prop challenges, whose fees show the client's best discount.
DEFAULT_ACTION = ("/portal/challenges", "Use Now")


def popup_action(popup: Popup) -> tuple[str, str] | None:
    """The pop-up's call to action, as (URL, label): the sender's ``action_url`` and
    ``action_label`` in its data (a portal page only), else for a module's pop-up the prop
    challenges; core's own messages have none."""
    data = popup.data or {}
    url = data.get("action_url")
    if is_local_page(url, "/portal/"):
        label = data.get("action_label")
        return url, label if isinstance(label, str) and label else "Use Now"
    if popup.source != "core":
        return DEFAULT_ACTION
    return None


@router.get("/")
def home(request: Request, ctx: Ctx = portal()) -> Response:
    popups = notify.list_popups(ctx, PageRequest(page=1, per_page=5), unread=True).items
    return page(
        request,
        ctx,
        "portal/home.html",
        {"popups": popups, "actions": {p.id: popup_action(p) for p in popups}},
    )


def _back(request: Request, fallback: str = "/portal/") -> str:
    """The portal page the form was posted from (its Referer), for "Close" to return to."""
    referer = request.headers.get("referer", "")
    root = f"{request.url.scheme}://{request.url.netloc}"
    if referer.startswith(root + "/portal/"):
        path = referer[len(root) :]
        if is_local_page(path, "/portal/"):
            return path
    return fallback


@router.post("/popups/{popup_id}/read")
def close_popup(request: Request, popup_id: PathId, ctx: Ctx = portal()) -> Response:
    """ "Close": the pop-up is read and is not shown again."""
    notify.mark_read(ctx, popup_id)
    return RedirectResponse(_back(request), status_code=303)


@router.post("/popups/{popup_id}/use")
def use_popup(popup_id: PathId, ctx: Ctx = portal()) -> Response:
    """ "Use Now": the pop-up is read, and the client goes where it leads."""
    popup = notify.mark_read(ctx, popup_id)
    action = popup_action(popup)
    return RedirectResponse(action[0] if action else "/portal/notifications", status_code=303)


class _Panels(HTMLParser):
    """The tab panels a module's slot piece renders: each ``<section role="tabpanel"
    aria-labelledby="tab-<plugin>">``, its id and its first heading's text (the tab's label)."""

    HEADINGS = frozenset({"h1", "h2", "h3", "h4"})

    def __init__(self) -> None:
        super().__init__()
        self.panels: list[dict[str, str]] = []
        self._heading: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "section" and values.get("role") == "tabpanel" and values.get("aria-labelledby"):
            self.panels.append({"tab": values["aria-labelledby"], "panel": values.get("id", ""), "label": ""})
        elif tag in self.HEADINGS and self.panels and not self.panels[-1]["label"]:
            self._heading = self.panels[-1]

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HEADINGS:
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading["label"] += data.strip() if not self._heading["label"] else " " + data.strip()


def module_tabs(html: Markup) -> list[dict[str, str]]:
    """The tabs of the modules' panels, in the order they were rendered."""
    parser = _Panels()
    parser.feed(str(html))
    parser.close()
    return [p for p in parser.panels if p["label"]]


@router.get("/notifications")
def notifications(
    request: Request,
    paging: Paging,
    tab: Annotated[str, Query(max_length=64, pattern=r"^[a-z0-9_-]*$")] = "",
    ctx: Ctx = portal(),
) -> Response:
    assert ctx.principal is not None
    client = get_client(ctx, ctx.principal.id)
    popups = notify.list_popups(ctx, paging)
    panels = page_slot(request, ctx, client)
    tabs = module_tabs(panels)
    context: dict[str, Any] = {
        "result": popups,
        "actions": {p.id: popup_action(p) for p in popups.items},
        "unread": notify.unread_count(ctx),
        "counts": notify.module_counts(ctx, client),
        "panels": panels,
        "tabs": tabs,
        "selected": f"tab-{tab}" if tab and any(t["tab"] == f"tab-{tab}" for t in tabs) else "tab-messages",
    }
    if request.headers.get("hx-request"):
        return page(request, ctx, "portal/notifications.html", context, block="listing")
    return page(request, ctx, "portal/notifications.html", context)


def page_slot(request: Request, ctx: Ctx, client: Any) -> Markup:
    from core.web.contributions import render_slot

    return render_slot(request, ctx, "portal.notifications", client)
