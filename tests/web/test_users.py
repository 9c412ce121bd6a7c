"""Settings, Users: the list, creating and editing users, resetting passwords and ending sessions,
all through the access services, so the privilege ceiling holds on pages as in the API."""

from __future__ import annotations

from core.sdk.testing import PASSWORD, PageSession, expect

NEW_PASSWORD = "Another-Horse-77"


def _user_ids(acme, **params) -> list[int]:
    return [u["id"] for u in expect(acme.admin.get("/api/v1/users", params=params), 200)["items"]]


def test_the_list_for_readers_with_search_and_paging(crm):
    acme = crm.tenant("acme")
    reader = acme.user(["users.read"], email="reader@acme.example.com")
    for n in range(3):
        acme.user(["clients.read"], email=f"agent{n}@acme.example.com")
    pages = acme.pages(reader.label)
    listing = pages.get("/backoffice/users")
    assert listing.status_code == 200 and "<h1>Users</h1>" in listing.text
    assert "agent0@acme.example.com" in listing.text and acme.admin_email in listing.text
    assert 'href="/backoffice/users/new"' not in listing.text  # no users.manage: no button
    found = pages.get("/backoffice/users?q=agent1&team_id=&active=")
    assert "agent1@acme.example.com" in found.text and "agent0@acme.example.com" not in found.text
    paged = pages.get("/backoffice/users?per_page=2&page=2")
    assert "per_page=2&amp;page=3" in paged.text or "per_page=2&page=3" in paged.text
    assert "5 in all · page 2 of 3" in paged.text
    fragment = pages.get("/backoffice/users?q=agent", htmx=True)
    assert fragment.status_code == 200 and "<h1>" not in fragment.text and "agent2@" in fragment.text


def test_without_the_permission_the_pages_and_posts_are_refused(crm):
    acme = crm.tenant("acme")
    clerk = acme.user(["clients.read"])
    reader = acme.user(["users.read"])
    assert acme.pages(clerk.label).get("/backoffice/users").status_code == 403
    pages = acme.pages(reader.label)
    assert pages.get("/backoffice/users/new").status_code == 403
    detail = pages.get(f"/backoffice/users/{clerk.user_id}")
    assert (
        detail.status_code == 200
        and "Save changes" not in detail.text
        and "End all sessions" not in detail.text
    )
    before = crm.count("users", acme.id)
    body = {"name": "Eve", "email": "eve@acme.example.com", "password": NEW_PASSWORD}
    assert pages.post("/backoffice/users", body).status_code == 403
    assert pages.post(f"/backoffice/users/{clerk.user_id}", {"name": "X"}).status_code == 403
    assert pages.post(f"/backoffice/users/{clerk.user_id}/sessions/revoke").status_code == 403
    assert crm.count("users", acme.id) == before


def test_an_administrator_creates_a_user_who_can_sign_in(crm):
    acme = crm.tenant("acme")
    team = acme.team("Sales")
    role = acme.role(["clients.read"], scope="team", name="Agent")
    pages = acme.pages()
    assert 'href="/backoffice/users/new"' in pages.get("/backoffice/users").text
    form = pages.get("/backoffice/users/new")
    assert form.status_code == 200 and 'name="role_ids"' in form.text and "Sales" in form.text
    created = pages.post(
        "/backoffice/users",
        {"name": "Ann Agent", "email": "ann@acme.example.com", "password": NEW_PASSWORD, "team_id": str(team),
         "role_ids": str(role)},
    )  # fmt: skip
    assert created.status_code == 303
    shown = pages.get(created.headers["location"])
    assert "Ann Agent" in shown.text and "The user was created." in shown.text
    user = expect(
        acme.admin.get(created.headers["location"].replace("/backoffice", "/api/v1").split("?")[0]), 200
    )
    assert user["team_id"] == team and user["role_ids"] == [role]
    assert "ann@acme.example.com" in pages.get("/backoffice/users").text
    acme.pages("ann@acme.example.com", NEW_PASSWORD)  # signs in


def test_an_invalid_user_is_shown_again_with_its_errors_and_nothing_is_written(crm):
    acme = crm.tenant("acme")
    pages = acme.pages()
    before = crm.count("users", acme.id)
    bad = pages.post("/backoffice/users", {"name": "Bob", "email": "not-an-email", "password": NEW_PASSWORD})
    assert bad.status_code == 422 and 'id="email-error"' in bad.text and 'value="Bob"' in bad.text
    assert NEW_PASSWORD not in bad.text  # a password is never sent back
    weak = pages.post(
        "/backoffice/users", {"name": "Bob", "email": "bob@acme.example.com", "password": "short"}
    )
    assert weak.status_code == 422 and 'id="password-error"' in weak.text
    taken = pages.post(
        "/backoffice/users", {"name": "Bob", "email": acme.admin_email, "password": NEW_PASSWORD}
    )
    assert taken.status_code == 409 and 'id="email-error"' in taken.text
    no_csrf = pages.post(
        "/backoffice/users",
        {"name": "Bob", "email": "bob@acme.example.com", "password": NEW_PASSWORD},
        csrf=False,
    )
    assert no_csrf.status_code == 403
    assert crm.count("users", acme.id) == before


def test_a_manager_cannot_create_a_user_more_powerful_than_themself_and_nothing_is_left(crm):
    acme = crm.tenant("acme")
    manager = acme.user(["users.read", "users.manage"], scope="all")
    wider = acme.role(["clients.read"], scope="all", name="Clients reader")
    pages = acme.pages(manager.label)
    before = crm.count("users", acme.id)
    refused = pages.post(
        "/backoffice/users",
        {"name": "Carl", "email": "carl@acme.example.com", "password": NEW_PASSWORD, "role_ids": str(wider)},
    )
    assert refused.status_code == 403
    assert 'role="alert"' in refused.text and "clients.read" in refused.text
    # The user row written before the roles were refused is rolled back with them.
    assert crm.count("users", acme.id) == before


def test_editing_a_user_and_the_ceiling_on_a_more_powerful_one(crm):
    acme = crm.tenant("acme")
    team = acme.team("Desk")
    manager = acme.user(["users.read", "users.manage", "clients.read"], scope="all")
    agent = acme.user(["clients.read"], scope="own")
    pages = acme.pages(manager.label)
    saved = pages.post(
        f"/backoffice/users/{agent.user_id}",
        {"name": "Renamed Agent", "team_id": str(team), "active": "true"},
    )
    assert saved.status_code == 303
    shown = pages.get(saved.headers["location"])
    assert "Renamed Agent" in shown.text and "The changes were saved." in shown.text
    user = expect(acme.admin.get(f"/api/v1/users/{agent.user_id}"), 200)
    assert user["team_id"] == team and user["role_ids"] == [] and user["active"] is True
    # Unticked "active": disabled, and signed out.
    expect(pages.post(f"/backoffice/users/{agent.user_id}", {"name": "Renamed Agent"}), 303)
    assert expect(acme.admin.get(f"/api/v1/users/{agent.user_id}"), 200)["active"] is False
    assert agent.get("/api/v1/me").status_code == 401
    # The administrator is above the manager: refused, shown as an alert, nothing changed.
    admin_id = expect(acme.admin.get("/api/v1/me"), 200)["id"]
    refused = pages.post(f"/backoffice/users/{admin_id}", {"name": "Hijacked", "active": "true"})
    assert refused.status_code == 403 and 'role="alert"' in refused.text and "administrator" in refused.text
    assert expect(acme.admin.get(f"/api/v1/users/{admin_id}"), 200)["name"] != "Hijacked"
    invalid = pages.post(f"/backoffice/users/{agent.user_id}", {"name": "", "team_id": "999999"})
    assert invalid.status_code == 422 and (
        'id="name-error"' in invalid.text or 'id="team_id-error"' in invalid.text
    )


def test_reset_password_and_end_sessions(crm):
    acme = crm.tenant("acme")
    agent = acme.user(["clients.read"], email="agent@acme.example.com")
    agent_pages = acme.pages(agent.label)
    pages = acme.pages()
    weak = pages.post(f"/backoffice/users/{agent.user_id}/password", {"password": "short"})
    assert weak.status_code == 422 and 'id="password-error"' in weak.text
    assert agent_pages.get("/backoffice/").status_code == 200  # nothing happened
    done = pages.post(f"/backoffice/users/{agent.user_id}/password", {"password": NEW_PASSWORD})
    assert done.status_code == 303
    assert "The password was set" in pages.get(done.headers["location"]).text
    assert agent_pages.get("/backoffice/").status_code == 303  # signed out
    again = acme.pages(agent.label, NEW_PASSWORD)
    revoked = pages.post(f"/backoffice/users/{agent.user_id}/sessions/revoke")
    assert revoked.status_code == 303
    assert again.get("/backoffice/").status_code == 303


def test_another_tenants_user_is_not_found(crm):
    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    stranger = globex.user(["clients.read"])
    pages = acme.pages()
    assert pages.get(f"/backoffice/users/{stranger.user_id}").status_code == 404
    assert (
        pages.post(f"/backoffice/users/{stranger.user_id}", {"name": "X", "active": "true"}).status_code
        == 404
    )
    assert pages.post(f"/backoffice/users/{stranger.user_id}/sessions/revoke").status_code == 404
    assert stranger.get("/api/v1/me").status_code == 200


def test_a_signed_out_visitor_is_sent_to_sign_in(crm):
    crm.tenant("acme")
    response = PageSession(crm.app).get("/backoffice/users")
    assert response.status_code == 303 and "/backoffice/login" in response.headers["location"]
    assert PASSWORD
