"""Rules for amounts entered into the CRM."""

from __future__ import annotations

from decimal import Decimal

from core import reference
from core.context import Ctx
from core.errors import InvalidInput
from core.tenancy.models import Tenant


def company_currencies(ctx: Ctx) -> list[str]:
    tenant = ctx.session.get(Tenant, ctx.tenant_id)
    assert tenant is not None
    return list(tenant.base_currencies)


def check_company_currency(ctx: Ctx, currency: str, *, field: str = "currency") -> None:
    allowed = company_currencies(ctx)
    if currency not in allowed:
        raise InvalidInput(field, f"must be one of the company's currencies: {', '.join(allowed)}")


def check_precision(amount: Decimal, currency: str, *, field: str = "amount") -> None:
    if not reference.has_valid_precision(amount, currency):
        places = reference.minor_units(currency)
        raise InvalidInput(field, f"{currency} allows at most {places} decimal place(s)")
