"""crm plugins / marketplace / jobs / events, as an operator uses them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from core.cli.main import app
from core.testing import expect

runner = CliRunner()


@pytest.fixture
def cli(pk, crm_database_url, monkeypatch):
    monkeypatch.setenv("CRM_DATABASE_URL", crm_database_url)
    monkeypatch.setenv("COLUMNS", "200")  # a terminal as wide as an operator's: tables untruncated
    return lambda *args: runner.invoke(app, list(args))


def test_plugins_list_reports_states_and_reasons(cli):
    result = cli("plugins", "list", "--json")
    assert result.exit_code == 0, result.output
    listed = {p["name"]: p for p in json.loads(result.output[result.output.index("[") :])}
    assert listed["fixture_ticker"]["state"] == "loaded" and listed["fixture_ticker"]["version"] == "1.2.0"
    assert (
        listed["broken_hook"]["state"] == "broken"
        and "crm_deposit_aproved" in listed["broken_hook"]["reason"]
    )
    assert listed["broken_core"]["state"] == "incompatible"


def test_marketplace_commands_install_uninstall_and_purge(pk, cli):
    acme = pk.tenant("acme")
    refused = cli("marketplace", "install", "fixture_partner", "--tenant", "acme")
    assert refused.exit_code == 1 and "fixture_ticker" in refused.output  # its requirement is missing
    assert (
        cli("marketplace", "install", "fixture_partner", "--tenant", "acme", "--with-requirements").exit_code
        == 0
    )
    catalog = cli("marketplace", "catalog", "--tenant", "acme")
    assert "fixture_partner" in catalog.output and "enabled" in catalog.output
    assert cli("marketplace", "disable", "fixture_partner", "--tenant", "acme").exit_code == 0
    assert acme.admin.get("/api/v1/plugins/fixture_partner/status").status_code == 404
    preview = cli("marketplace", "uninstall", "fixture_ticker", "--tenant", "acme", "--cascade", "--yes")
    assert preview.exit_code == 0, preview.output
    assert "fixture_ticker_notes" in preview.output and "fixture_partner" in preview.output
    assert cli("marketplace", "purge", "fixture_ticker", "--tenant", "acme", "--yes").exit_code == 0
    assert pk.count("fixture_ticker_notes", acme.id) == 0
    assert cli("marketplace", "install", "nope", "--tenant", "acme").exit_code == 1


def test_jobs_run_and_list(pk, cli):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    ran = cli("jobs", "run", "fixture_ticker.tick", "--tenant", "acme")
    assert ran.exit_code == 0 and "succeeded" in ran.output, ran.output
    assert any(
        n.startswith("tick ") for n in expect(acme.admin.get("/api/v1/plugins/fixture_ticker/notes"), 200)
    )
    listed = cli("jobs", "list")
    assert "fixture_ticker.tick" in listed.output
    off = cli("jobs", "run", "fixture_ticker.tick", "--tenant", "nope")
    assert off.exit_code == 1 and "no tenant" in off.output


def test_jobs_deferred_shows_work_that_keeps_failing_with_its_error(pk, cli):
    from core.scheduler.deferred import defer
    from core.scheduler.models import DeferredWork

    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    assert "No deferred work waiting" in cli("jobs", "deferred").output
    expect(
        acme.admin.put("/api/v1/marketplace/fixture_ticker/settings", json={"values": {"fail_events": True}}),
        200,
    )
    with acme.ctx() as ctx:  # its handler fails at once, as the commit returns: both keys wait
        defer(ctx, "fixture_ticker", "later", "1")
        defer(ctx, "fixture_ticker", "later", "2")
    with acme.ctx() as ctx:  # and a key not tried yet
        ctx.session.add(DeferredWork(tenant_id=acme.id, plugin="fixture_ticker", task="later", key="3"))
    listed = cli("jobs", "deferred")
    assert listed.exit_code == 0, listed.output
    [row] = [line for line in listed.output.splitlines() if "fixture_ticker" in line]
    assert [cell.strip() for cell in row.split("│")[1:6]] == ["acme", "fixture_ticker", "later", "3", "2"]
    assert "misconfigured" in row


def test_events_failures_and_replay(pk, cli):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    expect(
        acme.admin.put("/api/v1/marketplace/fixture_ticker/settings", json={"values": {"fail_events": True}}),
        200,
    )
    client = acme.client()
    deposit = expect(
        acme.admin.post(
            "/api/v1/deposits", json={"client_id": client["id"], "amount": "1", "currency": "USD"}
        ),
        201,
    )
    expect(acme.admin.post(f"/api/v1/deposits/{deposit['id']}/approve"), 200)
    listed = cli("events", "failures", "--tenant", "acme")
    assert "crm_deposit_approved" in listed.output
    again = cli("events", "replay", "--plugin", "fixture_ticker")
    assert again.exit_code == 1 and "0 resolved" in again.output
    expect(
        acme.admin.put(
            "/api/v1/marketplace/fixture_ticker/settings", json={"values": {"fail_events": False}}
        ),
        200,
    )
    fixed = cli("events", "replay", "--plugin", "fixture_ticker")
    assert fixed.exit_code == 0 and "1 resolved" in fixed.output
    assert cli("events", "replay").output.strip() == "Nothing to replay."
