"""Step: promotion links (the website's, the IB programme's, one IB's own) and twenty clients who
signed up through them."""

from __future__ import annotations

from core.crm.models import ClientType, PromotionLink
from core.demo.context import DemoContext


def seed_promotion_links(demo: DemoContext) -> None:
    tenant_id, ibs = demo.tenant_id, demo.ibs
    website = PromotionLink(
        tenant_id=tenant_id, code="WELCOME", name="Website sign-up", client_type=ClientType.TRADER
    )
    ib_programme = PromotionLink(
        tenant_id=tenant_id,
        code="IBPARTNER",
        name="IB partner programme",
        client_type=ClientType.IB,
        referrer_id=ibs[0].id,
    )
    ib_own = PromotionLink(
        tenant_id=tenant_id,
        code=f"IB{ibs[1].id}",
        name=f"{ibs[1].name}'s traders",
        client_type=ClientType.TRADER,
        referrer_id=ibs[1].id,
    )
    demo.session.add_all([website, ib_programme, ib_own])
    demo.session.flush()
    for client in demo.clients[150:170]:
        client.promotion_link_id = ib_own.id if client.referrer_id == ibs[1].id else website.id
