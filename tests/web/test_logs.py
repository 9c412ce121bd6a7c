"""Settings, System logs: the operation log and the login log with the API's filters, paging and
CSV exports, within the reader's data permissions (an agent with "own" sees only entries about
their clients)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from core.sdk.testing import expect


def _setup(crm):
    acme = crm.tenant("acme")
    team_a, team_b = acme.team("A"), acme.team("B")
    everything = acme.user(["audit.read"], scope="all")
    agent = acme.user(["audit.read"], scope="own", team_id=team_a)
    mine = acme.client(assigned_user_id=agent.user_id, team_id=team_a, email="mine@example.com")
    other = acme.client(team_id=team_b, email="other@example.com")
    for client in (mine, other):
        expect(acme.admin.patch(f"/api/v1/clients/{client['id']}", json={"phone": "+1 555 0100"}), 200)
    return acme, everything, agent, mine, other


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_an_agent_with_own_data_sees_only_entries_about_their_clients(crm):
    acme, everything, agent, mine, other = _setup(crm)
    agents_view = acme.pages(agent.label).get("/backoffice/logs?per_page=200")
    assert agents_view.status_code == 200 and "<h1>Operation log</h1>" in agents_view.text
    assert f"clients #{mine['id']}" in agents_view.text
    assert f"clients #{other['id']}" not in agents_view.text
    exported = _csv(acme.pages(agent.label).get("/backoffice/logs/export.csv"))
    assert exported and {row["client_id"] for row in exported} == {str(mine["id"])}
    full_view = acme.pages(everything.label).get("/backoffice/logs?per_page=200").text
    assert f"clients #{mine['id']}" in full_view and f"clients #{other['id']}" in full_view
    # The page's export is the API's: the same rows.
    api_rows = _csv(everything.get("/api/v1/operation-log/export", params={"entity": "clients"}))
    page_rows = _csv(acme.pages(everything.label).get("/backoffice/logs/export.csv?entity=clients"))
    assert page_rows == api_rows and len(page_rows) >= 4


def test_filters_paging_and_the_export_link_keep_the_filters(crm):
    acme, everything, _agent, mine, other = _setup(crm)
    pages = acme.pages(everything.label)
    about_mine = pages.get(
        f"/backoffice/logs?entity=clients&entity_id=&action=update&actor_kind=&client_id={mine['id']}"
    )
    assert about_mine.status_code == 200
    assert f"clients #{mine['id']}" in about_mine.text and f"clients #{other['id']}" not in about_mine.text
    assert (
        f'href="/backoffice/logs/export.csv?entity=clients&amp;action=update&amp;client_id={mine["id"]}"'
        in about_mine.text
    )
    rows = _csv(pages.get(f"/backoffice/logs/export.csv?entity=clients&action=update&client_id={mine['id']}"))
    assert rows and {(r["entity"], r["action"], r["client_id"]) for r in rows} == {
        ("clients", "update", str(mine["id"]))
    }
    today = datetime.now(UTC).date()
    assert "No entry matches" in pages.get(f"/backoffice/logs?at_from={today + timedelta(days=1)}").text
    assert f"clients #{mine['id']}" in pages.get(f"/backoffice/logs?at_from={today}&at_to={today}").text
    paged = pages.get("/backoffice/logs?per_page=1&page=2")
    assert "page 2 of" in paged.text and "per_page=1&amp;page=3" in paged.text
    fragment = pages.get("/backoffice/logs?entity=clients", htmx=True)
    assert fragment.status_code == 200 and "<h1>" not in fragment.text and "Export CSV" in fragment.text
    assert pages.get("/backoffice/logs?client_id=abc").status_code == 422
    assert pages.get("/backoffice/logs?colour=red").status_code == 422


def test_the_login_log_tab_within_data_permissions(crm):
    acme, everything, agent, mine, other = _setup(crm)
    acme.portal(mine["id"])
    acme.portal(other["id"])
    agents_view = acme.pages(agent.label).get("/backoffice/logs/logins?per_page=200")
    assert agents_view.status_code == 200 and "<h1>Login log</h1>" in agents_view.text
    assert 'href="/backoffice/logs/logins" aria-current="page"' in agents_view.text
    assert "mine@example.com" in agents_view.text
    assert "other@example.com" not in agents_view.text and acme.admin_email not in agents_view.text
    full = acme.pages(everything.label)
    assert acme.admin_email in full.get("/backoffice/logs/logins").text
    only_failures = full.get("/backoffice/logs/logins?email=&success=false").text
    assert "mine@example.com" not in only_failures
    rows = _csv(full.get("/backoffice/logs/logins/export.csv?email=mine@example.com"))
    assert rows and {r["email"] for r in rows} == {"mine@example.com"}


def test_without_audit_read_the_logs_are_refused(crm):
    acme = crm.tenant("acme")
    clerk = acme.pages(acme.user(["clients.read"]).label)
    for path in (
        "/backoffice/logs",
        "/backoffice/logs/export.csv",
        "/backoffice/logs/logins",
        "/backoffice/logs/logins/export.csv",
    ):
        assert clerk.get(path).status_code == 403, path
    assert 'href="/backoffice/logs"' not in clerk.get("/backoffice/").text


def test_another_tenants_entries_never_show(crm):
    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    theirs = globex.client(email="globex-client@example.com")
    expect(globex.admin.patch(f"/api/v1/clients/{theirs['id']}", json={"phone": "+1 555 0199"}), 200)
    pages = acme.pages()
    assert "globex-client@example.com" not in pages.get("/backoffice/logs?per_page=200").text
    assert "globex" not in pages.get("/backoffice/logs/export.csv").text
    assert globex.admin_email not in pages.get("/backoffice/logs/logins?per_page=200").text
