"""A rule's name is unique per broker, and its ``updated_at`` follows every change to it."""

from __future__ import annotations

from datetime import datetime

from core.sdk.testing import expect
from plugins.tier_upgrade.tests.support import API


def _second_rank(broker) -> dict:
    body = {"name": "Trader Rank", "tiers": [{"name": "Starter"}, {"name": "Advanced"}]}
    return expect(broker.admin.post("/api/v1/ranks", json=body), 201)


def test_rule_names_are_unique_per_broker_ignoring_case(broker, crm):
    broker.rule(name="Gold IB")
    rank = _second_rank(broker)
    tiers = [{"tier_id": rank["tiers"][0]["id"], "currencies": {"USD": {"downline_total": "10"}}}]
    before = crm.snapshot()
    taken = broker.rule(status=409, name="gold ib", rank_id=rank["id"], tiers=tiers)
    assert taken["error"]["fields"][0]["field"] == "name"
    assert crm.snapshot() == before
    other = broker.rule(name="Traders", rank_id=rank["id"], tiers=tiers)
    renamed = broker.admin.patch(f"{API}/rules/{other['id']}", json={"name": "GOLD IB"})
    assert renamed.status_code == 409 and renamed.json()["error"]["fields"][0]["field"] == "name"
    assert expect(broker.admin.get(f"{API}/rules/{other['id']}"), 200)["name"] == "Traders"
    expect(broker.admin.patch(f"{API}/rules/{other['id']}", json={"name": "traders"}), 200)  # its own


def test_updated_at_changes_whenever_the_rule_does(broker):
    rule = broker.rule()
    url = f"{API}/rules/{rule['id']}"
    seen = [datetime.fromisoformat(rule["updated_at"])]

    def changed(response) -> bool:
        stamp = datetime.fromisoformat(expect(response, 200)["updated_at"])
        moved = stamp > seen[-1]
        seen.append(stamp)
        return moved

    raised = [{"tier_id": broker.bronze, "currencies": {"USD": {"downline_total": "150"}}}]
    assert changed(broker.admin.patch(url, json={"tiers": raised}))  # criteria replaced
    assert not changed(broker.admin.patch(url, json={"tiers": raised}))  # the same criteria again
    assert changed(broker.admin.post(f"{url}/disable"))
    assert changed(broker.admin.post(f"{url}/enable"))
    assert changed(broker.admin.patch(url, json={"settlement_time": "19:30"}))
    assert datetime.fromisoformat(expect(broker.admin.get(url), 200)["updated_at"]) == seen[-1]  # stored


def test_null_for_a_rule_field_is_refused_naming_it_and_changes_nothing(broker):
    rule = broker.rule()
    url = f"{API}/rules/{rule['id']}"
    before = expect(broker.admin.get(url), 200)
    response = broker.admin.patch(url, json={"name": "Renamed", "timezone": None})
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["error"]["fields"]] == ["timezone"]
    assert expect(broker.admin.get(url), 200) == before
