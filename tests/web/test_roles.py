"""Settings, Roles: the permission editor grouped by module with the data permission, through
the access services (a user grants only permissions they hold, no wider data permission)."""

from __future__ import annotations

import re

from core.sdk.testing import expect


def _box(html: str, permission: str) -> str:
    """The permission's checkbox in the editor."""
    found = re.search(
        rf'<input type="checkbox" name="permissions" value="{re.escape(permission)}"[^>]*>', html
    )
    assert found is not None, permission
    return found.group(0)


def _role(acme, role_id: int) -> dict:
    return expect(acme.admin.get(f"/api/v1/roles/{role_id}"), 200)


def test_the_list_for_readers_and_refusals_without_the_permissions(crm):
    acme = crm.tenant("acme")
    acme.role(["clients.read"], name="Agent")
    reader = acme.user(["roles.read"])
    pages = acme.pages(reader.label)
    listing = pages.get("/backoffice/roles")
    assert listing.status_code == 200 and "Agent" in listing.text and "Administrator" in listing.text
    assert 'href="/backoffice/roles/new"' not in listing.text
    assert pages.get("/backoffice/roles/new").status_code == 403
    before = crm.count("roles", acme.id)
    assert pages.post("/backoffice/roles", {"name": "Sneaky", "data_scope": "own"}).status_code == 403
    assert crm.count("roles", acme.id) == before
    clerk = acme.user(["clients.read"])
    assert acme.pages(clerk.label).get("/backoffice/roles").status_code == 403


def test_the_editor_groups_permissions_by_module_and_offers_only_the_tenants_modules(pk):
    acme, other = pk.tenant("acme"), pk.tenant("other")
    acme.install("fixture_ticker")
    editor = acme.pages().get("/backoffice/roles/new").text
    assert "<legend><strong>Core</strong></legend>" in editor
    assert "<legend><strong>Ticker (test)</strong></legend>" in editor
    ticker_group = editor.split("Ticker (test)")[1]
    assert 'value="fixture_ticker.read"' in ticker_group and 'value="clients.read"' not in ticker_group
    for scope in ("all", "team", "own"):
        assert f'type="radio" name="data_scope" value="{scope}"' in editor
    plain = other.pages().get("/backoffice/roles/new").text
    assert "fixture_ticker.read" not in plain and "Ticker (test)" not in plain


def test_creating_a_role_with_ticked_permissions_and_a_data_permission(crm):
    acme = crm.tenant("acme")
    pages = acme.pages()
    created = pages.post(
        "/backoffice/roles",
        {"name": "Team lead", "description": "Leads a desk", "data_scope": "team",
         "permissions": ["clients.read", "deposits.read"]},
    )  # fmt: skip
    assert created.status_code == 303
    role_id = int(created.headers["location"].split("?")[0].rsplit("/", 1)[1])
    role = _role(acme, role_id)
    assert role["data_scope"] == "team" and role["permissions"] == ["clients.read", "deposits.read"]
    shown = pages.get(created.headers["location"]).text
    assert "The role was created." in shown
    assert " checked" in _box(shown, "clients.read") and " checked" not in _box(shown, "kyc.read")
    # One ticked box is a list of one; none ticked removes them all.
    expect(
        pages.post(
            f"/backoffice/roles/{role_id}",
            {"name": "Team lead", "data_scope": "team", "permissions": "kyc.read"},
        ),
        303,
    )
    assert _role(acme, role_id)["permissions"] == ["kyc.read"]
    expect(pages.post(f"/backoffice/roles/{role_id}", {"name": "Desk lead", "data_scope": "own"}), 303)
    role = _role(acme, role_id)
    assert role["permissions"] == [] and role["data_scope"] == "own" and role["name"] == "Desk lead"
    assert "Desk lead" in pages.get("/backoffice/roles").text


def test_an_invalid_role_is_shown_again_and_nothing_is_written(crm):
    acme = crm.tenant("acme")
    pages = acme.pages()
    before = crm.count("roles", acme.id)
    nameless = pages.post(
        "/backoffice/roles", {"name": "", "data_scope": "own", "permissions": ["clients.read"]}
    )
    assert nameless.status_code == 422 and 'id="name-error"' in nameless.text
    assert " checked" in _box(nameless.text, "clients.read")
    scope = pages.post("/backoffice/roles", {"name": "X", "data_scope": "galaxy"})
    assert scope.status_code == 422 and 'id="data_scope-error"' in scope.text
    unknown = pages.post("/backoffice/roles", {"name": "X", "permissions": ["nothing.here"]})
    assert unknown.status_code == 422
    assert pages.post("/backoffice/roles", {"name": "X"}, csrf=False).status_code == 403
    assert crm.count("roles", acme.id) == before


def test_a_manager_grants_only_what_they_hold_within_their_data_permission(crm):
    acme = crm.tenant("acme")
    manager = acme.user(["roles.read", "roles.manage", "clients.read"], scope="team")
    pages = acme.pages(manager.label)
    editor = pages.get("/backoffice/roles/new").text
    assert " disabled" in _box(editor, "deposits.read") and " disabled" not in _box(editor, "clients.read")
    before = crm.count("roles", acme.id)
    not_held = pages.post(
        "/backoffice/roles", {"name": "Cashier", "data_scope": "own", "permissions": ["deposits.read"]}
    )
    assert (
        not_held.status_code == 403 and 'role="alert"' in not_held.text and "deposits.read" in not_held.text
    )
    wider = pages.post(
        "/backoffice/roles", {"name": "Wide", "data_scope": "all", "permissions": ["clients.read"]}
    )
    assert wider.status_code == 403 and 'role="alert"' in wider.text
    assert crm.count("roles", acme.id) == before
    ok = pages.post(
        "/backoffice/roles", {"name": "Reader", "data_scope": "own", "permissions": ["clients.read"]}
    )
    assert ok.status_code == 303
    # A role above the manager (the administrator's) is refused, and nothing changes.
    admin_role = next(r for r in expect(acme.admin.get("/api/v1/roles"), 200) if r["is_admin"])
    refused = pages.post(f"/backoffice/roles/{admin_role['id']}", {"name": "Mine now"})
    assert refused.status_code == 403 and 'role="alert"' in refused.text
    assert _role(acme, admin_role["id"])["name"] == "Administrator"


def test_the_administrator_roles_grants_are_locked(crm):
    acme = crm.tenant("acme")
    admin_role = next(r for r in expect(acme.admin.get("/api/v1/roles"), 200) if r["is_admin"])
    page = acme.pages().get(f"/backoffice/roles/{admin_role['id']}").text
    assert "always holds every permission" in page and '<fieldset class="permission-group" disabled>' in page
    assert "Delete role" not in page


def test_deleting_a_role_asks_first_and_refuses_a_role_in_use(crm):
    acme = crm.tenant("acme")
    spare = acme.role(["clients.read"], name="Spare")
    used = acme.role(["clients.read"], name="Used")
    acme.user(role_ids=[used])
    pages = acme.pages()
    page = pages.get(f"/backoffice/roles/{spare}").text
    assert '<dialog id="delete-role" aria-labelledby="delete-role-title"' in page
    assert f'action="/backoffice/roles/{spare}/delete"' in page
    assert pages.post(f"/backoffice/roles/{spare}/delete", csrf=False).status_code == 403
    deleted = pages.post(f"/backoffice/roles/{spare}/delete")
    assert deleted.status_code == 303 and "Spare" not in pages.get("/backoffice/roles").text
    in_use = pages.post(f"/backoffice/roles/{used}/delete")
    assert in_use.status_code == 409 and 'role="alert"' in in_use.text and "in use" in in_use.text
    assert _role(acme, used)["name"] == "Used"


def test_another_tenants_role_is_not_found(crm):
    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    theirs = globex.role(["clients.read"], name="Theirs")
    pages = acme.pages()
    assert pages.get(f"/backoffice/roles/{theirs}").status_code == 404
    assert pages.post(f"/backoffice/roles/{theirs}", {"name": "Ours"}).status_code == 404
    assert pages.post(f"/backoffice/roles/{theirs}/delete").status_code == 404
    assert _role(globex, theirs)["name"] == "Theirs"
