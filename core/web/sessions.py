"""Sign-in for people: one session cookie per audience, and CSRF protection for every form.

A page session is the same bearer token the API issues (``core.access.auth.login``), carried in an
HttpOnly cookie scoped to its audience's pages, so logout, password changes, deactivation and the
principal cache work for pages exactly as for the API. Unsafe requests to pages must carry the CSRF
token: a random value in its own cookie, repeated in the form (``csrf_token``) or, for htmx
requests, in the ``X-CSRF-Token`` header (double submit). A page of another site can neither read
that cookie nor set the header, and the cookie is ``SameSite=Strict``.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from core.access.auth import Audience
from core.errors import PermissionDenied

# Where each audience's pages live; its session cookie is sent to those paths only.
PAGE_ROOTS = {Audience.BACK_OFFICE: "/backoffice", Audience.PORTAL: "/portal", Audience.PLATFORM: "/platform"}
CSRF_COOKIE = "crm_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_cookie(audience: Audience) -> str:
    return f"crm_session_{audience.value}"


def audience_of_path(path: str) -> Audience | None:
    """The audience whose pages ``path`` belongs to (None for the public pages)."""
    for audience, root in PAGE_ROOTS.items():
        if path == root or path.startswith(root + "/"):
            return audience
    return None


def is_local_page(target: object, root: str) -> bool:
    """Whether ``target`` is a path of this site under ``root`` (a prefix such as
    ``"/portal/"``), safe to redirect to: never another host (``//host``, ``\\host``)."""
    return isinstance(target, str) and target.startswith(root) and "//" not in target and "\\" not in target


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def start_session(
    response: Response, request: Request, audience: Audience, token: str, expires: datetime
) -> None:
    response.set_cookie(
        session_cookie(audience),
        token,
        expires=expires,
        path=PAGE_ROOTS[audience],
        httponly=True,
        samesite="lax",  # lax: a link from an e-mail to a page still arrives signed in
        secure=_secure(request),
    )


def end_session(response: Response, audience: Audience) -> None:
    response.delete_cookie(session_cookie(audience), path=PAGE_ROOTS[audience])


def session_token(request: Request, audience: Audience) -> str | None:
    return request.cookies.get(session_cookie(audience)) or None


def csrf_token(request: Request) -> str:
    """This browser's CSRF token: the cookie's value, or a new one (set on the response by
    ``keep_csrf_cookie``)."""
    token = request.cookies.get(CSRF_COOKIE) or request.scope.get("crm_new_csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.scope["crm_new_csrf"] = token
    return str(token)


def keep_csrf_cookie(request: Request, response: Response) -> None:
    new = request.scope.get("crm_new_csrf")
    if new:
        response.set_cookie(
            CSRF_COOKIE, new, path="/", httponly=True, samesite="strict", secure=_secure(request)
        )


async def require_csrf(request: Request) -> None:
    """Every page router's dependency: an unsafe request must repeat the CSRF cookie."""
    if request.method not in UNSAFE:
        return
    expected = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        raise PermissionDenied(
            "the form has expired or did not come from this site: reload the page and retry"
        )
