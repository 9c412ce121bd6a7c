"""The seed documents' flows end to end, in a real browser, as the people in them act: each page
checked with axe-core on the way."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from playwright.sync_api import Page, expect

from core.sdk import Deposit, DepositKind, DepositStatus
from core.sdk.testing import PASSWORD, Worker
from tests.browser.conftest import check_accessibility, sign_in


def _approved_deposit(tenant, client_id: int, amount: str) -> None:
    """A deposit request the client made and staff approved a minute ago."""
    with tenant.ctx() as ctx:
        ctx.session.add(
            Deposit(
                client_id=client_id,
                amount=Decimal(amount),
                currency="USD",
                kind=DepositKind.REQUEST,
                status=DepositStatus.APPROVED,
                decided_at=datetime.now(UTC) - timedelta(minutes=1),
                tenant_id=tenant.id,
            )
        )


def test_seed_002_a_broker_obtains_tier_upgrade_sets_a_rule_and_upgrades_a_manual_record(page: Page, crm):
    acme = crm.tenant("acme", name="Acme Brokers", currencies=("USD", "EUR"))
    rank = acme.admin.post(
        "/api/v1/ranks", json={"name": "IB Rank", "tiers": [{"name": "Bronze"}, {"name": "Silver"}]}
    ).json()
    bronze, silver = (tier["id"] for tier in rank["tiers"])
    ib = acme.client(client_type="ib", name="Ivy Broker", rank_id=rank["id"], tier_id=bronze)
    for _ in range(2):
        _approved_deposit(acme, acme.client(referrer_id=ib["id"])["id"], "300")

    # The broker's administrator obtains the module from the marketplace.
    sign_in(page, "backoffice", acme.admin_email, PASSWORD, company="acme")
    nav = page.get_by_role("navigation", name="Back office")
    nav.get_by_role("link", name="Marketplace").click()
    page.get_by_role("link", name="Client Tier Upgrade").click()
    check_accessibility(page)
    page.get_by_role("button", name="Obtain").click()
    page.get_by_role("dialog", name="Obtain Client Tier Upgrade?").get_by_role(
        "button", name="Obtain"
    ).click()
    expect(nav.get_by_role("link", name="Tier upgrade settings")).to_be_visible()

    # A manual rule: Silver needs two branches of 100 USD and 500 USD in the downline.
    nav.get_by_role("link", name="Tier upgrade settings").click()
    page.get_by_role("button", name="New").click()
    page.get_by_label("Rule name").fill("IB promotions")
    page.get_by_label("Upgrade method").select_option(label="Manual upgrade")
    page.get_by_label("Upgrade target").select_option(label="IBs only")
    page.get_by_label(re.compile(r"^Rank")).select_option(label="IB Rank")
    page.get_by_label("Silver: downline branches").fill("2")
    page.get_by_label("Silver: downline total deposits in USD").fill("500")
    page.get_by_label("Silver: minimum deposit for each branch in USD").fill("100")
    page.get_by_label("Settlement time", exact=True).fill("18:00")
    check_accessibility(page)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("IB promotions")
    rule_id = acme.admin.get("/api/v1/plugins/tier_upgrade/rules").json()[0]["id"]

    # The weekly settlement runs (here: now, as `crm jobs run` would).
    run = Worker(crm.runtime).run_now("acme", "tier_upgrade.settlement", key=str(rule_id))
    assert run.status.value == "succeeded", run.error

    # Staff upgrade the pending record from the manual report.
    nav.get_by_role("link", name="Tier upgrade reports").click()
    page.get_by_label("Report").select_option(label="Manual upgrade report")
    row = page.get_by_role("row", name=re.compile("Ivy Broker"))
    expect(row).to_contain_text("Pending")
    check_accessibility(page)
    page.get_by_label("Select Ivy Broker").check()
    page.get_by_role("button", name="Upgrade").click()
    expect(page.get_by_role("row", name=re.compile("Ivy Broker"))).to_contain_text("Success")
    assert acme.admin.get(f"/api/v1/clients/{ib['id']}").json()["tier_id"] == silver
