"""The client portal's public pages: signing up (also through a promotion link's URL), confirming
the sign-up with the code from the e-mail, and choosing a new password. They call the API's own
services, with the same throttles and answers that never say whether an address has an account.

A promotion link's URL is ``/portal/register?company=<company>&ref=<link code>``: the page opens
with the company and the code filled in and names the link; the link decides the new client's
type and referrer when the sign-up is confirmed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from core.access import auth, recovery
from core.access.routes import client_ip
from core.access.schemas import PasswordResetConfirmIn, PasswordResetIn, RegistrationConfirmIn
from core.api.deps import public
from core.context import Ctx
from core.crm.schemas.portal import InvitationAcceptIn, RegistrationIn
from core.errors import DomainError
from core.portal import invitations, registration
from core.web.forms import FormData, field_errors, parse_form
from core.web.sessions import start_session
from core.web.templating import render

router = APIRouter(prefix="/portal")

Slug = Annotated[str, Query(max_length=63)]
Code = Annotated[str, Query(max_length=64)]
Token = Annotated[str, Query(max_length=200)]
LANGUAGES = (("en", "English"), ("de", "Deutsch"), ("es", "Español"), ("fr", "Français"), ("zh", "中文"))


def _register_form(
    request: Request,
    ctx: Ctx,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    found = registration.signup_link(ctx, values.get("tenant") or "", values.get("promotion_code"))
    context = {
        "values": values,
        "errors": errors or {},
        "company": found[0] if found else None,
        "promotion_link": found[1] if found else None,
        "languages": LANGUAGES,
    }
    return render(request, None, "public/register.html", context, status_code=status_code)


@router.get("/register")
def register_page(request: Request, company: Slug = "", ref: Code = "", ctx: Ctx = public()) -> Response:
    return _register_form(request, ctx, {"tenant": company, "promotion_code": ref or None, "language": "en"})


@router.post("/register")
def register(request: Request, form: FormData, ctx: Ctx = public()) -> Response:
    try:
        data = parse_form(RegistrationIn, form)
        with ctx.session.begin_nested():
            registration.request_registration(ctx, data, ip=client_ip(request))
    except DomainError as error:
        if error.status != 422:
            raise
        values = {k: v for k, v in form.items() if k != "password"}
        return _register_form(request, ctx, values, errors=field_errors(error), status_code=422)
    return RedirectResponse("/portal/register/sent", status_code=303)


@router.get("/register/sent")
def register_sent(request: Request, ctx: Ctx = public()) -> Response:
    return render(
        request, None, "public/message.html",
        {"heading": "Check your e-mail", "message": registration.REGISTRATION_ACCEPTED,
         "link": ("/portal/register/confirm", "I have a code")},
    )  # fmt: skip


def _confirm_form(
    request: Request, token: str, errors: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    context = {"token": token, "errors": errors or {}}
    return render(request, None, "public/register_confirm.html", context, status_code=status_code)


@router.get("/register/confirm")
def confirm_page(request: Request, token: Token = "", ctx: Ctx = public()) -> Response:
    """The link in the e-mail: a button confirms (a GET changes nothing, so a mail scanner opening
    the link opens no account)."""
    return _confirm_form(request, token)


@router.post("/register/confirm")
def confirm(request: Request, form: FormData, ctx: Ctx = public()) -> Response:
    try:
        data = parse_form(RegistrationConfirmIn, form)
        with ctx.session.begin_nested():
            _client, issued = registration.confirm_registration(ctx, data.token, ip=client_ip(request))
    except DomainError as error:
        if error.status != 422:
            raise
        return _confirm_form(request, str(form.get("token") or ""), field_errors(error), 422)
    response = RedirectResponse("/portal/", status_code=303)
    start_session(response, request, auth.Audience.PORTAL, issued.token, issued.expires_at)
    return response


# --- an invitation a module sent (a lead's registration e-mail, say) -----------------------------


def _invitation_form(
    request: Request,
    ctx: Ctx,
    token: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    found = None
    if token:
        try:
            with ctx.session.begin_nested():
                found = invitations.open_invitation(ctx, token, ip=client_ip(request))
        except DomainError as error:
            if error.status != 422:
                raise
    context = {"token": token, "invitation": found, "values": values or {}, "errors": errors or {}}
    return render(request, None, "public/invitation.html", context, status_code=status_code)


@router.get("/invitation")
def invitation_page(request: Request, token: Token = "", ctx: Ctx = public()) -> Response:
    """The link in the invitation: the account offered, a name and a password to choose (a GET
    opens nothing)."""
    return _invitation_form(request, ctx, token)


@router.post("/invitation")
def accept_invitation(request: Request, form: FormData, ctx: Ctx = public()) -> Response:
    token = str(form.get("token") or "")
    try:
        data = parse_form(InvitationAcceptIn, form)
        with ctx.session.begin_nested():
            _client, issued = invitations.accept_invitation(
                ctx, data.token, data.password, name=data.name, ip=client_ip(request)
            )
    except DomainError as error:
        if error.status != 422:
            raise
        values = {"name": str(form.get("name") or "")}
        return _invitation_form(request, ctx, token, values, field_errors(error), 422)
    response = RedirectResponse("/portal/", status_code=303)
    start_session(response, request, auth.Audience.PORTAL, issued.token, issued.expires_at)
    return response


# --- password reset ---------------------------------------------------------------------------------


@router.get("/reset-password")
def reset_page(request: Request, token: Token = "", company: Slug = "", ctx: Ctx = public()) -> Response:
    """Without a code: ask for the link; with the code from the e-mail: choose the new password."""
    template = "public/reset_confirm.html" if token else "public/reset_request.html"
    return render(request, None, template, {"token": token, "values": {"tenant": company}, "errors": {}})


@router.post("/reset-password")
def request_reset(request: Request, form: FormData, ctx: Ctx = public()) -> Response:
    try:
        data = parse_form(PasswordResetIn, form)
        recovery.request_password_reset(
            ctx, auth.Audience.PORTAL, email=str(data.email), tenant_slug=data.tenant, ip=client_ip(request)
        )
    except DomainError as error:
        if error.status != 422:
            raise
        return render(
            request, None, "public/reset_request.html",
            {"token": "", "values": form, "errors": field_errors(error)}, status_code=422,
        )  # fmt: skip
    return render(
        request, None, "public/message.html",
        {"heading": "Check your e-mail", "message": recovery.RESET_ACCEPTED, "link": None},
    )  # fmt: skip


@router.post("/reset-password/confirm")
def confirm_reset(request: Request, form: FormData, ctx: Ctx = public()) -> Response:
    try:
        data = parse_form(PasswordResetConfirmIn, form)
        with ctx.session.begin_nested():
            recovery.confirm_password_reset(
                ctx, auth.Audience.PORTAL, token=data.token, password=data.password, ip=client_ip(request)
            )
    except DomainError as error:
        if error.status != 422:
            raise
        return render(
            request, None, "public/reset_confirm.html",
            {"token": str(form.get("token") or ""), "values": {}, "errors": field_errors(error)},
            status_code=422,
        )  # fmt: skip
    return render(
        request, None, "public/message.html",
        {"heading": "Your password is changed", "message": "Sign in with your new password.",
         "link": ("/portal/login", "Sign in")},
    )  # fmt: skip
