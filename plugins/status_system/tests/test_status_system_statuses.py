"""Statuses and their rules: create, validate, reorder, delete (refused while held, or reassigned),
the dry run, and the metrics the rule editor offers."""

from __future__ import annotations

from core.sdk.testing import expect
from plugins.status_system.tests.support import API, deposits_at_least


def _field(body: dict) -> str:
    return body["error"]["fields"][0]["field"]


def test_the_ladder_is_ordered_lowest_first_and_can_be_reordered(broker):
    ladder = expect(broker.admin.get(f"{API}/statuses"), 200)
    assert [s["name"] for s in ladder] == ["Base", "Silver", "Gold"]
    vip = broker.status("VIP", position=1)
    assert [s["name"] for s in expect(broker.admin.get(f"{API}/statuses"), 200)] == [
        "Base",
        "VIP",
        "Silver",
        "Gold",
    ]
    order = [broker.base["id"], broker.silver["id"], broker.gold["id"], vip["id"]]
    moved = expect(broker.admin.put(f"{API}/statuses/order", json={"status_ids": order}), 200)
    assert [s["name"] for s in moved] == ["Base", "Silver", "Gold", "VIP"]
    response = broker.admin.put(f"{API}/statuses/order", json={"status_ids": order[:2]})
    assert _field(expect(response, 422)) == "status_ids"


def test_a_rule_that_cannot_be_evaluated_is_refused_naming_the_field(broker):
    cases = [
        ({"metric": "nope", "operator": ">=", "value": 1}, "criteria.metric"),
        ({"metric": "deposits_sum", "operator": ">=", "value": "10"}, "criteria.currency"),
        (
            {"metric": "deposits_sum", "operator": "in", "value": ["a"], "currency": "USD"},
            "criteria.operator",
        ),
        ({"all": [deposits_at_least("10", "JPY")]}, "criteria.all.0.currency"),
        (
            {"all": [{"not": {"metric": "country", "operator": "in", "value": ["XX"]}}]},
            "criteria.all.0.not.value",
        ),
        (
            {"metric": "kyc_status", "operator": "in", "value": ["verified"], "window_days": 30},
            "criteria.window_days",
        ),
        ({"metric": "deposits_count", "operator": ">=", "value": "1.5"}, "criteria.value"),
    ]
    for criteria, field in cases:
        body = expect(broker.admin.post(f"{API}/statuses", json={"name": "Bad", "criteria": criteria}), 422)
        assert _field(body) == field, (criteria, body)
    deep: dict = deposits_at_least("1")
    for _ in range(6):
        deep = {"not": deep}
    expect(broker.admin.post(f"{API}/statuses", json={"name": "Deep", "criteria": deep}), 422)
    assert [s["name"] for s in expect(broker.admin.get(f"{API}/statuses"), 200)] == ["Base", "Silver", "Gold"]


def test_names_are_unique_and_icons_and_groups_are_checked(broker):
    broker.status("Gold", expected=409)
    icon = broker.admin.post(f"{API}/statuses", json={"name": "X", "icon": "rocket"})
    assert _field(expect(icon, 422)) == "icon"
    group = broker.admin.post(f"{API}/statuses", json={"name": "X", "group_id": 999})
    assert _field(expect(group, 422)) == "group_id"
    edited = expect(broker.admin.patch(f"{API}/statuses/{broker.gold['id']}", json={"caption": "Top"}), 200)
    assert edited["caption"] == "Top" and edited["criteria"] == broker.gold["criteria"]


def test_a_held_status_is_deleted_only_with_a_reassignment(broker):
    rich = broker.client()
    broker.deposit(rich, "1500")
    assert broker.status_of(rich) == "Silver"
    response = broker.admin.post(f"{API}/statuses/{broker.silver['id']}/delete", json={})
    assert response.status_code == 409 and "1 clients hold Silver" in response.text
    expect(
        broker.admin.post(
            f"{API}/statuses/{broker.silver['id']}/delete", json={"reassign_to": broker.base["id"]}
        ),
        204,
    )
    assert broker.status_of(rich) == "Base"
    moved = broker.history(rich)[0]
    assert (moved["previous_name"], moved["name"], moved["cause"]) == ("Silver", "Base", "manual")
    # Nobody holds Gold: it goes at once.
    expect(broker.admin.post(f"{API}/statuses/{broker.gold['id']}/delete", json={}), 204)


def test_deleting_the_lowest_status_moves_everyone_without_a_standing(broker):
    clients = [broker.client() for _ in range(3)]
    expect(
        broker.admin.post(
            f"{API}/statuses/{broker.base['id']}/delete", json={"reassign_to": broker.silver["id"]}
        ),
        204,
    )
    assert {broker.status_of(c) for c in clients} == {"Silver"}
    assert len(broker.history()) == 3


def test_the_dry_run_counts_who_would_move_and_saves_nothing(broker):
    for amount in ("100", "600", "2000"):
        broker.deposit(broker.client(), amount)
    trial = {"criteria": deposits_at_least("500")}
    counts = expect(broker.admin.post(f"{API}/statuses/{broker.silver['id']}/dry-run", json=trial), 200)
    assert counts == {"clients": 3, "up": 1, "down": 0, "unchanged": 2}
    stricter = {"criteria": deposits_at_least("5000")}
    counts = expect(broker.admin.post(f"{API}/statuses/{broker.silver['id']}/dry-run", json=stricter), 200)
    assert counts["up"] == 0 and counts["down"] == 0  # demotion is "never" by default
    broker.settings(demotion="automatic", grace_days=0)
    counts = expect(broker.admin.post(f"{API}/statuses/{broker.silver['id']}/dry-run", json=stricter), 200)
    assert counts["down"] == 1
    assert (
        expect(broker.admin.get(f"{API}/statuses/{broker.silver['id']}"), 200)["criteria"]
        == broker.silver["criteria"]
    )


def test_the_metrics_list_names_core_metrics_with_their_operators(broker):
    metrics = {m["name"]: m for m in expect(broker.admin.get(f"{API}/metrics"), 200)}
    core = "deposits_sum deposits_count kyc_status kyc_documents_verified country language"
    core += " trading_account_types"
    core += " client_type client_group days_registered direct_downlines all_downlines"
    assert set(core.split()) <= set(metrics)
    assert metrics["deposits_sum"]["per_currency"] and metrics["deposits_sum"]["windowed"]
    assert ">=" in metrics["deposits_sum"]["operators"]
    assert ("passport", "Passport") in [tuple(c) for c in metrics["kyc_documents_verified"]["choices"]]


def test_permissions_guard_every_action(broker):
    reader = broker.tenant.user(["status_system.read", "clients.read"])
    client = broker.client()
    assert reader.get(f"{API}/statuses").status_code == 200
    assert reader.post(f"{API}/statuses", json={"name": "X"}).status_code == 403
    body = {"status_id": broker.gold["id"], "mode": "lock", "reason": "x"}
    assert reader.post(f"{API}/clients/{client['id']}/assign", json=body).status_code == 403
    nobody = broker.tenant.user([])
    assert nobody.get(f"{API}/statuses").status_code == 403
