"""The marketplace in a real browser: a broker's administrator obtains a self-service module and
fills its settings (the secret stays masked); an account manager installs a restricted module for
a tenant from the console. The app served here loaded the test plugins (the ``pk`` kit)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from core.sdk.testing import PASSWORD
from tests.browser.conftest import check_accessibility, shoot, sign_in, visit


def test_a_broker_obtains_a_module_and_fills_its_settings(pk_page: Page, pk):
    page = pk_page
    acme = pk.tenant("acme", name="Acme Brokers")
    sign_in(page, "backoffice", acme.admin_email, PASSWORD, company="acme")
    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Marketplace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Marketplace")
    visit(page, "/backoffice/marketplace")
    shoot(page, "marketplace")
    page.get_by_role("link", name="Ticker (test)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ticker (test)")
    visit(page, "/backoffice/marketplace/fixture_ticker")
    page.get_by_role("button", name="Obtain").click()
    dialog = page.get_by_role("dialog", name="Obtain Ticker (test)?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Obtain").click()
    expect(page.get_by_text("The module is installed.")).to_be_visible()
    visit(page, "/backoffice/marketplace/fixture_ticker?notice=obtained")
    page.get_by_label("Greeting").fill("Welcome aboard")
    page.get_by_label("Api token").fill("s3cret-token")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("The settings are saved.")).to_be_visible()
    token = page.get_by_label("Api token")
    expect(token).to_have_attribute("type", "password")
    expect(token).to_have_value("")
    expect(token).to_have_attribute("placeholder", "********")
    expect(page.get_by_text("A value is saved and hidden. Leave blank to keep it.")).to_be_visible()
    expect(page.get_by_label("Greeting")).to_have_value("Welcome aboard")
    assert "s3cret-token" not in page.content()
    # A value out of bounds is refused beside its field.
    page.get_by_label("Tick sleep s").fill("-5")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#tick_sleep_s-error")).to_be_visible()
    assert page.url.endswith("/settings")
    check_accessibility(page)


def test_an_account_manager_installs_a_restricted_module_for_a_tenant(pk_page: Page, pk):
    page = pk_page
    acme = pk.tenant("acme", name="Acme Brokers")
    email = "am@platform.example.com"
    pk.operator(email)
    sign_in(page, "platform", email, PASSWORD)
    page.get_by_role("link", name="Acme Brokers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Brokers")
    visit(page, f"/platform/tenants/{acme.id}")
    page.get_by_role("link", name="Fixture Partner").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fixture Partner for Acme Brokers")
    visit(page, f"/platform/tenants/{acme.id}/modules/fixture_partner")
    expect(page.get_by_label(re.compile("Also install the modules it requires"))).to_be_checked()
    page.get_by_role("button", name="Install").click()
    expect(page.get_by_text("The module is installed for the tenant.")).to_be_visible()
    expect(page.get_by_label("Renew the licence until")).to_be_visible()
    visit(page, f"/platform/tenants/{acme.id}/modules/fixture_partner?notice=installed")
    page.get_by_role("link", name="Acme Brokers").click()
    row = page.get_by_role("row").filter(has_text="Fixture Partner")
    expect(row).to_contain_text("Installed")
