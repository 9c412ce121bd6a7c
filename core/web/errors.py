"""Errors on pages answer as pages: a signed-out visitor is sent to sign in, a refusal or a missing
record gets a clear 403 or 404 page, and an htmx request gets an alert swapped into the page's
notice area instead of a whole page."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from core.i18n import N_
from core.web.i18n import gettext
from core.web.sessions import PAGE_ROOTS, audience_of_path
from core.web.templating import is_htmx, render

TITLES = {
    400: N_("Bad request"),
    401: N_("Please sign in"),
    403: N_("You do not have access to this page"),
    404: N_("Page not found"),
    405: N_("Not allowed"),
    409: N_("This cannot be done now"),
    422: N_("Please check what you entered"),
    429: N_("Too many attempts"),
    503: N_("Please try again"),
}
API_PATHS = ("/api/", "/docs", "/redoc", "/openapi.json", "/static/")


def is_page_request(request: Request) -> bool:
    """A request for a page of an app that serves pages (anything but the API, its docs and the
    static files)."""
    path = request.url.path
    serves_pages = getattr(request.app.state, "pages", None) is not None
    return serves_pages and not any(path == p.rstrip("/") or path.startswith(p) for p in API_PATHS)


def page_error(
    request: Request,
    status: int,
    message: str,
    fields: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    audience = audience_of_path(request.url.path)
    if status == 401 and audience is not None:
        login = f"{PAGE_ROOTS[audience]}/login"
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            login += f"?next={quote(target)}"
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": login})
        return RedirectResponse(login, status_code=303)
    title = gettext(TITLES.get(status, N_("Something went wrong")))
    home = f"{PAGE_ROOTS[audience]}/" if audience is not None else "/"
    if is_htmx(request):
        alert = render(
            request, None, "public/alert.html", {"title": title, "message": message, "fields": fields}
        )
        alert.status_code = status
        alert.headers.update({"HX-Retarget": "#flash", "HX-Reswap": "innerHTML", **(headers or {})})
        return alert
    response: HTMLResponse = render(
        request,
        None,
        "public/error.html",
        {"title": title, "message": message, "fields": fields or [], "home": home},
        status_code=status,
        headers=headers,
    )
    return response
