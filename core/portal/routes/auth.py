"""Client-portal sign-in and password reset. Portal tokens are valid on portal routes only."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from core.access import auth, recovery
from core.access.routes import (
    LOGIN_DESCRIPTION,
    RESET_CONFIRM_DESCRIPTION,
    RESET_DESCRIPTION,
    THROTTLED,
    client_ip,
)
from core.access.schemas import AcceptedOut, LoginIn, PasswordResetConfirmIn, PasswordResetIn, TokenOut
from core.api.deps import portal, public
from core.context import Ctx
from core.portal import registration

router = APIRouter(tags=["portal"])


@router.post(
    "/auth/login",
    response_model=TokenOut,
    summary="Client login",
    description=LOGIN_DESCRIPTION,
    responses=THROTTLED,
)
def login(body: LoginIn, request: Request, ctx: Ctx = public()) -> TokenOut:
    issued = auth.login(
        ctx.session,
        ctx.runtime.settings,
        auth.Audience.PORTAL,
        email=str(body.email),
        password=body.password,
        tenant_slug=body.tenant,
        ip=client_ip(request),
        on_success=lambda client: registration.client_signed_in(ctx, client),
    )
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at)


@router.post("/auth/logout", status_code=204, summary="Revoke the current portal token")
def logout(ctx: Ctx = portal()) -> Response:
    assert ctx.principal is not None
    auth.logout(ctx.session, ctx.principal)
    return Response(status_code=204)


@router.post(
    "/auth/password-reset",
    status_code=202,
    response_model=AcceptedOut,
    summary="E-mail me a link to choose a new portal password",
    description=RESET_DESCRIPTION,
    responses=THROTTLED,
)
def request_password_reset(body: PasswordResetIn, request: Request, ctx: Ctx = public()) -> AcceptedOut:
    recovery.request_password_reset(
        ctx, auth.Audience.PORTAL, email=str(body.email), tenant_slug=body.tenant, ip=client_ip(request)
    )
    return AcceptedOut(message=recovery.RESET_ACCEPTED)


@router.post(
    "/auth/password-reset/confirm",
    status_code=204,
    summary="Choose a new portal password with the code from the e-mail",
    description=RESET_CONFIRM_DESCRIPTION,
    responses=THROTTLED,
)
def confirm_password_reset(body: PasswordResetConfirmIn, request: Request, ctx: Ctx = public()) -> Response:
    recovery.confirm_password_reset(
        ctx, auth.Audience.PORTAL, token=body.token, password=body.password, ip=client_ip(request)
    )
    return Response(status_code=204)
