"""Staff at work in the back office's CRM pages, in a real browser (axe-core on every page)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from core.sdk.testing import PASSWORD
from core.testing import expect as expect_status
from tests.browser.conftest import check_accessibility, shoot, sign_in, visit


def test_staff_filter_clients_open_one_and_approve_a_pending_deposit(page: Page, crm):
    acme = crm.tenant("acme", name="Acme Brokers")
    ib = acme.client(name="Iris Partner", client_type="ib")
    client = acme.client(name="Carl Trader", referrer_id=ib["id"])
    acme.client(name="Dana Other")
    deposit = expect_status(
        acme.admin.post(
            "/api/v1/deposits", json={"client_id": client["id"], "amount": "250", "currency": "USD"}
        ),
        201,
    )
    sign_in(page, "backoffice", acme.admin_email, PASSWORD, company="acme")

    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Clients").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Clients")
    check_accessibility(page)
    rows = page.locator("#listing tbody tr")
    expect(rows).to_have_count(3)
    # Filtering swaps the listing in place (htmx) and puts the filters in the address bar.
    page.get_by_label("Client type").select_option("trader")
    page.get_by_label("Name or e-mail").fill("carl")
    with page.expect_request(lambda r: r.headers.get("hx-request") == "true"):
        page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/backoffice/clients\?.*q=carl"))
    expect(page.get_by_role("link", name="Export these clients as CSV")).to_have_attribute(
        "href", re.compile(r"export\.csv\?.*client_type=trader")
    )
    check_accessibility(page)
    shoot(page, "backoffice-clients-filtered")

    page.get_by_role("link", name="Carl Trader").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Carl Trader")
    expect(page.locator(".uplines").get_by_role("link", name="Iris Partner")).to_be_visible()
    expect(page.get_by_role("cell", name="250.00 USD")).to_be_visible()
    check_accessibility(page)
    shoot(page, "backoffice-client-page")

    visit(page, "/backoffice/deposits?status=pending")
    page.get_by_role("button", name="Approve", exact=True).click()
    dialog = page.get_by_role("dialog", name="Approve this deposit?")
    expect(dialog).to_be_visible()
    check_accessibility(page)
    dialog.get_by_role("button", name="Approve deposit").click()
    expect(page).to_have_url(re.compile(r"/backoffice/deposits\?status=pending$"))
    expect(page.get_by_role("cell", name="No deposit matches.")).to_be_visible()
    decided = expect_status(acme.admin.get(f"/api/v1/deposits/{deposit['id']}"), 200)
    assert decided["status"] == "approved"
    visit(page, "/backoffice/deposits?status=approved")
    expect(page.get_by_role("cell", name="250.00 USD")).to_be_visible()


def test_the_other_crm_pages_pass_axe_and_a_tier_is_renamed_from_the_keyboard(page: Page, crm):
    acme = crm.tenant("acme")
    client = acme.client(name="Gus Kyc")
    expect_status(
        acme.admin.post(
            "/api/v1/kyc-documents",
            json={"client_id": client["id"], "doc_type": "passport", "file_name": "gus.pdf"},
        ),
        201,
    )
    group = expect_status(acme.admin.post("/api/v1/client-groups", json={"name": "Gold"}), 201)
    expect_status(acme.admin.post("/api/v1/promotion-links", json={"name": "Spring", "code": "SPRING"}), 201)
    rank = expect_status(
        acme.admin.post(
            "/api/v1/ranks", json={"name": "Partner", "tiers": [{"name": "Bronze"}, {"name": "Silver"}]}
        ),
        201,
    )
    sign_in(page, "backoffice", acme.admin_email, PASSWORD, company="acme")
    for path in (
        "/backoffice/kyc?status=pending",
        "/backoffice/promotion-links",
        "/backoffice/groups",
        f"/backoffice/groups/{group['id']}",
        "/backoffice/ranks",
    ):
        visit(page, path)
    visit(page, "/backoffice/kyc?status=pending")
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.get_by_role("dialog", name="Verify this document?")).to_be_visible()
    check_accessibility(page)
    page.keyboard.press("Escape")
    visit(page, f"/backoffice/ranks/{rank['id']}")
    tier = page.get_by_label("Name of tier 1")
    tier.fill("Copper")
    with page.expect_navigation():
        tier.press("Enter")
    expect(page.get_by_label("Name of tier 1")).to_have_value("Copper")
    renamed = expect_status(acme.admin.get(f"/api/v1/ranks/{rank['id']}"), 200)
    assert [t["name"] for t in renamed["tiers"]] == ["Copper", "Silver"]
    check_accessibility(page)
    shoot(page, "backoffice-rank")
