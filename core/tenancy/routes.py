"""Platform routes for account managers, and the tenant's own company profile."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from core.access import auth
from core.access.routes import client_ip
from core.access.schemas import OperatorLoginIn, TokenOut
from core.api.deps import operator, public, staff
from core.context import Ctx
from core.tenancy import service
from core.tenancy.schemas import TenantIn, TenantOut, TenantUpdate

router = APIRouter()


@router.post("/platform/auth/login", tags=["platform"], response_model=TokenOut, summary="Operator login")
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
def get_tenant(tenant_id: int, ctx: Ctx = operator()) -> TenantOut:
    return TenantOut.model_validate(service.get_tenant(ctx.session, tenant_id))


@router.get("/tenant", tags=["company"], response_model=TenantOut, summary="My company's profile")
def my_tenant(ctx: Ctx = staff("tenant.read")) -> TenantOut:
    return TenantOut.model_validate(service.get_tenant(ctx.session, ctx.tenant_id))


@router.patch("/tenant", tags=["company"], response_model=TenantOut)
def update_my_tenant(body: TenantUpdate, ctx: Ctx = staff("tenant.update")) -> TenantOut:
    return TenantOut.model_validate(service.update_tenant(ctx, body))
