"""Settings, Teams: list, create, rename and delete (after a confirmation) through the services."""

from __future__ import annotations

from core.sdk.testing import expect


def _team_names(acme) -> list[str]:
    return [t["name"] for t in expect(acme.admin.get("/api/v1/teams"), 200)]


def test_readers_see_the_list_without_the_actions_and_cannot_post(crm):
    acme = crm.tenant("acme")
    sales = acme.team("Sales")
    reader = acme.user(["teams.read"])
    pages = acme.pages(reader.label)
    listing = pages.get("/backoffice/teams")
    assert listing.status_code == 200 and "Sales" in listing.text
    assert "Create team" not in listing.text and "Delete" not in listing.text
    assert pages.get(f"/backoffice/teams/{sales}").status_code == 200
    assert pages.post("/backoffice/teams", {"name": "Mine"}).status_code == 403
    assert pages.post(f"/backoffice/teams/{sales}", {"name": "Renamed"}).status_code == 403
    assert pages.post(f"/backoffice/teams/{sales}/delete").status_code == 403
    assert _team_names(acme) == ["Sales"]
    assert acme.pages(acme.user(["clients.read"]).label).get("/backoffice/teams").status_code == 403


def test_create_rename_and_delete_a_team(crm):
    acme = crm.tenant("acme")
    pages = acme.pages()
    created = pages.post("/backoffice/teams", {"name": "Asia desk", "description": "Tokyo hours"})
    assert created.status_code == 303
    listing = pages.get(created.headers["location"])
    assert "Asia desk" in listing.text and "The team was created." in listing.text
    team_id = next(t["id"] for t in expect(acme.admin.get("/api/v1/teams"), 200))
    member = acme.user(["clients.read"], team_id=team_id, email="member@acme.example.com")
    team_page = pages.get(f"/backoffice/teams/{team_id}").text
    members = team_page.split("Members")[1]
    assert "member@acme.example.com" in members and acme.admin_email not in members
    assert f'<dialog id="delete-team-{team_id}" aria-labelledby="delete-team-{team_id}-title"' in listing.text
    renamed = pages.post(f"/backoffice/teams/{team_id}", {"name": "APAC desk"})
    assert renamed.status_code == 303 and _team_names(acme) == ["APAC desk"]
    assert "APAC desk" in pages.get("/backoffice/teams").text
    assert pages.post(f"/backoffice/teams/{team_id}/delete", csrf=False).status_code == 403
    deleted = pages.post(f"/backoffice/teams/{team_id}/delete")
    assert deleted.status_code == 303 and _team_names(acme) == []
    assert "APAC desk" not in pages.get(deleted.headers["location"]).text
    assert expect(acme.admin.get(f"/api/v1/users/{member.user_id}"), 200)["team_id"] is None


def test_invalid_names_are_shown_with_their_error_and_nothing_is_written(crm):
    acme = crm.tenant("acme")
    sales, desk = acme.team("Sales"), acme.team("Desk")
    pages = acme.pages()
    empty = pages.post("/backoffice/teams", {"name": ""})
    assert empty.status_code == 422 and 'id="name-error"' in empty.text
    taken = pages.post("/backoffice/teams", {"name": "Sales"})
    assert taken.status_code == 409 and 'role="alert"' in taken.text
    clash = pages.post(f"/backoffice/teams/{desk}", {"name": "Sales"})
    assert clash.status_code == 409 and 'value="Sales"' in clash.text
    assert pages.post("/backoffice/teams", {"name": "Forged"}, csrf=False).status_code == 403
    assert sorted(_team_names(acme)) == ["Desk", "Sales"]
    assert sales


def test_another_tenants_team_is_not_found(crm):
    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    theirs = globex.team("Theirs")
    pages = acme.pages()
    assert pages.get(f"/backoffice/teams/{theirs}").status_code == 404
    assert pages.post(f"/backoffice/teams/{theirs}", {"name": "Ours"}).status_code == 404
    assert pages.post(f"/backoffice/teams/{theirs}/delete").status_code == 404
    assert _team_names(globex) == ["Theirs"]
