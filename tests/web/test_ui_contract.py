"""The UI contract (hook contract 1.4): plugins' navigation entries, pages and slot pieces are
shown only for tenants with the plugin enabled and to users holding their permission, and a hidden
entry's URL is refused all the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.access.permissions import core_registry
from core.plugins.host import PluginRejected, check_nav_entry, check_slot
from core.sdk.testing import expect

NOTES_PAGE = "/backoffice/plugins/fixture_ticker/"
NAV_ENTRY = f'href="{NOTES_PAGE}"'


def test_a_plugin_entry_and_page_for_a_user_holding_its_permission(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    reader = acme.user(["fixture_ticker.read"])
    pages = acme.pages(reader.label)
    dashboard = pages.get("/backoffice/")
    assert NAV_ENTRY in dashboard.text and "Ticker notes" in dashboard.text
    assert "Ticker widget" in dashboard.text  # the dashboard slot
    notes = pages.get(NOTES_PAGE)
    assert notes.status_code == 200 and "<h1>Ticker notes</h1>" in notes.text
    assert 'aria-current="page"' in notes.text.split(NAV_ENTRY)[1][:40]


def test_without_the_permission_the_entry_is_hidden_and_its_url_refused(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    clerk = acme.user(["clients.read"])
    pages = acme.pages(clerk.label)
    dashboard = pages.get("/backoffice/")
    assert dashboard.status_code == 200
    assert NAV_ENTRY not in dashboard.text and "Ticker widget" not in dashboard.text
    refused = pages.get(NOTES_PAGE)
    assert refused.status_code == 403 and "You do not have access to this page" in refused.text


def test_for_a_tenant_without_the_plugin_its_pages_do_not_exist(pk):
    acme, other = pk.tenant("acme"), pk.tenant("other")
    acme.install("fixture_ticker")
    pages = other.pages()  # the administrator holds every permission
    assert NAV_ENTRY not in pages.get("/backoffice/").text
    assert pages.get(NOTES_PAGE).status_code == 404
    portal = other.portal_pages(other.client()["id"])
    assert "/portal/plugins/fixture_ticker/notes" not in portal.get("/portal/").text
    assert portal.get("/portal/plugins/fixture_ticker/notes").status_code == 404


def test_disabling_the_plugin_hides_its_entry_and_closes_its_pages(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    pages = acme.pages()
    assert pages.get(NOTES_PAGE).status_code == 200
    expect(acme.admin.post("/api/v1/marketplace/fixture_ticker/disable"), 200)
    assert pages.get(NOTES_PAGE).status_code == 404
    assert NAV_ENTRY not in pages.get("/backoffice/").text


def test_portal_navigation_page_and_header_badge_of_a_plugin(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    portal = acme.portal_pages(acme.client()["id"])
    home = portal.get("/portal/")
    assert 'href="/portal/plugins/fixture_ticker/notes"' in home.text
    assert '<span class="state">Ticker</span>' in home.text  # the header badge slot
    mine = portal.get("/portal/plugins/fixture_ticker/notes")
    assert mine.status_code == 200 and "You have 1 notes." in mine.text  # the ticker's welcome
    # A staff member's session opens no portal page, and a client's no back-office page.
    assert acme.pages().get("/portal/plugins/fixture_ticker/notes").status_code == 303
    assert portal.get(NOTES_PAGE).status_code == 303


def test_plugin_pages_are_not_in_the_api_schema(pk):
    paths = pk.http.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/backoffice", "/portal", "/platform"))]


FOLDER = Path(__file__).parents[1] / "plugins" / "fixtures" / "fixture_ticker" / "templates"


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"id": "x", "label": "X", "path": "/", "icon": "list"}, "exactly"),
        (
            {"id": "x", "label": "X", "path": "x", "icon": "list", "permission": "clients.read"},
            "start with '/'",
        ),
        (
            {"id": "x", "label": "X", "path": "/", "icon": "rocket", "permission": "clients.read"},
            "unknown icon",
        ),
        (
            {"id": "x", "label": "X", "path": "/", "icon": "list", "permission": "no.such"},
            "unknown permission",
        ),
    ],
)
def test_a_malformed_navigation_entry_stops_the_load_with_its_reason(entry, reason):
    with pytest.raises(PluginRejected, match=reason):
        check_nav_entry(entry, core_registry())


@pytest.mark.parametrize(
    ("piece", "folder", "reason"),
    [
        ({"slot": "backoffice.sidebar", "template": "p/widget.html"}, FOLDER, "unknown slot"),
        ({"slot": "backoffice.dashboard", "template": "p/missing.html"}, FOLDER, "is not in"),
        ({"slot": "backoffice.dashboard", "template": "p/widget.html"}, None, "needs the plugin's templates"),
        (
            {"slot": "backoffice.dashboard", "template": "p/widget.html", "colour": "red"},
            FOLDER,
            "unknown keys",
        ),
        ({"slot": "backoffice.dashboard", "template": "p/widget.html", "context": 3}, FOLDER, "callable"),
    ],
)
def test_a_malformed_slot_piece_stops_the_load_with_its_reason(piece, folder, reason):
    with pytest.raises(PluginRejected, match=reason):
        check_slot(piece, core_registry(), folder)
