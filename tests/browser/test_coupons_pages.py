"""Coupons in a real browser: staff create a coupon through the form, distribute it through the
dialog (a client picked, the design carousel moved with its arrows, a design ticked), and see its
state change; every page checked by axe-core."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from core.sdk.testing import PASSWORD
from tests.browser.conftest import check_accessibility, shoot, sign_in, visit

ROOT = "/backoffice/plugins/coupons"


def test_staff_create_and_distribute_a_coupon(page: Page, crm):
    acme = crm.tenant("acme", name="Acme Brokers")
    acme.install("coupons")
    dana = acme.client(name="Dana Trader")
    sign_in(page, "backoffice", acme.admin_email, PASSWORD, company="acme")

    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Coupons").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Coupons")
    check_accessibility(page)

    # Create: the fixed-amount currency appears only once "Fixed amount" is chosen.
    page.get_by_role("button", name="Create coupon").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create coupon")
    check_accessibility(page)
    page.get_by_label("Coupon name").fill("Welcome gift")
    currency = page.get_by_label("Discount currency")
    expect(currency).to_be_hidden()
    page.get_by_role("radio", name="Fixed amount").check()
    expect(currency).to_be_visible()
    page.get_by_role("radio", name="Percentage").check()
    expect(currency).to_be_hidden()
    page.get_by_label("Discount value").fill("20")
    page.get_by_role("radio", name="Fixed use count").check()
    page.get_by_label("Uses per client").fill("2")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="The coupon was created")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Welcome gift"))
    expect(row).to_contain_text("Undistributed")

    # Distribute through the dialog.
    row.get_by_role("button", name="Distribute Welcome gift").click()
    dialog = page.get_by_role("dialog", name="Distribute “Welcome gift”")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Find clients by name or e-mail").fill("dana")
    dialog.get_by_label(re.compile("Dana Trader")).check()
    dialog.get_by_label("Pop-up title").fill("A gift for you")
    dialog.get_by_label("Pop-up text").fill("20% off your next challenge")
    expect(dialog.get_by_text("Design 1 of 6")).to_be_visible()
    dialog.get_by_role("button", name="Next design").click()
    expect(dialog.get_by_text("Design 2 of 6")).to_be_visible()
    dialog.get_by_role("button", name="Previous design").click()
    dialog.get_by_role("button", name="Previous design").click()
    expect(dialog.get_by_text("Design 6 of 6")).to_be_visible()
    dialog.get_by_role("button", name="Next design").focus()
    page.keyboard.press("ArrowRight")  # the keyboard moves the carousel too
    expect(dialog.get_by_text("Design 1 of 6")).to_be_visible()
    page.keyboard.press("Enter")
    tick = dialog.get_by_role("button", name="Choose Gold Ticket")
    tick.click()
    expect(tick).to_have_attribute("aria-pressed", "true")
    check_accessibility(page)
    shoot(page, "coupon-distribute-dialog")
    dialog.get_by_role("button", name="Distribute").click()

    expect(page.get_by_role("status").filter(has_text="The coupon was distributed")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Welcome gift"))
    expect(row).to_contain_text("Distributed")
    expect(row.get_by_role("button", name="View Welcome gift")).to_be_visible()
    expect(row.get_by_role("button", name="Delete")).to_have_count(0)

    # The statistics list the client.
    row.get_by_role("button", name="Statistics of Welcome gift").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Statistics of “Welcome gift”")
    expect(page.get_by_role("row", name=re.compile("Dana Trader"))).to_contain_text("Unused")
    check_accessibility(page)
    visit(page, f"{ROOT}/promo-codes")
    assert dana["id"]


def test_a_client_ticked_while_a_search_is_on_its_way_stays_ticked(page: Page, crm):
    """The picker's search answers with the ticks sent with it; a tick made while the answer is on
    its way must survive the swap, whether the answer lists that client or not."""
    acme = crm.tenant("acme", name="Acme Brokers")
    acme.install("coupons")
    acme.client(name="Dana Trader")
    acme.client(name="Bob Broker")
    body = {"name": "Welcome gift", "discount_method": "percentage", "discount_value": "10"}
    coupon = acme.admin.post(
        "/api/v1/plugins/coupons/coupons", json={**body, "distribution_method": "manual"}
    )
    assert coupon.status_code == 201, coupon.text
    sign_in(page, "backoffice", acme.admin_email, PASSWORD, company="acme")
    visit(page, f"{ROOT}/coupons/{coupon.json()['id']}/distribute")
    dialog = page.get_by_role("dialog", name="Distribute “Welcome gift”")
    dana = dialog.get_by_label(re.compile("Dana Trader"))
    bob = dialog.get_by_label(re.compile("Bob Broker"))

    search = dialog.get_by_label("Find clients by name or e-mail")
    held = []
    page.route(re.compile(r"/distribute/clients\?"), lambda route: held.append(route))

    def answer_held_search() -> None:
        """Let the held answer in, and wait until it has replaced the list (Bob's label is new)."""
        page.locator("#client-matches label", has_text="Bob Broker").evaluate(
            "label => label.dataset.old = '1'"
        )
        held.pop().continue_()
        expect(page.locator("#client-matches label[data-old]")).to_have_count(0)

    def search_held_back(text: str) -> None:
        search.fill(text)
        while not held:  # the search has left; its answer is held back
            page.wait_for_timeout(50)

    # The answer does not list Dana (the search left before she was ticked): she is kept, ticked.
    search_held_back("bob")
    dana.check()
    answer_held_search()
    expect(bob).to_be_visible()
    expect(dana).to_be_checked()

    # The answer lists Dana as a plain match (the search left before she was ticked again).
    dana.uncheck()
    search_held_back("dana")
    dana.check()
    answer_held_search()
    expect(bob).to_have_count(0)
    expect(dana).to_have_count(1)
    expect(dana).to_be_checked()
    dialog.get_by_label("Pop-up title").fill("A gift for you")
    dialog.get_by_label("Pop-up text").fill("10% off")
    dialog.get_by_role("button", name="Choose Classic").click()
    dialog.get_by_role("button", name="Distribute").click()
    expect(page.get_by_role("status").filter(has_text="The coupon was distributed")).to_be_visible()
