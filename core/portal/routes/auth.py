"""Client-portal sign-in. Portal tokens are valid on portal routes only."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from core.access import auth
from core.access.routes import client_ip
from core.access.schemas import LoginIn, TokenOut
from core.api.deps import portal, public
from core.context import Ctx
from core.portal import registration

router = APIRouter(tags=["portal"])


@router.post("/auth/login", response_model=TokenOut, summary="Client login")
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
