"""The back office's settings in a real browser: an administrator creates a role in the grouped
permission editor (a few permissions, data permission "team"), then a user with it; the new user
signs in and sees only the navigation entries their permissions allow."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from core.sdk.testing import PASSWORD
from core.sdk.testing import expect as expect_status
from tests.browser.conftest import check_accessibility, shoot, sign_in, visit

NEW_PASSWORD = "Desk-Lead-Passw0rd"


def test_a_role_from_the_grouped_editor_decides_what_a_new_user_sees(page: Page, crm):
    acme = crm.tenant("acme", name="Acme Brokers")
    acme.team("Asia desk")
    sign_in(page, "backoffice", acme.admin_email, PASSWORD, company="acme")

    visit(page, "/backoffice/roles")
    page.get_by_role("link", name="New role").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New role")
    check_accessibility(page)
    page.get_by_label("Name", exact=True).fill("Desk lead")
    core = page.get_by_role("group", name="Core")
    for label in ("Read clients", "Read deposits", "Read teams"):
        core.get_by_label(label, exact=True).check()
    page.get_by_role("group", name="Data permission").get_by_label("Team data").check()
    shoot(page, "backoffice-role-editor")
    page.get_by_role("button", name="Create role").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Desk lead")
    expect(page.get_by_label("Read deposits", exact=True)).to_be_checked()
    expect(page.get_by_label("Read users", exact=True)).not_to_be_checked()
    expect(page.get_by_label("Team data")).to_be_checked()
    check_accessibility(page)

    visit(page, "/backoffice/users")
    page.get_by_role("link", name="New user").click()
    page.get_by_label("Name", exact=True).fill("Dana Lead")
    page.get_by_label("E-mail").fill("dana@acme.example.com")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_label("Team").select_option(label="Asia desk")
    page.get_by_role("group", name="Roles").get_by_label("Desk lead").check()
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dana Lead")
    expect(page.get_by_role("status").filter(has_text="The user was created.")).to_be_visible()
    check_accessibility(page)
    created = expect_status(acme.admin.get("/api/v1/users", params={"q": "dana"}), 200)["items"][0]
    assert created["team_id"] is not None and len(created["role_ids"]) == 1

    # The operation log tells what was done, the login log who signed in (both checked by axe).
    visit(page, "/backoffice/logs?entity=roles")
    expect(page.get_by_role("cell", name="roles #", exact=False).first).to_be_visible()
    page.get_by_role("navigation", name="System logs").get_by_role("link", name="Login log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Login log")
    check_accessibility(page)

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "backoffice", "dana@acme.example.com", NEW_PASSWORD, company="acme")
    nav = page.get_by_role("navigation", name="Back office")
    for allowed in ("Dashboard", "Clients", "Deposits", "Teams"):
        expect(nav.get_by_role("link", name=allowed, exact=True)).to_be_visible()
    for hidden in ("Users", "Roles", "Operation log", "KYC review", "Marketplace", "Client groups"):
        expect(nav.get_by_role("link", name=hidden, exact=True)).to_have_count(0)
    shoot(page, "backoffice-new-user-navigation")
    visit(page, "/backoffice/teams")
    expect(page.get_by_role("cell", name="Asia desk")).to_be_visible()
    expect(page.get_by_role("button", name="Create team")).to_have_count(0)
    visit(page, "/backoffice/roles", status=403)
