"""The Status System in a real browser, as the acceptance asks: a client signs in and sees the
progress bar at its start; they request a deposit in the portal, staff approve it, and on reload
the bar has moved and the status details say what is left; then staff lock a status, a further
approved deposit that would promote does not move it, and the client sees the locked status.
Every page checked by axe-core."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from core.sdk.testing import PASSWORD
from plugins.status_system.tests.support import API, Broker
from tests.browser.conftest import check_accessibility, shoot, sign_in, visit

DETAILS = "/portal/plugins/status_system/status"


def _approve_pending(broker: Broker, client: dict) -> None:
    """Staff approve the client's pending deposit (the back office's API; fires the event)."""
    listed = broker.admin.get("/api/v1/deposits", params={"client_id": client["id"], "status": "pending"})
    (deposit,) = listed.json()["items"]
    assert broker.admin.post(f"/api/v1/deposits/{deposit['id']}/approve").status_code == 200


def test_the_progress_bar_moves_with_an_approved_deposit_and_stops_under_a_lock(page: Page, crm):
    broker = Broker(crm)
    client = broker.client(name="Dana Trader")
    broker.tenant.portal(client["id"])  # a portal password
    sign_in(page, "portal", client["email"], PASSWORD, company="acme")

    # Every portal page's header shows the status and the bar at its start.
    header = page.get_by_role("banner")
    bar = header.get_by_role("progressbar", name="Base — 0 % of the way to Silver")
    expect(bar).to_have_attribute("aria-valuenow", "0")
    shoot(page, "status-portal-home-start")

    # The client requests a deposit in the portal; staff approve it.
    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Deposits").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Deposits")
    page.get_by_label("Amount").fill("400")
    page.get_by_label("Currency").select_option("USD")
    page.get_by_role("button", name="Request the deposit").click()
    expect(page.get_by_role("row", name=re.compile("Pending"))).to_be_visible()
    expect(header.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "0")  # not yet approved
    _approve_pending(broker, client)

    page.reload()
    check_accessibility(page)
    bar = header.get_by_role("progressbar", name="Base — 40 % of the way to Silver")
    expect(bar).to_have_attribute("aria-valuenow", "40")

    # A click on the status opens the details: what it means and what is left.
    header.get_by_role("link", name=re.compile("Base")).click()
    expect(page).to_have_url(re.compile(re.escape(DETAILS) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My status")
    check_accessibility(page)
    expect(page.get_by_role("heading", name="Your way to Silver")).to_be_visible()
    conditions = page.get_by_role("list", name="Conditions for Silver")
    expect(conditions).to_contain_text("need USD 600.00 more: approved deposits")
    to_deposit = conditions.get_by_role("link", name="Request a deposit")
    expect(to_deposit).to_have_attribute("href", "/portal/deposits")
    expect(page.locator(".status-ladder li[aria-current=step]")).to_contain_text("Base")
    shoot(page, "status-portal-details")

    # Staff lock Silver; a deposit that alone would reach Gold does not move it.
    response = broker.admin.post(
        f"{API}/clients/{client['id']}/assign",
        json={"status_id": broker.silver["id"], "mode": "lock", "reason": "agreed with the desk"},
    )
    assert response.status_code == 200, response.text
    broker.deposit(client, "20000")
    assert broker.status_of(client) == "Silver"

    page.reload()
    check_accessibility(page)
    expect(page.get_by_role("heading", name="Your status: Silver")).to_be_visible()
    expect(header.get_by_role("link", name=re.compile("Silver"))).to_be_visible()
    expect(page.get_by_role("heading", name="Your way to Gold")).to_have_count(0)
    expect(page.get_by_text("agreed with the desk")).to_have_count(0)  # the lock is not shown as such
    expect(page.locator(".status-ladder li[aria-current=step]")).to_contain_text("Silver")

    # Every portal page shows the locked status in its header.
    visit(page, "/portal/deposits")
    expect(header.get_by_role("link", name=re.compile("Silver"))).to_be_visible()
    expect(header.get_by_role("link", name=re.compile("Gold"))).to_have_count(0)
    shoot(page, "status-portal-locked")
