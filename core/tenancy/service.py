"""Creating and maintaining tenants. A new tenant gets its administrator role (every permission,
all company data) and a first administrator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from core.access.auth import normalize_email, set_password
from core.access.credentials import check_password_strength
from core.access.models import DataScope, PlatformOperator, Role, RolePermission, User, UserRole
from core.access.service import ADMIN_ROLE_NAME
from core.audit.recorder import record_action
from core.context import Ctx
from core.crm.models import Deposit, DepositStatus, PropChallenge
from core.db.session import CrmSession
from core.errors import Conflict, FieldError, NotFound, PermissionDenied
from core.plugins.dispatch import collect
from core.schemas import apply_changes
from core.tenancy.models import Tenant
from core.tenancy.schemas import OperatorIn, TenantIn, TenantUpdate

if TYPE_CHECKING:
    from core.runtime import Runtime  # the composition root, passed in; annotations only


def _require_operator(ctx: Ctx) -> None:
    # None is the system itself (the CLI); otherwise only platform operators manage tenants.
    if ctx.principal is not None and ctx.principal.tenant_id is not None:
        raise PermissionDenied("only platform operators manage tenants")


def create_tenant(session: CrmSession, runtime: Runtime, data: TenantIn) -> tuple[Tenant, User]:
    if session.scalar(select(Tenant.id).where(Tenant.slug == data.slug)) is not None:
        raise Conflict("a tenant with this slug exists", fields=[FieldError("slug", "already in use")])
    email = normalize_email(str(data.admin_email))
    check_password_strength(data.admin_password, email=email, field="admin_password")
    tenant = Tenant(
        name=data.name, slug=data.slug, timezone=data.timezone, base_currencies=list(data.base_currencies)
    )
    session.add(tenant)
    session.flush()
    session.info["tenant_id"] = tenant.id
    admin_role = Role(
        tenant_id=tenant.id,
        name=ADMIN_ROLE_NAME,
        is_admin=True,
        data_scope=DataScope.ALL,
        description="Every permission over all company data. Managed by the system.",
    )
    admin_role.grants = [
        RolePermission(tenant_id=tenant.id, permission=name)
        for name in sorted(runtime.permissions.names(module="core"))
    ]
    admin = User(tenant_id=tenant.id, email=email, name=data.admin_name)
    set_password(session, admin, data.admin_password)
    session.add_all([admin_role, admin])
    session.flush()
    session.add(UserRole(tenant_id=tenant.id, user_id=admin.id, role_id=admin_role.id))
    session.flush()
    record_action(
        session, entity="tenants", entity_id=str(tenant.id), action="create", after=_profile(tenant)
    )
    return tenant, admin


def _profile(tenant: Tenant) -> dict[str, object]:
    return {
        "name": tenant.name,
        "slug": tenant.slug,
        "timezone": tenant.timezone,
        "base_currencies": list(tenant.base_currencies),
    }


def list_tenants(ctx: Ctx) -> list[Tenant]:
    _require_operator(ctx)
    return list(ctx.session.scalars(select(Tenant).order_by(Tenant.id)))


def get_tenant(session: CrmSession, tenant_id: int) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    return tenant


def tenant_by_slug(session: CrmSession, slug: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"no tenant {slug!r}")
    return tenant


def as_tenant(ctx: Ctx, tenant_id: int) -> Ctx:
    """An operator's unit of work switched to one tenant (platform routes name the tenant)."""
    _require_operator(ctx)
    get_tenant(ctx.session, tenant_id)
    ctx.session.info["tenant_id"] = tenant_id
    return Ctx(session=ctx.session, principal=ctx.principal, runtime=ctx.runtime)


# A refusal lists this many uses of a currency; the rest are counted.
_USES_SHOWN = 10


def currency_uses(ctx: Ctx, currency: str) -> list[str]:
    """What still relies on ``currency``: core's active prop challenges priced in it and pending
    deposits in it, then each enabled module's records (the ``crm_currency_in_use`` hook)."""
    uses = [
        f"prop challenge {name!r} (fee in {currency})"
        for name in ctx.session.scalars(
            select(PropChallenge.name)
            .where(PropChallenge.currency == currency, PropChallenge.active)
            .order_by(PropChallenge.name)
        )
    ]
    pending = ctx.session.scalar(
        select(func.count())
        .select_from(Deposit)
        .where(Deposit.currency == currency, Deposit.status == DepositStatus.PENDING)
    )
    if pending:
        uses.append(f"{pending} pending deposit{'s' if pending != 1 else ''} in {currency}")
    for answer in collect(ctx, "crm_currency_in_use", strict=True, currency=currency).values():
        uses.extend(str(use) for use in answer)
    return uses


def _check_currencies_unused(ctx: Ctx, removed: list[str]) -> None:
    """Refuse to drop a base currency that something still uses, saying what."""
    by_currency = {currency: currency_uses(ctx, currency) for currency in removed}
    uses = [use for found in by_currency.values() for use in found]
    if not uses:
        return
    in_use = ", ".join(currency for currency, found in by_currency.items() if found)
    shown = "; ".join(uses[:_USES_SHOWN])
    more = f"; and {len(uses) - _USES_SHOWN} more" if len(uses) > _USES_SHOWN else ""
    raise Conflict(
        f"{in_use} cannot be removed from the base currencies while in use: {shown}{more}",
        fields=[FieldError("base_currencies", use) for use in uses[:_USES_SHOWN]],
    )


def update_tenant(ctx: Ctx, data: TenantUpdate) -> Tenant:
    ctx.require("tenant.update")
    tenant = get_tenant(ctx.session, ctx.tenant_id)
    changes = data.changes()
    if "base_currencies" in changes:
        removed = [c for c in tenant.base_currencies if c not in changes["base_currencies"]]
        if removed:
            _check_currencies_unused(ctx, removed)
    before = _profile(tenant)
    apply_changes(tenant, changes)
    ctx.session.flush()
    record_action(
        ctx.session,
        entity="tenants",
        entity_id=str(tenant.id),
        action="update",
        before=before,
        after=_profile(tenant),
    )
    return tenant


def create_operator(session: CrmSession, data: OperatorIn) -> PlatformOperator:
    email = normalize_email(str(data.email))
    if session.scalar(select(PlatformOperator.id).where(PlatformOperator.email == email)) is not None:
        raise Conflict("an operator with this email exists", fields=[FieldError("email", "already in use")])
    check_password_strength(data.password, email=email)
    operator = PlatformOperator(email=email, name=data.name)
    set_password(session, operator, data.password)
    session.add(operator)
    session.flush()
    return operator
