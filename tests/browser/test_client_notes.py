"""The example plugin (examples/client_notes) in a browser: its navigation entry, its recent-notes
page and its client panel's htmx form, as staff use them, with every page checked by axe-core.

The example is pip-installed into a folder of its own and loaded by a runtime of this module (as
in tests/plugins/test_sdk.py); the app with it is served on its own port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect

from core.api.app import create_app
from core.db import migrate
from core.runtime import Runtime
from core.sdk.testing import PASSWORD, CrmKit, wipe
from core.sdk.testing import expect as expect_status
from tests.browser.conftest import LiveServer, browser_page, check_accessibility, shoot, sign_in, visit

API = "/api/v1/plugins/client_notes"


@pytest.fixture(scope="module")
def notes_runtime(example_site: Path, crm_runtime: Runtime) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(crm_runtime.settings)
    url = runtime.settings.database_url
    migrate.upgrade(url, runtime.plugins.migration_locations())
    yield runtime
    # Leave the suite's database as we found it: the other runtimes do not have this plugin.
    command.downgrade(migrate.alembic_config(url, runtime.plugins.migration_locations()), "client_notes@base")
    runtime.db.dispose()


@pytest.fixture(scope="module")
def notes_server(notes_runtime: Runtime) -> Iterator[tuple[LiveServer, CrmKit]]:
    app = create_app(notes_runtime, watch=False)
    server = LiveServer(app).start()
    with TestClient(app) as http:
        yield server, CrmKit(notes_runtime, app, http)
    server.stop()


@pytest.fixture
def notes(notes_server: tuple[LiveServer, CrmKit]) -> Iterator[CrmKit]:
    yield notes_server[1]
    wipe(notes_server[1].runtime.db)
    notes_server[1].runtime.plugin_state.invalidate()


@pytest.fixture
def notes_page(browser: Browser, notes_server: tuple[LiveServer, CrmKit]) -> Iterator[Page]:
    with browser_page(browser, notes_server[0]) as page:
        yield page


def test_staff_add_a_note_in_the_client_panel_and_find_it_in_the_list(notes_page: Page, notes: CrmKit):
    page = notes_page
    acme = notes.tenant("acme")
    acme.install("client_notes")
    client = acme.client(name="Ada Trader")
    writer = acme.user(["client_notes.read", "client_notes.write", "clients.read"])
    sign_in(page, "backoffice", writer.label, PASSWORD, company="acme")
    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Client notes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Client notes")
    expect(page.get_by_text("No notes yet.")).to_be_visible()
    check_accessibility(page)

    visit(page, f"/backoffice/plugins/client_notes/clients/{client['id']}")
    page.evaluate("window.stayed = true")  # gone if the form reloaded the page instead of swapping
    panel = page.get_by_role("region", name="Client notes")
    panel.get_by_label("New note").fill("Asked for a call back on Monday.")
    panel.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("listitem").filter(has_text="Asked for a call back on Monday.")).to_be_visible()
    expect(page.get_by_label("New note")).to_have_value("")
    check_accessibility(page)

    # Past the module's max_length setting: the error beside the field, the text kept.
    settings = {"values": {"max_length": 10}}
    expect_status(acme.admin.put("/api/v1/marketplace/client_notes/settings", json=settings), 200)
    page.get_by_label("New note").fill("A note far longer than ten characters.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("alert")).to_have_text("at most 10 characters")
    expect(page.get_by_label("New note")).to_have_value("A note far longer than ten characters.")
    expect(page.get_by_label("New note")).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("window.stayed === true")  # both answers were swapped in place (htmx)
    check_accessibility(page)
    shoot(page, "client-notes-panel-error")

    page.get_by_role("link", name="All recent notes").click()
    row = page.get_by_role("row").filter(has_text="Asked for a call back on Monday.")
    expect(row.get_by_role("link", name="Ada Trader")).to_be_visible()
    check_accessibility(page)
    assert [n["text"] for n in expect_status(writer.get(f"{API}/clients/{client['id']}/notes"), 200)] == [
        "Asked for a call back on Monday."
    ]
