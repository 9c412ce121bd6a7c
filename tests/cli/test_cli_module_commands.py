"""A module's own commands, run as crm module NAME --tenant SLUG …: the Status System's, as an
operator uses them (contract 1.5, crm_cli_commands)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from core.cli.main import app
from plugins.status_system.tests.support import Broker

runner = CliRunner()


@pytest.fixture
def broker(crm) -> Broker:
    return Broker(crm)


@pytest.fixture
def cli(broker, crm_database_url, monkeypatch):
    monkeypatch.setenv("CRM_DATABASE_URL", crm_database_url)
    return lambda *args: runner.invoke(app, ["module", "status_system", "--tenant", "acme", *args])


def test_the_ladder_a_standing_and_staff_actions_from_the_cli(broker, cli):
    client = broker.client()
    broker.deposit(client, "400")
    listed = cli("statuses")
    assert listed.exit_code == 0, listed.output
    assert "Base" in listed.output and "Gold" in listed.output and "by rules" in listed.output
    shown = cli("show", str(client["id"]))
    assert "client" in shown.output and "next: Silver (40 %)" in shown.output, shown.output
    assert "need USD 600.00 more" in shown.output
    locked = cli("assign", str(client["id"]), "--status", "Gold", "--mode", "lock", "--reason", "partner")
    assert locked.exit_code == 0 and "Gold" in locked.output, locked.output
    assert broker.status_of(client) == "Gold"
    history = cli("history", "--client", str(client["id"]))
    assert "Gold" in history.output and "lock" in history.output and ",cli," in history.output
    lifted = cli("release", str(client["id"]), "--what", "lock")
    assert lifted.exit_code == 0 and broker.status_of(client) == "Base"
    report = cli("report")
    assert report.output.splitlines()[0] == "status_id,name,clients"


def test_mistakes_are_errors_not_tracebacks(broker, cli):
    client = broker.client()
    unknown = cli("assign", str(client["id"]), "--status", "Platinum", "--reason", "x")
    assert unknown.exit_code == 1 and "no status 'Platinum'" in unknown.output
    assert cli("show", "999999").exit_code == 1
    assert cli("nope").exit_code != 0
    assert runner.invoke(app, ["module", "nope", "--tenant", "acme", "statuses"]).exit_code == 1
    help_text = cli()
    assert help_text.exit_code == 0 and "assign" in help_text.output
