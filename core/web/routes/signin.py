"""Sign-in and sign-out pages of the three audiences, on the API's own sign-in service (the same
throttle, password rules and login log), and the public landing page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from core.access import auth
from core.access.auth import Audience
from core.api.deps import operator, portal, public, signed_in_staff
from core.context import Ctx
from core.errors import TooManyAttempts, Unauthenticated
from core.i18n import N_
from core.portal import registration
from core.web.i18n import gettext
from core.web.sessions import PAGE_ROOTS, end_session, is_local_page, start_session
from core.web.templating import render

router = APIRouter()

HEADINGS = {
    Audience.BACK_OFFICE: N_("Sign in to the back office"),
    Audience.PORTAL: N_("Sign in to the client portal"),
    Audience.PLATFORM: N_("Sign in to the platform console"),
}
Text = Annotated[str, Form(max_length=320)]
NextQuery = Annotated[str, Query(max_length=2000)]


def safe_next(audience: Audience, target: str | None) -> str:
    """Where to go after signing in: a page of the same audience on this site, else its home."""
    root = PAGE_ROOTS[audience]
    if is_local_page(target, root + "/"):
        return target
    return root + "/"


def _form(
    request: Request,
    audience: Audience,
    *,
    next_page: str = "",
    company: str = "",
    email: str = "",
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        None,
        "public/login.html",
        {
            "heading": gettext(HEADINGS[audience]),
            "action": f"{PAGE_ROOTS[audience]}/login",
            "ask_company": audience is not Audience.PLATFORM,
            "company": company,
            "email": email,
            "next": next_page,
            "message": gettext(message) if message else None,
            "register_href": "/portal/register" if audience is Audience.PORTAL else None,
        },
        status_code=status_code,
    )


def _sign_in(
    request: Request, ctx: Ctx, audience: Audience, company: str, email: str, password: str, next_page: str
) -> Response:
    def retry(message: str, status_code: int) -> Response:
        return _form(
            request, audience, next_page=next_page, company=company, email=email, message=message,
            status_code=status_code,
        )  # fmt: skip

    if not email or not password or (audience is not Audience.PLATFORM and not company):
        return retry(N_("Enter your company, e-mail and password."), 422)
    on_success = None
    if audience is Audience.PORTAL:
        on_success = lambda client: registration.client_signed_in(ctx, client)  # noqa: E731
    try:
        issued = auth.login(
            ctx.session,
            ctx.runtime.settings,
            audience,
            email=email,
            password=password,
            tenant_slug=company or None,
            ip=request.client.host if request.client else None,
            on_success=on_success,
        )
    except Unauthenticated:
        return retry(N_("Invalid company, e-mail or password."), 401)
    except TooManyAttempts as refusal:
        wait = gettext(N_("Too many attempts: wait %(seconds)s seconds and try again."))
        return retry(wait % {"seconds": refusal.retry_after}, 429)
    response = RedirectResponse(safe_next(audience, next_page), status_code=303)
    start_session(response, request, audience, issued.token, issued.expires_at)
    return response


def _sign_out(ctx: Ctx, audience: Audience) -> Response:
    assert ctx.principal is not None
    auth.logout(ctx.session, ctx.principal)
    response = RedirectResponse(f"{PAGE_ROOTS[audience]}/login", status_code=303)
    end_session(response, audience)
    return response


@router.get("/")
def landing(request: Request, ctx: Ctx = public()) -> Response:
    return render(request, None, "public/landing.html")


def _add_sign_in_pages(audience: Audience, signed_in: Callable[[], Any]) -> None:
    """The sign-in form, its post and the sign-out of one audience, under its page root. The
    platform's form asks for no company: any company sent is ignored."""
    root = PAGE_ROOTS[audience]
    name = audience.value

    def sign_in_form(
        request: Request,
        next: NextQuery = "",
        company: Annotated[str, Query(max_length=63)] = "",
        ctx: Ctx = public(),
    ) -> Response:
        return _form(request, audience, next_page=next, company=company)

    def sign_in(
        request: Request,
        company: Text = "",
        email: Text = "",
        password: Text = "",
        next: Annotated[str, Form(max_length=2000)] = "",
        ctx: Ctx = public(),
    ) -> Response:
        company = "" if audience is Audience.PLATFORM else company
        return _sign_in(request, ctx, audience, company, email, password, next)

    def sign_out(ctx: Ctx = signed_in()) -> Response:
        return _sign_out(ctx, audience)

    router.add_api_route(f"{root}/login", sign_in_form, methods=["GET"], name=f"{name}_sign_in_form")
    router.add_api_route(f"{root}/login", sign_in, methods=["POST"], name=f"{name}_sign_in")
    router.add_api_route(f"{root}/logout", sign_out, methods=["POST"], name=f"{name}_sign_out")


_add_sign_in_pages(Audience.BACK_OFFICE, signed_in_staff)
_add_sign_in_pages(Audience.PORTAL, portal)
_add_sign_in_pages(Audience.PLATFORM, operator)
