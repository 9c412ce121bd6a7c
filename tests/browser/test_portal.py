"""The client portal in a real browser: a pop-up on login as a modal dialog, "Use Now" to the
prop challenges, buying one; the other pages checked by axe-core; signing up through a
promotion link."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from core.notify import service as notify
from core.sdk.testing import PASSWORD, SIGN_UP_PASSWORD
from core.sdk.testing import expect as expect_status
from tests.browser.conftest import check_accessibility, shoot, sign_in, visit


def test_a_client_sees_the_pop_up_uses_it_and_buys_a_challenge(page: Page, crm):
    acme = crm.tenant("acme", name="Acme Brokers")
    client = acme.client(name="Nina Trader")
    acme.portal(client["id"])  # a portal password
    body = {"name": "Two steps", "fee": "100.00", "currency": "USD"}
    offered = expect_status(acme.admin.post("/api/v1/prop/challenges", json=body), 201)
    with acme.ctx() as ctx:
        # The older pop-up is shown on top: the client meets them in the order they came.
        notify.create_popup(ctx, client["id"], "Welcome", "Your account is ready")
        notify.create_popup(
            ctx, client["id"], "A gift for you", "10% off your next challenge", source="coupons",
            data={"coupon_id": 1},
        )  # fmt: skip

    sign_in(page, "portal", client["email"], PASSWORD, company="acme")
    expect(page.get_by_role("dialog", name="Welcome")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Notifications")).get_by_role("status")).to_have_text(
        re.compile(r"^2\s*unread$")
    )
    page.get_by_role("dialog", name="Welcome").get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog", name="Welcome")).to_have_count(0)
    expect(page.get_by_role("dialog", name="A gift for you")).to_be_visible()
    check_accessibility(page)
    shoot(page, "portal-popup")
    page.get_by_role("dialog", name="A gift for you").get_by_role("button", name="Use Now").click()
    expect(page).to_have_url(re.compile(r"/portal/challenges$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Prop challenges")
    expect(page.get_by_role("link", name=re.compile("Notifications")).get_by_role("status")).to_have_text(
        re.compile(r"^0\s*unread$")
    )
    visit(page, "/portal/challenges")
    page.get_by_role("link", name="Buy Two steps").click()
    expect(page).to_have_url(re.compile(rf"/portal/challenges/{offered['id']}/buy$"))
    page.get_by_role("button", name="Update price").click()
    expect(page.locator("#final-price")).to_have_text("100.00 USD")
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(re.compile(r"/portal/orders/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Order #\d+"))
    visit(page, page.url)
    visit(page, "/portal/orders")
    expect(page.get_by_role("cell", name="Two steps")).to_be_visible()

    visit(page, "/portal/notifications")
    messages = page.get_by_role("tab", name=re.compile("Messages"))
    expect(messages).to_have_attribute("aria-selected", "true")
    messages.focus()
    page.keyboard.press("End")
    expect(messages).to_be_focused()  # the only tab without modules
    expect(page.get_by_role("tabpanel", name=re.compile("Messages"))).to_contain_text("A gift for you")
    for path in ("/portal/deposits", "/portal/kyc", "/portal/accounts"):
        visit(page, path)
    visit(page, "/portal/deposits")
    page.get_by_label("Amount").fill("250")
    page.get_by_role("button", name="Request the deposit").click()
    expect(page.get_by_role("cell", name="250.00 USD")).to_be_visible()


def test_signing_up_through_a_promotion_link(page: Page, crm):
    acme = crm.tenant("acme", name="Acme Brokers")
    body = {"name": "Spring campaign", "code": "SPRING"}
    expect_status(acme.admin.post("/api/v1/promotion-links", json=body), 201)
    visit(page, "/portal/register?company=acme&ref=SPRING")
    expect(page.get_by_role("heading", level=1)).to_have_text("Open an account with Acme Brokers")
    expect(page.get_by_text("Spring campaign")).to_be_visible()
    page.get_by_label("Full name").fill("Nina")
    page.get_by_label("E-mail").fill("nina@example.com")
    page.get_by_label("Password").fill(SIGN_UP_PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    visit(page, f"/portal/register/confirm?token={crm.email_token('nina@example.com')}")
    page.get_by_role("button", name="Open my account").click()
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Welcome"))


def test_the_notifications_tabs_work_with_the_keyboard(pk_page: Page, pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    client = acme.client()
    acme.portal(client["id"])
    with acme.ctx() as ctx:
        notify.create_popup(ctx, client["id"], "Read me", "A message")
    page = pk_page
    sign_in(page, "portal", client["email"], PASSWORD, company="acme")
    page.get_by_role("dialog", name="Read me").get_by_role("button", name="Close").click()
    visit(page, "/portal/notifications")
    messages, ticker = (
        page.get_by_role("tab", name=re.compile("Messages")),
        page.get_by_role("tab", name="Ticker notes"),
    )
    expect(page.get_by_role("tabpanel", name=re.compile("Messages"))).to_contain_text("Read me")
    expect(page.get_by_role("heading", name="Ticker notes")).to_be_hidden()
    messages.focus()
    page.keyboard.press("ArrowRight")
    expect(ticker).to_be_focused()
    expect(ticker).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("heading", name="Ticker notes")).to_be_visible()
    expect(page.get_by_text("Read me")).to_be_hidden()
    check_accessibility(page)
    page.keyboard.press("Home")
    expect(messages).to_be_focused()
    expect(page.get_by_text("Read me")).to_be_visible()
