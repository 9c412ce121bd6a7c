"""Seed 004 in a real browser, as its people act: staff send a lead the registration e-mail from
the Leads Conversion tab, the lead registers through its link and the tab shows Registered with
the quick actions gone; a second lead gets a portal account from the prefilled form; a third is
bound to an existing client by e-mail after a preview. Then the list's bulk action and the import
wizard. Every page is checked with axe-core on the way."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from core.sdk.testing import PASSWORD
from core.sdk.testing import expect as expect_status
from plugins.leads.tests.support import API, Desk
from tests.browser.conftest import check_accessibility, shoot, sign_in, visit

BASE = "/backoffice/plugins/leads"
NEW_PASSWORD = "Lead-Passw0rd-1"


def _conversion_tab(page: Page, lead: dict) -> None:
    visit(page, f"{BASE}/leads/{lead['id']}")
    page.get_by_role("navigation", name="The lead").get_by_role("link", name="Leads Conversion").click()
    expect(page.get_by_role("heading", level=2, name="Leads Conversion")).to_be_visible()
    check_accessibility(page)


def test_seed_004_the_three_quick_actions_convert_leads(page: Page, crm):
    desk = Desk(crm)
    desk.lead(name="Erin Emailed", email="erin@example.com", phone="+44 7911 123456", country="GB")
    opened = desk.lead(name="Otto Opened", email="otto@example.com", country="DE")
    bound = desk.lead(name="Bea Bound", email="bea@example.com", phone="+49 1512 3456789", country="DE")
    client = {"client_type": "trader", "name": "Beatrix Client", "email": "beatrix@example.com"}
    existing = expect_status(desk.admin.post("/api/v1/clients", json=client), 201)

    sign_in(page, "backoffice", desk.tenant.admin_email, PASSWORD, company="acme")
    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Leads", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Leads")
    check_accessibility(page)
    page.get_by_role("link", name="Erin Emailed").click()
    page.get_by_role("link", name="Leads Conversion").click()
    expect(page.locator("#portal-status")).to_have_text("Unregistered")
    expect(page.locator("#last-email-sent")).to_have_text("Never")
    check_accessibility(page)
    page.get_by_label("Register as").select_option("ib")
    page.get_by_role("button", name="Send registration email").click()
    expect(page.get_by_role("status").filter(has_text="The registration e-mail was sent.")).to_be_visible()
    expect(page.locator("#last-email-sent time")).to_be_visible()
    shoot(page, "leads-conversion-email-sent")

    # the lead opens the link in the e-mail, in their own browser
    token = crm.email_token("erin@example.com")
    context = page.context.browser.new_context(base_url=page.url.split("/backoffice")[0])
    lead_page = context.new_page()
    visit(lead_page, f"/portal/invitation?token={token}")
    expect(lead_page.get_by_text("as an IB with erin@example.com")).to_be_visible()
    lead_page.get_by_label("Choose a password").fill(NEW_PASSWORD)
    lead_page.get_by_role("button", name="Open my account").click()
    lead_page.wait_for_url("**/portal/**")
    context.close()

    page.reload()
    expect(page.locator("#portal-status")).to_have_text("Registered")
    expect(page.get_by_text("its quick actions are gone")).to_be_visible()
    expect(page.get_by_role("button", name="Send registration email")).to_have_count(0)
    expect(page.get_by_role("link", name="Erin Emailed (#")).to_be_visible()
    check_accessibility(page)
    shoot(page, "leads-conversion-registered")

    # a portal account, from the form prefilled from the lead
    _conversion_tab(page, opened)
    page.get_by_role("button", name="Create client portal account").click()
    expect(page.get_by_label("E-mail", exact=True)).to_have_value("otto@example.com")
    expect(page.get_by_label("Country (ISO code)")).to_have_value("DE")
    check_accessibility(page)
    page.get_by_role("button", name="Create the account").click()
    expect(page.locator("#portal-status")).to_have_text("Registered")
    assert desk.get(opened)["conversion"] == "portal_account"

    # bound to an existing client by e-mail, after a preview, with the keyboard
    _conversion_tab(page, bound)
    page.get_by_label("Client ID or e-mail").fill("beatrix@example.com")
    page.get_by_label("Client ID or e-mail").press("Enter")
    preview = page.get_by_role("region", name=re.compile("Bind to Beatrix Client"))
    expect(preview).to_contain_text("phone: +49 1512 3456789")
    check_accessibility(page)
    preview.get_by_role("button", name="Bind").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#portal-status")).to_have_text("Registered")
    after = desk.get(bound)
    assert (after["client_id"], after["conversion"]) == (existing["id"], "bind")
    assert (
        expect_status(desk.admin.get(f"/api/v1/clients/{existing['id']}"), 200)["phone"] == "+49 1512 3456789"
    )

    # the client's page shows the lead it came from
    visit(page, f"/backoffice/clients/{existing['id']}")
    expect(page.locator("#lead-panel")).to_contain_text("Bea Bound")


def test_bulk_status_and_the_import_wizard(page: Page, crm, tmp_path):
    desk = Desk(crm)
    for name in ("Ann One", "Ben Two"):
        desk.lead(name=name)
    sign_in(page, "backoffice", desk.tenant.admin_email, PASSWORD, company="acme")
    visit(page, f"{BASE}/")
    page.get_by_role("checkbox", name="Select Ann One").check()
    page.get_by_role("checkbox", name="Select Ben Two").check()
    page.get_by_label("Action").select_option("status")
    page.get_by_label("New status").select_option("intention")
    page.get_by_role("button", name="Apply to the selected leads").click()
    expect(page.get_by_role("status").filter(has_text="2 leads changed")).to_be_visible()
    check_accessibility(page)
    statuses = {lead["status"] for lead in expect_status(desk.admin.get(f"{API}/leads"), 200)["items"]}
    assert statuses == {"intention"}

    leads_csv = tmp_path / "leads.csv"
    leads_csv.write_text("Full name,Mail\nCara Three,cara@example.com\nDan Four,not-an-address\n")
    page.get_by_role("link", name="Import leads").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import leads")
    check_accessibility(page)
    page.get_by_label("CSV file").set_input_files(str(leads_csv))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("map a column to name")).to_be_visible()
    page.locator("#map-name").select_option("Full name")  # the file's column for each field
    page.locator("#map-email").select_option("Mail")
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("2 rows: 1 valid, 1 with errors, 0 duplicates skipped.")).to_be_visible()
    expect(page.get_by_role("region", name="Errors")).to_contain_text("email")
    check_accessibility(page)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("1 rows have errors")).to_be_visible()
    page.get_by_label("Import only the valid rows of a file with errors").check()
    page.get_by_role("button", name="Import", exact=True).click()
    # the page asks for each step itself until the file is done
    expect(page.get_by_role("status").filter(has_text="2 of 2 rows · 1 leads imported")).to_be_visible()
    expect(page.get_by_role("progressbar", name="Rows imported")).to_have_attribute("aria-valuenow", "2")
    check_accessibility(page)
    shoot(page, "leads-import")
    names = {lead["name"] for lead in expect_status(desk.admin.get(f"{API}/leads"), 200)["items"]}
    assert names == {"Ann One", "Ben Two", "Cara Three"}


def test_a_new_lead_is_shown_its_duplicates_as_it_is_typed_and_tags_are_kept(page: Page, crm):
    desk = Desk(crm)
    desk.lead(name="Known Person", email="known@example.com")
    sign_in(page, "backoffice", desk.tenant.admin_email, PASSWORD, company="acme")
    visit(page, f"{BASE}/tags")
    page.get_by_label("Name").fill("Hot")
    page.get_by_role("button", name="Create the tag").click()
    expect(page.get_by_role("status").filter(has_text="The tag was created.")).to_be_visible()
    check_accessibility(page)
    visit(page, f"{BASE}/leads/new")
    page.get_by_label("Name").fill("Maybe Known")
    page.get_by_label("E-mail").fill("KNOWN@example.com")
    page.get_by_label("Phone").focus()  # leaving the e-mail field asks for duplicates
    suggestions = page.get_by_role("complementary", name="Possible duplicates")
    expect(suggestions).to_contain_text("Lead Known Person")
    check_accessibility(page)
    page.get_by_label("Hot").check()
    page.get_by_role("button", name="Create the lead").click()
    expect(page.get_by_role("status").filter(has_text="The lead was created.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Maybe Known")
    leads = expect_status(desk.admin.get(f"{API}/leads"), 200)["items"]
    created = next(lead for lead in leads if lead["name"] == "Maybe Known")
    assert [tag["name"] for tag in created["tags"]] == ["Hot"]
