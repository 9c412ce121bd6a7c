"""Signing in and out in a real browser, for each audience, with the pages checked by axe-core."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from core.sdk.testing import PASSWORD
from tests.browser.conftest import shoot, sign_in, visit


def test_staff_sign_in_see_the_dashboard_and_sign_out(page: Page, crm):
    acme = crm.tenant("acme", name="Acme Brokers")
    visit(page, "/")
    page.get_by_role("link", name="Sign in to the back office").click()
    sign_in(page, "backoffice", acme.admin_email, PASSWORD, company="acme")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(
        page.get_by_role("navigation", name="Back office").get_by_role("link", name="Clients")
    ).to_be_visible()
    shoot(page, "backoffice-dashboard")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the back office")
    page.goto("/backoffice/")
    expect(page).to_have_url(re.compile(r"/backoffice/login\?next="))


def test_a_wrong_password_is_announced(page: Page, crm):
    acme = crm.tenant("acme")
    visit(page, "/backoffice/login")
    page.get_by_label("Company").fill("acme")
    page.get_by_label("E-mail").fill(acme.admin_email)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid company, e-mail or password.")


def test_the_skip_link_is_the_first_stop_of_the_keyboard(page: Page, crm):
    visit(page, "/backoffice/login")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()


def test_client_and_account_manager_sign_in(page: Page, crm):
    acme = crm.tenant("acme")
    client = acme.client()
    acme.portal(client["id"])  # gives the client a password
    sign_in(page, "portal", client["email"], PASSWORD, company="acme")
    expect(page.get_by_role("navigation", name="Portal")).to_be_visible()
    operator_email = "am@platform.example.com"
    crm.operator(operator_email)
    sign_in(page, "platform", operator_email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Tenants")
