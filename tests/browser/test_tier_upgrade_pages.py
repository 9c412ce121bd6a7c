"""Client Tier Upgrade in a real browser: staff set up a rule through its form (the rank's tiers
appear once the rank is chosen), then upgrade a client from the manual report's multi-select."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from core.sdk.testing import PASSWORD
from plugins.tier_upgrade.tests.support import Broker
from tests.browser.conftest import check_accessibility, shoot, sign_in, visit

BASE = "/backoffice/plugins/tier_upgrade"


def test_staff_create_a_rule_choosing_a_rank_and_filling_its_tiers(page: Page, crm):
    broker = Broker(crm)
    sign_in(page, "backoffice", broker.tenant.admin_email, PASSWORD, company="acme")
    nav = page.get_by_role("navigation", name="Back office")
    nav.get_by_role("link", name="Tier upgrade settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tier upgrade settings")
    check_accessibility(page)
    page.get_by_role("button", name="New").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New tier upgrade rule")
    check_accessibility(page)

    page.get_by_label("Rule name").fill("IB promotions")
    page.get_by_label("Upgrade method").select_option(label="Manual upgrade")
    page.get_by_label("Upgrade target").select_option(label="IBs only")
    page.get_by_label(re.compile(r"^Rank")).select_option(label="IB Rank")
    rows = page.locator("table.criteria tbody th[scope=row]")
    expect(rows).to_have_text(["Bronze", "Silver", "Gold"])  # ascending, lowest first
    page.get_by_label("Bronze: downline total deposits in USD").fill("100")
    page.get_by_label("Silver: downline branches").fill("2")
    page.get_by_label("Silver: downline total deposits in USD").fill("500")
    page.get_by_label("Silver: minimum deposit for each branch in USD").fill("100")
    page.get_by_label("Gold: downline total deposits in USD").fill("1000")
    page.get_by_label("Gold: downline total deposits in EUR").fill("800")
    page.get_by_label("Relation between currencies").select_option("or")
    page.get_by_label("Settlement time zone").select_option("Europe/London")
    page.get_by_label("Settlement time", exact=True).fill("18:00")
    check_accessibility(page)
    shoot(page, "tier-rule-form")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("IB promotions")
    check_accessibility(page)
    expect(page.get_by_role("row", name=re.compile("Silver"))).to_contain_text("500.00 USD")
    rule = broker.admin.get("/api/v1/plugins/tier_upgrade/rules").json()[0]
    assert [t["tier_name"] for t in rule["tiers"]] == ["Bronze", "Silver", "Gold"]
    assert (rule["target"], rule["currency_relation"]) == ("ibs", "or")
    page.get_by_role("link", name="Back to the tier upgrade settings").click()
    expect(page.get_by_role("row", name=re.compile("IB promotions"))).to_contain_text("Sundays at 18:00")
    check_accessibility(page)
    shoot(page, "tier-rules")


def test_a_manual_record_is_upgraded_through_the_multi_select(page: Page, crm):
    broker = Broker(crm)
    ib = broker.ranked(client_type="ib", tier=broker.bronze, name="Ivy Broker")
    for _ in range(2):
        broker.deposit(broker.client(ib), "300")
    rule = broker.rule()
    broker.settle(rule["id"])
    sign_in(page, "backoffice", broker.tenant.admin_email, PASSWORD, company="acme")
    visit(page, f"{BASE}/reports")
    expect(page.get_by_role("heading", level=2)).to_have_text("Auto upgrade report")
    page.get_by_label("Report").select_option(label="Manual upgrade report")
    expect(page.get_by_role("heading", level=2)).to_have_text("Manual upgrade report")
    expect(page).to_have_url(re.compile(r"method=manual"))
    check_accessibility(page)
    row = page.get_by_role("row", name=re.compile("Ivy Broker"))
    expect(row).to_contain_text("Pending")
    page.get_by_label("Select Ivy Broker").check()
    page.get_by_role("button", name="Upgrade").click()
    expect(page.get_by_role("status").filter(has_text="upgraded")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Ivy Broker"))).to_contain_text("Success")
    check_accessibility(page)
    shoot(page, "tier-manual-report")
    assert broker.tier_of(ib) == broker.silver
