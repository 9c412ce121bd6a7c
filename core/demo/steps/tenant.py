"""Step: the platform operator (the account manager) and the demo tenant with its administrator."""

from __future__ import annotations

from core.demo.context import DemoContext
from core.demo.logins import DOMAIN, PASSWORD, SLUG
from core.tenancy.schemas import OperatorIn, TenantIn
from core.tenancy.service import create_operator, create_tenant


def seed_tenant(demo: DemoContext) -> None:
    create_operator(
        demo.session, OperatorIn(email=f"operator@{DOMAIN}", name="Account Manager", password=PASSWORD)
    )
    tenant, _admin = create_tenant(
        demo.session,
        demo.runtime,
        TenantIn(
            name="Demo Broker",
            slug=SLUG,
            timezone="Europe/London",
            base_currencies=["USD", "EUR"],
            admin_email=f"admin@{DOMAIN}",
            admin_password=PASSWORD,
            admin_name="Alex Admin",
        ),
    )
    demo.tenant_id = tenant.id
