"""Settlement over a hand-built referral tree, the two reports, and the Upgrade/Reject actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.sdk import DepositKind, DepositStatus
from core.sdk.testing import Worker, expect
from plugins.tier_upgrade.models import Settlement, SettlementState
from plugins.tier_upgrade.tests.support import API, Broker


def _earlier() -> datetime:
    """A settlement time a little before now: one settled now comes after it (a settlement as of
    a time in the future is refused)."""
    return datetime.now(UTC) - timedelta(seconds=5)


def _tree(broker):
    """
    A (IB, Bronze)
    ├── B (trader, Bronze)   300 USD
    │   ├── D                200 USD; plus a 1000 USD manual entry, a pending 500 and a rejected 700
    │   └── G                350 USD
    └── C (Bronze)            50 USD
        └── E                100 USD
            └── F             60 USD   (three levels below A: indirect downlines count)

    A: downline 1060 USD; branches B = 850 and C = 210 both reach Silver's 100: Silver. Gold
       would need two branches of 300 (C has 210) and 500 EUR.
    B: downline 550 USD; branches D = 200 and G = 350: Silver.
    C: downline 160 USD: Bronze, which C has already: no record.
    (A rank given without a tier puts the client on its lowest tier.)
    """
    a = broker.ranked(client_type="ib", name="A")
    b = broker.ranked(a, name="B")
    c = broker.ranked(a, name="C")
    d, g = broker.client(b, name="D"), broker.client(b, name="G")
    e = broker.client(c, name="E")
    f = broker.client(e, name="F")
    for client, amount in [(b, "300"), (d, "200"), (g, "350"), (c, "50"), (e, "100"), (f, "60")]:
        broker.deposit(client, amount)
    broker.deposit(d, "1000", kind=DepositKind.MANUAL)
    broker.deposit(d, "500", status=DepositStatus.PENDING)
    broker.deposit(d, "700", status=DepositStatus.REJECTED)
    return a, b, c


def test_a_manual_rule_lists_who_qualifies_with_the_metrics(broker):
    a, b, _ = _tree(broker)
    rule = broker.rule()
    broker.settle(rule["id"])
    records = {r["client_id"]: r for r in broker.report()}
    assert set(records) == {a["id"], b["id"]}
    record_a = records[a["id"]]
    assert (record_a["from_tier_name"], record_a["to_tier_name"], record_a["status"]) == (
        "Bronze",
        "Silver",
        "pending",
    )
    assert record_a["metrics"] == {
        "downline_totals": {"EUR": "0.00", "USD": "1060.00"},
        "qualifying_branches": {"USD": 2},
        "branches": 2,
    }
    assert (record_a["client_type"], record_a["rank_name"], record_a["rule_name"]) == (
        "ib",
        "IB Rank",
        "IB promotions",
    )
    assert records[b["id"]]["to_tier_name"] == "Silver"
    assert broker.tier_of(a) == broker.bronze  # manual: nothing changes until someone upgrades
    assert broker.report("auto") == []


def test_only_the_rules_target_is_settled(broker):
    a, b, _ = _tree(broker)
    rule = broker.rule(target="ibs")
    broker.settle(rule["id"], _earlier())
    assert [r["client_id"] for r in broker.report()] == [a["id"]]
    expect(broker.admin.patch(f"{API}/rules/{rule['id']}", json={"target": "traders"}), 200)
    broker.settle(rule["id"])
    # B is newly settled; A, outside the target now, keeps its open record from before.
    pending = {(r["client_id"], r["settlement_at"]) for r in broker.report(status="pending")}
    assert {client_id for client_id, _ in pending} == {a["id"], b["id"]}
    assert len({at for _, at in pending}) == 2


def test_an_auto_rule_upgrades_at_once_and_a_rerun_changes_nothing(broker):
    a, b, _ = _tree(broker)
    rule = broker.rule(method="auto")
    at = datetime.now(UTC).replace(microsecond=0)
    broker.settle(rule["id"], at)
    assert (broker.tier_of(a), broker.tier_of(b)) == (broker.silver, broker.silver)
    report = broker.report("auto")
    assert {(r["client_id"], r["status"]) for r in report} == {(a["id"], "success"), (b["id"], "success")}
    before = broker.crm.snapshot()
    broker.settle(rule["id"], at)  # the same settlement again: a retry, or a second worker
    assert broker.crm.snapshot() == {**before, "job_runs": before["job_runs"] + 1}
    assert broker.report("auto") == report
    log = expect(
        broker.admin.get("/api/v1/operation-log", params={"entity": "clients", "entity_id": str(a["id"])}),
        200,
    )
    assert any(e["after"] and e["after"].get("tier_id") == broker.silver for e in log["items"])


def test_currencies_combine_with_and_or_or(broker):
    ib = broker.ranked(client_type="ib")
    for _ in range(2):
        child = broker.client(ib)
        broker.deposit(child, "600")  # 1200 USD, two branches of 600
    broker.deposit(broker.client(ib), "100", "EUR")  # EUR 100 < 500
    gold_or = broker.rule(currency_relation="or")
    broker.settle(gold_or["id"], _earlier())
    assert [r["to_tier_name"] for r in broker.report()] == ["Gold"]  # USD alone suffices
    expect(broker.admin.patch(f"{API}/rules/{gold_or['id']}", json={"currency_relation": "and"}), 200)
    broker.settle(gold_or["id"])
    pending = broker.report(status="pending")
    assert [r["to_tier_name"] for r in pending] == ["Silver"]  # Gold's EUR 500 is missing
    assert [r["status"] for r in broker.report(status="expired")] == ["expired"]


def test_branch_minimum_and_branch_count(broker):
    ib = broker.ranked(client_type="ib")
    strong = broker.client(ib)
    broker.deposit(strong, "450")
    weak = broker.client(ib)
    broker.deposit(broker.client(weak), "99")  # the branch's total comes from an indirect downline
    rule = broker.rule()
    broker.settle(rule["id"], _earlier())
    # 549 USD is enough for Silver's total, but only one branch reaches 100.
    assert broker.report() == []
    broker.deposit(broker.client(weak), "1")
    broker.settle(rule["id"])
    record = broker.report()[0]
    assert (record["to_tier_name"], record["metrics"]["qualifying_branches"]) == ("Silver", {"USD": 2})


def test_deposits_after_the_cut_off_wait_for_the_next_settlement(broker):
    ib = broker.ranked(client_type="ib")
    for _ in range(2):
        broker.deposit(broker.client(ib), "300", decided_at=datetime.now(UTC) - timedelta(hours=1))
    rule = broker.rule()
    broker.settle(rule["id"], datetime.now(UTC) - timedelta(hours=2))
    assert broker.report() == []
    broker.settle(rule["id"])
    assert [r["to_tier_name"] for r in broker.report()] == ["Silver"]


def test_upgrade_and_reject_pending_records(broker):
    a, b, _ = _tree(broker)
    rule = broker.rule()
    broker.settle(rule["id"])
    records = {r["client_id"]: r for r in broker.report()}
    approver = broker.tenant.user(["tier_upgrade.report.read", "tier_upgrade.upgrade"])
    upgraded = expect(
        approver.post(f"{API}/records/upgrade", json={"record_ids": [records[a["id"]]["id"]]}), 200
    )
    assert upgraded[0]["status"] == "success" and upgraded[0]["acted_by_user_id"] == approver.user_id
    assert broker.tier_of(a) == broker.silver
    rejected = expect(
        approver.post(f"{API}/records/reject", json={"record_ids": [records[b["id"]]["id"]]}), 200
    )
    assert rejected[0]["status"] == "rejected" and broker.tier_of(b) == broker.bronze
    again = approver.post(f"{API}/records/reject", json={"record_ids": [records[a["id"]]["id"]]})
    assert again.status_code == 409
    reader = broker.tenant.user(["tier_upgrade.report.read"])
    assert (
        reader.post(f"{API}/records/upgrade", json={"record_ids": [records[b["id"]]["id"]]}).status_code
        == 403
    )


def test_a_record_fails_when_the_tier_is_already_higher_or_the_rank_changed(broker):
    a, b, _ = _tree(broker)
    rule = broker.rule()
    broker.settle(rule["id"])
    records = {r["client_id"]: r for r in broker.report()}
    expect(
        broker.admin.patch(f"/api/v1/clients/{a['id']}", json={"tier_id": broker.gold}), 200
    )  # by hand, first
    other = expect(broker.admin.post("/api/v1/ranks", json={"name": "Other", "tiers": [{"name": "X"}]}), 201)
    expect(broker.admin.patch(f"/api/v1/clients/{b['id']}", json={"rank_id": other["id"]}), 200)
    result = {
        r["client_id"]: r
        for r in expect(
            broker.admin.post(
                f"{API}/records/upgrade",
                json={"record_ids": [records[a["id"]]["id"], records[b["id"]]["id"]]},
            ),
            200,
        )
    }
    assert result[a["id"]]["status"] == "fail" and "higher" in result[a["id"]]["fail_reason"]
    assert result[b["id"]]["status"] == "fail" and "rank has changed" in result[b["id"]]["fail_reason"]
    assert broker.tier_of(a) == broker.gold
    # A failed record stays actionable: back on the rank, B can be upgraded by hand.
    expect(broker.admin.patch(f"/api/v1/clients/{b['id']}", json={"rank_id": broker.rank_id}), 200)
    done = expect(
        broker.admin.post(f"{API}/records/upgrade", json={"record_ids": [records[b["id"]]["id"]]}), 200
    )
    assert done[0]["status"] == "success" and broker.tier_of(b) == broker.silver


def test_the_next_settlement_expires_open_records_which_are_then_immutable(broker):
    a, b, _ = _tree(broker)
    rule = broker.rule()
    broker.settle(rule["id"], _earlier())
    first = {r["client_id"]: r for r in broker.report()}
    broker.settle(rule["id"])
    statuses = sorted((r["client_id"], r["status"]) for r in broker.report())
    assert statuses == sorted(
        [(a["id"], "expired"), (a["id"], "pending"), (b["id"], "expired"), (b["id"], "pending")]
    )
    before = broker.crm.snapshot()
    for action in ("upgrade", "reject"):
        refused = broker.admin.post(f"{API}/records/{action}", json={"record_ids": [first[a["id"]]["id"]]})
        assert refused.status_code == 409 and "expired" in refused.json()["error"]["message"]
    assert broker.crm.snapshot() == before


def test_disabled_rules_are_skipped_and_deleted_rules_keep_their_records(broker):
    a, _, _ = _tree(broker)
    rule = broker.rule()
    expect(broker.admin.post(f"{API}/rules/{rule['id']}/disable"), 200)
    refused = broker.run(rule["id"])
    assert (refused.status.value, refused.error) == (
        "failed",
        f"rule {rule['id']} is disabled: enable it to settle it",
    )
    assert broker.report() == []
    expect(broker.admin.post(f"{API}/rules/{rule['id']}/enable"), 200)
    broker.settle(rule["id"])
    records = broker.report()
    assert len(records) == 2
    expect(broker.admin.post(f"{API}/rules/{rule['id']}/disable"), 200)
    pending_a = next(r for r in records if r["client_id"] == a["id"])
    expect(
        broker.admin.post(f"{API}/records/upgrade", json={"record_ids": [pending_a["id"]]}), 200
    )  # still actionable
    expect(broker.admin.delete(f"{API}/rules/{rule['id']}"), 204)
    kept = broker.report()
    assert [(r["id"], r["rule_name"], r["rule_id"]) for r in kept] == [
        (r["id"], "IB promotions", None) for r in records
    ]


def test_reports_filter_page_export_and_respect_data_permissions(broker):
    team = broker.tenant.team("Desk")
    agent = broker.tenant.user(["tier_upgrade.report.read"], scope="own")
    lead = broker.tenant.user(["tier_upgrade.report.read"], scope="team", team_id=team)
    mine = broker.ranked(client_type="ib", assigned_user_id=agent.user_id, name="Mine")
    teams = broker.ranked(client_type="ib", team_id=team, name="Teams")
    other = broker.ranked(client_type="ib", name="Other")
    for ib in (mine, teams, other):
        for _ in range(2):
            broker.deposit(broker.client(ib), "300")
    rule = broker.rule()
    broker.settle(rule["id"])

    def seen(session, **params):
        response = expect(session.get(f"{API}/records", params={"method": "manual", **params}), 200)
        return {r["client_id"] for r in response["items"]}

    assert seen(agent) == {mine["id"]}
    assert seen(lead) == {teams["id"]}
    assert seen(broker.admin) == {mine["id"], teams["id"], other["id"]}
    assert seen(broker.admin, client_id=other["id"]) == {other["id"]}
    assert seen(broker.admin, tier_id=broker.gold) == set()
    assert len(seen(broker.admin, tier_id=broker.silver)) == 3
    settlement_date = broker.report()[0]["settlement_date"]
    assert len(seen(broker.admin, settlement_date=settlement_date, status="pending")) == 3
    page = expect(
        broker.admin.get(f"{API}/records", params={"method": "manual", "per_page": 2, "page": 2}), 200
    )
    assert (page["total"], len(page["items"])) == (3, 1)
    exported = agent.get(f"{API}/records/export", params={"method": "manual"})
    lines = exported.text.splitlines()
    assert exported.status_code == 200 and len(lines) == 2 and "Mine" in lines[1]
    assert lines[0].startswith("id,settlement_date,settlement_at,client_id,client_name")
    other_record = next(r for r in broker.report() if r["client_id"] == other["id"])
    assert agent.get(f"{API}/records/{other_record['id']}").status_code == 404
    approver = broker.tenant.user(["tier_upgrade.upgrade"], scope="own")
    outside = approver.post(f"{API}/records/upgrade", json={"record_ids": [other_record["id"]]})
    assert outside.status_code == 422 and outside.json()["error"]["fields"][0]["field"] == "record_ids"


def test_a_settlement_as_of_the_future_is_refused_and_the_sunday_keeps_its_slot(broker):
    ib = broker.ranked(client_type="ib")
    for _ in range(2):
        broker.deposit(broker.client(ib), "300")
    rule = broker.rule(method="auto")
    sunday = datetime.fromisoformat(rule["next_settlement_at"])
    before = broker.crm.snapshot()
    refused = broker.run(rule["id"], sunday)
    assert refused.status.value == "failed"
    assert refused.error.startswith(f"at: {sunday.isoformat()} is in the future")
    assert broker.crm.snapshot() == {**before, "job_runs": before["job_runs"] + 1}  # the run's history
    broker.settle(rule["id"])  # by hand, now: a time of its own, before the Sunday
    assert broker.tier_of(ib) == broker.silver
    [scheduled] = Worker(broker.crm.runtime).tick(sunday + timedelta(minutes=1))  # the Sunday comes
    assert (scheduled.status.value, scheduled.trigger.value) == ("succeeded", "schedule")
    with broker.tenant.ctx() as ctx:
        settled = ctx.session.execute(
            select(Settlement.settlement_at, Settlement.state, Settlement.records).order_by(Settlement.id)
        ).all()
    [(by_hand, _, _), sundays] = settled
    assert by_hand < sunday and sundays == (sunday, SettlementState.FINISHED, 0)  # nothing new by then


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "name the rule: --rule RULE_ID"),
        ("seven", "'seven' is not a rule id: name the rule with --rule RULE_ID"),
        ("987654", "no tier upgrade rule 987654"),
        ("99999999999999999999", "no tier upgrade rule 99999999999999999999"),
        ("OTHER", "no tier upgrade rule OTHER"),
    ],
)
def test_an_impossible_settlement_fails_and_says_why(broker, key, message):
    if key == "OTHER":  # another broker's rule is no rule of this one
        other = Broker(broker.crm, "globex").rule()
        key, message = str(other["id"]), message.replace("OTHER", str(other["id"]))
    before = broker.crm.snapshot()
    run = broker.run(key)
    assert (run.status.value, run.error) == ("failed", message)
    assert broker.crm.snapshot() == {**before, "job_runs": before["job_runs"] + 1}
