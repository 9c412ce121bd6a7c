"""Platform routes for account managers, and the tenant's own company profile."""

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
from core.access.schemas import (
    AcceptedOut,
    OperatorLoginIn,
    OperatorPasswordResetIn,
    PasswordResetConfirmIn,
    TokenOut,
)
from core.api.deps import PathId, operator, public, staff
from core.context import Ctx
from core.tenancy import service
from core.tenancy.schemas import TenantIn, TenantOut, TenantUpdate

router = APIRouter()


@router.post(
    "/platform/auth/login",
    tags=["platform"],
    response_model=TokenOut,
    summary="Operator login",
    description=LOGIN_DESCRIPTION,
    responses=THROTTLED,
)
def operator_login(body: OperatorLoginIn, request: Request, ctx: Ctx = public()) -> TokenOut:
    issued = auth.login(
        ctx.session,
        ctx.runtime.settings,
        auth.Audience.PLATFORM,
        email=str(body.email),
        password=body.password,
        ip=client_ip(request),
    )
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at)


@router.post(
    "/platform/auth/password-reset",
    tags=["platform"],
    status_code=202,
    response_model=AcceptedOut,
    summary="E-mail me a link to choose a new operator password",
    description=RESET_DESCRIPTION,
    responses=THROTTLED,
)
def operator_password_reset(
    body: OperatorPasswordResetIn, request: Request, ctx: Ctx = public()
) -> AcceptedOut:
    recovery.request_password_reset(ctx, auth.Audience.PLATFORM, email=str(body.email), ip=client_ip(request))
    return AcceptedOut(message=recovery.RESET_ACCEPTED)


@router.post(
    "/platform/auth/password-reset/confirm",
    tags=["platform"],
    status_code=204,
    summary="Choose a new operator password with the code from the e-mail",
    description=RESET_CONFIRM_DESCRIPTION,
    responses=THROTTLED,
)
def operator_password_reset_confirm(
    body: PasswordResetConfirmIn, request: Request, ctx: Ctx = public()
) -> Response:
    recovery.confirm_password_reset(
        ctx, auth.Audience.PLATFORM, token=body.token, password=body.password, ip=client_ip(request)
    )
    return Response(status_code=204)


@router.post("/platform/auth/logout", tags=["platform"], status_code=204)
def operator_logout(ctx: Ctx = operator()) -> Response:
    assert ctx.principal is not None
    auth.logout(ctx.session, ctx.principal)
    return Response(status_code=204)


@router.get("/platform/tenants", tags=["platform"], response_model=list[TenantOut])
def list_tenants(ctx: Ctx = operator()) -> list[TenantOut]:
    return [TenantOut.model_validate(t) for t in service.list_tenants(ctx)]


@router.post(
    "/platform/tenants",
    tags=["platform"],
    response_model=TenantOut,
    status_code=201,
    description="Creates the company, its Administrator role and its first administrator.",
)
def create_tenant(body: TenantIn, ctx: Ctx = operator()) -> TenantOut:
    tenant, _admin = service.create_tenant(ctx.session, ctx.runtime, body)
    return TenantOut.model_validate(tenant)


@router.get("/platform/tenants/{tenant_id}", tags=["platform"], response_model=TenantOut)
def get_tenant(tenant_id: PathId, ctx: Ctx = operator()) -> TenantOut:
    return TenantOut.model_validate(service.get_tenant(ctx.session, tenant_id))


@router.get("/tenant", tags=["company"], response_model=TenantOut, summary="My company's profile")
def my_tenant(ctx: Ctx = staff("tenant.read")) -> TenantOut:
    return TenantOut.model_validate(service.get_tenant(ctx.session, ctx.tenant_id))


@router.patch(
    "/tenant",
    tags=["company"],
    response_model=TenantOut,
    description="Removing a base currency that something still uses (active prop challenges, pending "
    "deposits, modules' coupons or tier upgrade rules) is refused with 409, listing those uses.",
)
def update_my_tenant(body: TenantUpdate, ctx: Ctx = staff("tenant.update")) -> TenantOut:
    return TenantOut.model_validate(service.update_tenant(ctx, body))
