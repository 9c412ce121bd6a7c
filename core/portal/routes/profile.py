"""Client portal: registration and my profile."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from core.access.routes import THROTTLED, client_ip
from core.access.schemas import AcceptedOut, PasswordChange, RegistrationConfirmIn
from core.api.deps import portal, public
from core.context import Ctx
from core.crm.schemas.portal import (
    InvitationAcceptIn,
    InvitationOpenIn,
    InvitationOut,
    PortalProfileOut,
    PortalProfileUpdate,
    RegisteredOut,
    RegistrationIn,
)
from core.portal import invitations, registration

router = APIRouter(tags=["portal"])


@router.post(
    "/register",
    response_model=AcceptedOut,
    status_code=202,
    summary="Sign up as a client, optionally through a promotion link",
    description="Checks the sign-up (422 names the field: company, password rule, promotion code…) and "
    "always answers 202 with the same body: a new address gets a link to confirm it (valid "
    "`CRM_REGISTRATION_LINK_HOURS`), an address that already has an account an e-mail saying so. "
    "The account opens at `POST /portal/register/confirm`.",
    responses=THROTTLED,
)
def register(body: RegistrationIn, request: Request, ctx: Ctx = public()) -> AcceptedOut:
    registration.request_registration(ctx, body, ip=client_ip(request))
    return AcceptedOut(message=registration.REGISTRATION_ACCEPTED)


@router.post(
    "/register/confirm",
    response_model=RegisteredOut,
    status_code=201,
    summary="Confirm a sign-up with the code from the e-mail: opens the account and signs in",
    description="Returns the new client's profile and a portal token. Each code opens one account, "
    "once; an unknown, used or expired code answers 422 on `token`.",
    responses=THROTTLED,
)
def confirm_registration(body: RegistrationConfirmIn, request: Request, ctx: Ctx = public()) -> RegisteredOut:
    client, issued = registration.confirm_registration(ctx, body.token, ip=client_ip(request))
    return RegisteredOut(
        client=PortalProfileOut.model_validate(client),
        access_token=issued.token,
        expires_at=issued.expires_at,
    )


@router.post(
    "/invitation/open",
    response_model=InvitationOut,
    summary="What an invitation link opens: the company, the address and the account offered",
    description="Nothing is used up. An unknown, used or expired link answers 422 on `token`.",
    responses=THROTTLED,
)
def open_invitation(body: InvitationOpenIn, request: Request, ctx: Ctx = public()) -> InvitationOut:
    found = invitations.open_invitation(ctx, body.token, ip=client_ip(request))
    return InvitationOut(
        company=found.company, email=found.email, name=found.name, client_type=found.client_type
    )


@router.post(
    "/invitation/accept",
    response_model=RegisteredOut,
    status_code=201,
    summary="Open the account an invitation offers, with a password of your choice, and sign in",
    description="The e-mailed link proved the address: no confirmation follows. Each link opens one "
    "account, once; an unknown, used or expired link, or an address that has an account already, "
    "answers 422 on `token`; a weak password 422 on `password`.",
    responses=THROTTLED,
)
def accept_invitation(body: InvitationAcceptIn, request: Request, ctx: Ctx = public()) -> RegisteredOut:
    client, issued = invitations.accept_invitation(
        ctx, body.token, body.password, name=body.name, phone=body.phone, ip=client_ip(request)
    )
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
