"""The Status System's back-office pages in a real browser, each checked with axe-core: staff build
a rule with the tree editor (htmx), try it with the dry run and save it; the client's page shows
the status panel, where staff lock a status with the keyboard; the reports open."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from core.sdk.testing import PASSWORD
from plugins.status_system.tests.support import API, Broker
from tests.browser.conftest import check_accessibility, shoot, sign_in, visit

BASE = "/backoffice/plugins/status_system"


def test_staff_build_a_rule_dry_run_it_and_save_it(page: Page, crm):
    broker = Broker(crm)
    for amount in ("1500", "6000"):
        broker.deposit(broker.client(), amount)
    sign_in(page, "backoffice", broker.tenant.admin_email, PASSWORD, company="acme")
    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Statuses").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Statuses")
    check_accessibility(page)
    page.get_by_role("button", name="Delete Silver").click()
    expect(page.get_by_role("dialog")).to_contain_text("2 clients hold it")
    check_accessibility(page)
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    visit(page, f"{BASE}/statuses/new")

    page.get_by_role("link", name="Back to the statuses").click()
    page.get_by_role("link", name="Edit the rule of Gold").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The rule of Gold")
    check_accessibility(page)
    page.get_by_role("button", name="Add condition (The rule)").click()
    expect(page.get_by_label("Metric")).to_have_count(2)  # the leaf became a group of two
    check_accessibility(page)
    page.get_by_label("Value").first.fill("5000")
    page.get_by_label("Metric").nth(1).select_option(label="KYC status")
    expect(page.locator("select[name='n.1.value'][multiple]")).to_be_visible()  # re-rendered for a choice
    page.get_by_role("button", name="Remove (Condition 2)").click()
    expect(page.get_by_label("Metric")).to_have_count(1)
    page.get_by_role("button", name="Dry run").click()
    expect(page.locator("#dry-run-result")).to_contain_text("1 clients would move up, 0 down (of 2)")
    check_accessibility(page)
    shoot(page, "status-rule-editor")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Statuses")
    gold = broker.admin.get(f"{API}/statuses/{broker.gold['id']}").json()
    assert gold["criteria"] == {
        "all": [{"metric": "deposits_sum", "operator": ">=", "value": "5000", "currency": "USD"}]
    }


def test_the_client_panel_shows_progress_and_staff_lock_a_status_with_the_keyboard(page: Page, crm):
    broker = Broker(crm)
    client = broker.client()
    broker.deposit(client, "2500")
    sign_in(page, "backoffice", broker.tenant.admin_email, PASSWORD, company="acme")
    visit(page, f"/backoffice/clients/{client['id']}")
    panel = page.locator("#status-panel")
    expect(panel.get_by_role("progressbar", name="Progress to Gold")).to_have_attribute("aria-valuenow", "25")
    expect(panel).to_contain_text("USD 7,500.00 more")
    panel.locator("#ss-status_id").select_option(label="Gold")
    panel.locator("#ss-mode").select_option("lock")
    panel.locator("#ss-reason").fill("VIP by agreement")
    panel.locator("#ss-reason").press("Enter")  # the form submits from the keyboard
    expect(page.locator("#status-panel")).to_contain_text("Locked at Gold")
    check_accessibility(page)
    shoot(page, "status-client-panel")
    assert broker.standing(client)["lock"]["status"] == "Gold"
    visit(page, f"{BASE}/reports")
    expect(page.get_by_role("row", name=re.compile("Gold"))).to_have_count(
        2
    )  # its count, and the lock in the history
