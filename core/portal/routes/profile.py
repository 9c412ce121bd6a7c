"""Client portal: registration and my profile."""

from __future__ import annotations

from fastapi import APIRouter, Response

from core.access.schemas import PasswordChange
from core.api.deps import portal, public
from core.context import Ctx
from core.crm.schemas import PortalProfileOut, PortalProfileUpdate, RegisteredOut, RegistrationIn
from core.portal import registration

router = APIRouter(tags=["portal"])


@router.post(
    "/register",
    response_model=RegisteredOut,
    status_code=201,
    summary="Sign up as a client, optionally through a promotion link",
    description="Returns the new client's profile and a portal token (the client is signed in).",
)
def register(body: RegistrationIn, ctx: Ctx = public()) -> RegisteredOut:
    client, issued = registration.register(ctx.session, ctx.runtime, body)
    return RegisteredOut(
        client=PortalProfileOut.model_validate(client),
        access_token=issued.token,
        expires_at=issued.expires_at,
    )


@router.get("/me", response_model=PortalProfileOut, summary="My profile")
def me(ctx: Ctx = portal()) -> PortalProfileOut:
    return PortalProfileOut.model_validate(registration.profile(ctx))


@router.patch("/me", response_model=PortalProfileOut, summary="Update my name, phone or language")
def update_me(body: PortalProfileUpdate, ctx: Ctx = portal()) -> PortalProfileOut:
    return PortalProfileOut.model_validate(registration.update_profile(ctx, body))


@router.post("/me/password", status_code=204, summary="Change my password (ends my other sessions)")
def change_password(body: PasswordChange, ctx: Ctx = portal()) -> Response:
    registration.change_password(ctx, body.current_password, body.new_password)
    return Response(status_code=204)
