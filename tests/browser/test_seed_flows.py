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
    # The report changes on the select's change once htmx has bound the form, when the document
    # has loaded: a choice made while it is still loading is lost, as a user's would be.
    page.wait_for_load_state("load")
    page.get_by_label("Report").select_option(label="Manual upgrade report")
    row = page.get_by_role("row", name=re.compile("Ivy Broker"))
    expect(row).to_contain_text("Pending")
    check_accessibility(page)
    page.get_by_label("Select Ivy Broker").check()
    page.get_by_role("button", name="Upgrade").click()
    expect(page.get_by_role("row", name=re.compile("Ivy Broker"))).to_contain_text("Success")
    assert acme.admin.get(f"/api/v1/clients/{ib['id']}").json()["tier_id"] == silver


def test_seed_000_coupons_from_installation_to_redemption(page: Page, crm):
    acme = crm.tenant("acme", name="Acme Brokers")
    dana = acme.client(name="Dana Trader")
    acme.portal(dana["id"])  # she has a portal password
    acme.admin.post("/api/v1/prop/challenges", json={"name": "Two steps", "fee": "100.00", "currency": "USD"})
    crm.operator("am@platform.example.com")

    # The account manager installs Coupons (an account-manager-only module) for the broker.
    sign_in(page, "platform", "am@platform.example.com", PASSWORD)
    page.get_by_role("link", name="Acme Brokers").click()
    page.get_by_role("link", name="Coupons and Promo Codes").click()
    check_accessibility(page)
    page.get_by_role("button", name="Install").click()
    expect(page.get_by_text("The module is installed for the tenant.")).to_be_visible()

    # The broker's administrator grants the coupon permissions to a marketing role and user.
    sign_in(page, "backoffice", acme.admin_email, PASSWORD, company="acme")
    nav = page.get_by_role("navigation", name="Back office")
    nav.get_by_role("link", name="Roles").click()
    page.get_by_role("link", name="New role").click()
    page.get_by_label("Name", exact=True).fill("Marketing")
    coupons = page.get_by_role("group", name="Coupons and Promo Codes")
    coupons.get_by_label("Read Coupons and Promo Codes", exact=True).check()
    coupons.get_by_label("Update Coupons and Promo Codes", exact=True).check()
    page.get_by_role("group", name="Core").get_by_label("Read clients", exact=True).check()
    page.get_by_role("group", name="Data permission").get_by_label("All company data").check()
    page.get_by_role("button", name="Create role").click()
    nav.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="New user").click()
    page.get_by_label("Name", exact=True).fill("Mia Marketing")
    page.get_by_label("E-mail").fill("mia@acme.example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("group", name="Roles").get_by_label("Marketing").check()
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status").filter(has_text="The user was created.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    # Marketing creates a coupon and distributes it to Dana with a pop-up.
    sign_in(page, "backoffice", "mia@acme.example.com", PASSWORD, company="acme")
    nav.get_by_role("link", name="Coupons", exact=True).click()
    page.get_by_role("button", name="Create coupon").click()
    page.get_by_label("Coupon name").fill("Welcome gift")
    page.get_by_role("radio", name="Percentage").check()
    page.get_by_label("Discount value").fill("20")
    page.get_by_role("radio", name="Fixed use count").check()
    page.get_by_label("Uses per client").fill("1")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("row", name=re.compile("Welcome gift")).get_by_role(
        "button", name="Distribute Welcome gift"
    ).click()
    dialog = page.get_by_role("dialog", name="Distribute “Welcome gift”")
    dialog.get_by_label("Find clients by name or e-mail").fill("dana")
    dialog.get_by_label(re.compile("Dana Trader")).check()
    dialog.get_by_label("Pop-up title").fill("A gift for you")
    dialog.get_by_label("Pop-up text").fill("20% off your next challenge")
    dialog.get_by_role("button", name="Choose Classic").click()
    dialog.get_by_role("button", name="Distribute").click()
    expect(page.get_by_role("status").filter(has_text="The coupon was distributed")).to_be_visible()

    # Dana signs in: the pop-up, the red dot; "Use Now" leads to the challenges, the coupon pays.
    sign_in(page, "portal", dana["email"], PASSWORD, company="acme")
    popup = page.get_by_role("dialog", name="A gift for you")
    expect(popup).to_be_visible()
    badge = page.get_by_role("link", name=re.compile("Notifications")).get_by_role("status")
    expect(badge).to_have_class(re.compile("badge-on"))
    popup.get_by_role("button", name="Use Now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Prop challenges")
    check_accessibility(page)
    page.get_by_role("link", name="Buy Two steps").click()
    expect(page.get_by_role("radio", name=re.compile("Welcome gift"))).to_be_checked()
    check_accessibility(page)
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Order #\d+"))
    expect(page.get_by_text("80.00 USD").first).to_be_visible()
    check_accessibility(page)

    # Marketing sees the redemption in the coupon's statistics.
    sign_in(page, "backoffice", "mia@acme.example.com", PASSWORD, company="acme")
    nav.get_by_role("link", name="Coupons", exact=True).click()
    page.get_by_role("row", name=re.compile("Welcome gift")).get_by_role(
        "button", name="Statistics of Welcome gift"
    ).click()
    expect(page.get_by_role("row", name=re.compile("Dana Trader"))).to_contain_text("Used up")
    check_accessibility(page)
