"""Obtaining the module, its permissions, and its rules: one per rank, criteria per tier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from core.sdk.testing import Worker, expect
from core.sdk.testing import cli_app as app
from plugins.tier_upgrade.tests.support import API


def test_a_tenant_obtains_the_module_itself_and_grants_its_permissions(crm):
    acme = crm.tenant("acme")
    entry = expect(acme.admin.get("/api/v1/marketplace/tier_upgrade"), 200)
    assert (entry["display_name"], entry["install_policy"], entry["price"]) == (
        "Client Tier Upgrade",
        "self_service",
        {"model": "free"},
    )
    assert acme.admin.get(f"{API}/rules").status_code == 404
    expect(acme.admin.post("/api/v1/marketplace/tier_upgrade/install"), 200)
    labels = {p["name"]: p["label"] for p in expect(acme.admin.get("/api/v1/permissions"), 200)}
    assert [labels[n] for n in sorted(labels) if n.startswith("tier_upgrade.")] == [
        "Read Tier Upgrade Report",
        "Read Tier Upgrade Settings",
        "Update Tier Upgrade Settings",
        "Upgrade/Reject",
    ]


def test_settings_permissions(broker):
    reader = broker.tenant.user(["tier_upgrade.settings.read"])
    rule = broker.rule()
    assert [r["id"] for r in expect(reader.get(f"{API}/rules"), 200)] == [rule["id"]]
    assert reader.patch(f"{API}/rules/{rule['id']}", json={"name": "x"}).status_code == 403
    assert reader.post(f"{API}/rules/{rule['id']}/disable").status_code == 403
    assert reader.get(f"{API}/records").status_code == 403
    editor = broker.tenant.user(["tier_upgrade.settings.update"])
    expect(editor.patch(f"{API}/rules/{rule['id']}", json={"name": "Renamed"}), 200)


def test_a_rule_shows_its_tiers_in_ascending_order_and_is_scheduled_on_sundays(broker):
    rule = broker.rule(
        tiers=[
            {"tier_id": broker.gold, "currencies": {"USD": {"downline_total": "1000"}}},
            {
                "tier_id": broker.bronze,
                "currencies": {"EUR": {"downline_total": "10.5", "branch_minimum": "2"}},
            },
        ]
    )
    assert [(t["tier_name"], t["level"]) for t in rule["tiers"]] == [("Bronze", 1), ("Gold", 3)]
    assert rule["tiers"][0]["currencies"] == {"EUR": {"downline_total": "10.50", "branch_minimum": "2.00"}}
    assert (rule["deposit_type"], rule["rank_name"], rule["enabled"]) == ("deposit_request", "IB Rank", True)
    from datetime import datetime
    from zoneinfo import ZoneInfo

    local = datetime.fromisoformat(rule["next_settlement_at"]).astimezone(ZoneInfo("Europe/London"))
    assert (local.weekday(), local.hour, local.minute) == (6, 18, 0)  # Sunday 18:00 in London
    disabled = expect(broker.admin.post(f"{API}/rules/{rule['id']}/disable"), 200)
    assert (disabled["enabled"], disabled["next_settlement_at"]) == (False, None)


def test_one_rule_per_rank(broker):
    broker.rule()
    before = broker.crm.snapshot()
    second = broker.rule(status=409, name="Another")
    assert second["error"]["fields"][0]["field"] == "rank_id"
    assert broker.crm.snapshot() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"method": "sometimes"}, "method"),
        ({"target": "everyone"}, "target"),
        ({"currency_relation": "xor"}, "currency_relation"),
        ({"deposit_type": "manual"}, "deposit_type"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"settlement_time": "25:00"}, "settlement_time"),
        ({"rank_id": 987654}, "rank_id"),
        ({"tiers": []}, "tiers"),
        ({"tiers": [{"tier_id": 987654, "currencies": {"USD": {"downline_total": "1"}}}]}, "tiers.0.tier_id"),
        ({"tiers": [{"tier_id": "BRONZE", "currencies": {}}]}, "tiers.0.currencies"),
        (
            {"tiers": [{"tier_id": "BRONZE", "currencies": {"GBP": {"downline_total": "1"}}}]},
            "tiers.0.currencies.GBP",
        ),
        (
            {
                "tiers": [
                    {
                        "tier_id": "BRONZE",
                        "currencies": {"USD": {"downline_total": "100", "branch_minimum": "101"}},
                    }
                ]
            },
            "tiers.0.currencies.USD.branch_minimum",
        ),
        (
            {"tiers": [{"tier_id": "BRONZE", "currencies": {"USD": {"downline_total": "-1"}}}]},
            "tiers.0.currencies.USD.downline_total",
        ),
        (
            {"tiers": [{"tier_id": "BRONZE", "currencies": {"USD": {"downline_total": "1.001"}}}]},
            "tiers.0.currencies.USD.downline_total",
        ),
        (
            {
                "tiers": [
                    {"tier_id": "BRONZE", "currencies": {"USD": {"downline_total": "1"}}},
                    {"tier_id": "BRONZE", "currencies": {"USD": {"downline_total": "2"}}},
                ]
            },
            "tiers.1.tier_id",
        ),
        (
            {
                "tiers": [
                    {
                        "tier_id": "BRONZE",
                        "branches_required": -1,
                        "currencies": {"USD": {"downline_total": "1"}},
                    }
                ]
            },
            "tiers.0.branches_required",
        ),
    ],
)
def test_bad_rules_name_the_field_and_write_nothing(broker, change, field):
    for tier in change.get("tiers", []):
        if tier.get("tier_id") == "BRONZE":
            tier["tier_id"] = broker.bronze
    before = broker.crm.snapshot()
    refused = broker.rule(status=422, **change)
    assert field in [f["field"] for f in refused["error"]["fields"]], refused
    assert broker.crm.snapshot() == before


def test_a_tier_of_another_rank_is_refused(broker):
    other = expect(broker.admin.post("/api/v1/ranks", json={"name": "Other", "tiers": [{"name": "X"}]}), 201)
    refused = broker.rule(
        status=422,
        tiers=[{"tier_id": other["tiers"][0]["id"], "currencies": {"USD": {"downline_total": "1"}}}],
    )
    assert refused["error"]["fields"][0]["field"] == "tiers.0.tier_id"


def test_editing_replaces_criteria_and_deleting_stops_the_schedule(broker):
    rule = broker.rule()
    edited = expect(
        broker.admin.patch(
            f"{API}/rules/{rule['id']}",
            json={
                "method": "auto",
                "settlement_time": "09:30",
                "timezone": "Asia/Tokyo",
                "tiers": [{"tier_id": broker.silver, "currencies": {"USD": {"downline_total": "5"}}}],
            },
        ),
        200,
    )
    assert [t["tier_name"] for t in edited["tiers"]] == ["Silver"]
    assert (edited["method"], edited["settlement_time"], edited["timezone"]) == (
        "auto",
        "09:30",
        "Asia/Tokyo",
    )
    bad = broker.admin.patch(f"{API}/rules/{rule['id']}", json={"method": None})
    assert bad.status_code == 422
    schedules = expect(broker.admin.get("/api/v1/jobs/schedules"), 200)
    assert [(s["key"], s["cron"], s["timezone"]) for s in schedules if s["plugin"] == "tier_upgrade"] == [
        (str(rule["id"]), "30 9 * * 0", "Asia/Tokyo")
    ]
    expect(broker.admin.delete(f"{API}/rules/{rule['id']}"), 204)
    assert [
        s for s in expect(broker.admin.get("/api/v1/jobs/schedules"), 200) if s["plugin"] == "tier_upgrade"
    ] == []
    assert broker.admin.get(f"{API}/rules/{rule['id']}").status_code == 404
    broker.rule()  # the rank is free again


def test_editing_is_refused_while_the_rule_is_being_settled(broker):
    """A worker has claimed the rule's Sunday settlement (it runs, in another process, for minutes
    on a big tree): edits are refused until it is done."""
    rule = broker.rule()
    worker = Worker(broker.crm.runtime)
    sunday = datetime.fromisoformat(rule["next_settlement_at"])
    (claim,) = worker.claim(sunday + timedelta(minutes=1))
    url = f"{API}/rules/{rule['id']}"
    refused = [
        broker.admin.patch(url, json={"name": "Mid-run"}),
        broker.admin.post(f"{url}/disable"),
        broker.admin.delete(url),
    ]
    assert [r.status_code for r in refused] == [409, 409, 409]
    assert "settlement is in progress" in refused[0].json()["error"]["message"]
    assert worker.execute(claim).status.value == "succeeded"
    assert expect(broker.admin.patch(url, json={"name": "After"}), 200)["name"] == "After"
    settlements = expect(broker.admin.get("/api/v1/jobs/runs", params={"plugin": "tier_upgrade"}), 200)[
        "items"
    ]
    assert [(r["trigger"], r["status"]) for r in settlements] == [("schedule", "succeeded")]


def test_the_cli_runs_a_settlement_with_a_progress_bar(broker, crm_database_url, monkeypatch):
    monkeypatch.setenv("CRM_DATABASE_URL", crm_database_url)
    ib = broker.ranked(client_type="ib")
    for _ in range(2):
        broker.deposit(broker.client(ib), "300")
    rule = broker.rule(method="auto")
    result = CliRunner().invoke(
        app,
        ["jobs", "run", "tier_upgrade.settlement", "--tenant", broker.tenant.slug, "--rule", str(rule["id"])],
    )
    assert result.exit_code == 0 and "succeeded" in result.output, result.output
    assert broker.tier_of(ib) == broker.silver
    unnamed = CliRunner().invoke(
        app, ["jobs", "run", "tier_upgrade.settlement", "--tenant", broker.tenant.slug]
    )
    assert unnamed.exit_code == 1 and "--rule" in unnamed.output
    run = ["jobs", "run", "tier_upgrade.settlement", "--tenant", broker.tenant.slug, "--rule"]
    missing = CliRunner().invoke(app, [*run, "987654"])
    assert missing.exit_code == 1 and "no tier upgrade rule 987654" in missing.output
    assert "Traceback" not in missing.output and ".py" not in missing.output
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    refused = CliRunner().invoke(app, [*run, str(rule["id"]), "--arg", f"at={future}"])
    assert refused.exit_code == 1 and "is in the future" in refused.output, refused.output
