"""The demo broker's Status System: one ladder from KYC onboarding to loyalty, clients spread over it
by the rules, a floor, a lock and a status given by hand, and the portal client moved up by an
event of the demo's first morning (plugins/status_system/demo.py, core/demo/steps/activity.py)."""

from __future__ import annotations

from typing import Any

from core.demo import PASSWORD, seed_demo
from core.testing import ApiSession, CrmKit, expect

API = "/api/v1/plugins/status_system"
LADDER = ["Registered", "Documents started", "Verified", "Silver", "Gold", "VIP"]


def _history(admin: ApiSession, **params: Any) -> list[dict[str, Any]]:
    return expect(admin.get(f"{API}/history", params={"per_page": 500, **params}), 200)["items"]


def test_the_demo_broker_has_one_ladder_with_clients_on_every_step(crm: CrmKit) -> None:
    seed_demo(crm.runtime)
    admin = crm.login("demo", "admin@demo.example.com", PASSWORD)
    statuses = expect(admin.get(f"{API}/statuses"), 200)
    assert [s["name"] for s in statuses] == LADDER
    # Registered and VIP are given by hand only; the others by rules.
    assert [s["criteria"] is not None for s in statuses] == [False, True, True, True, True, False]
    assert all(s["caption"] and s["description"] and s["grants"] for s in statuses)
    assert len({s["colour"] for s in statuses}) == len(LADDER)
    by_status = {row["name"]: row["clients"] for row in expect(admin.get(f"{API}/reports/by-status"), 200)}
    assert sum(by_status.values()) == 200
    assert all(by_status[name] > 0 for name in LADDER), by_status
    # Each status is a segment other modules (the coupons' distribution) can target.
    segments = {s["key"] for s in expect(admin.get("/api/v1/segments"), 200)}
    assert {f"status_system:status-{s['id']}" for s in statuses} <= segments


def test_the_history_shows_rules_a_floor_a_lock_and_a_status_given_by_hand(crm: CrmKit) -> None:
    seed_demo(crm.runtime)
    admin = crm.login("demo", "admin@demo.example.com", PASSWORD)
    history = _history(admin)
    assert {h["cause"] for h in history} == {"rule", "floor", "lock", "manual"}
    assert sum(h["cause"] == "rule" for h in history) > 100
    (floor,) = [h for h in history if h["cause"] == "floor"]
    (lock,) = [h for h in history if h["cause"] == "lock"]
    (manual,) = [h for h in history if h["cause"] == "manual"]
    assert (floor["previous_name"], floor["name"], floor["direction"]) == ("Registered", "Silver", "up")
    assert (lock["previous_name"], lock["name"], lock["direction"]) == ("Gold", "Verified", "down")
    assert (manual["previous_name"], manual["name"]) == ("Gold", "VIP")
    floored = expect(admin.get(f"{API}/clients/{floor['client_id']}"), 200)
    assert floored["status"] == "Silver" and floored["floor"]["status"] == "Silver"
    assert floored["floor"]["expires_at"] is not None
    locked = expect(admin.get(f"{API}/clients/{lock['client_id']}"), 200)
    assert locked["status"] == "Verified" and locked["lock"]["reason"] == "Source of funds under review"
    # The rules would give the locked client Gold: the lock holds against a re-evaluation.
    assert expect(admin.post(f"{API}/clients/{lock['client_id']}/recompute"), 200)["status"] == "Verified"
    # Every change the rules made kept the checklist that decided it.
    assert all(h["evaluation"] and h["evaluation"]["met"] for h in history if h["cause"] == "rule")


def test_the_portal_client_moved_up_when_compliance_verified_a_document(crm: CrmKit) -> None:
    seed_demo(crm.runtime)
    admin = crm.login("demo", "admin@demo.example.com", PASSWORD)
    response = crm.http.post(
        "/api/v1/portal/auth/login",
        json={"tenant": "demo", "email": "client1@example.com", "password": PASSWORD},
    )
    portal = ApiSession(crm.http, expect(response, 200)["access_token"])
    me = expect(portal.get("/api/v1/portal/plugins/status_system/me"), 200)
    assert me["status"]["name"] == "Documents started"
    # The onboarding checklist: the passport is verified, the proof of address is still missing.
    assert me["next"]["name"] == "Verified" and 0 < me["progress"] < 1
    missing = [item["missing"] for item in me["checklist"] if not item["met"]]
    assert "still missing: Proof of address" in missing
    # The passport was verified after the module was installed: the event moved the client.
    client_id = expect(portal.get("/api/v1/portal/me"), 200)["id"]
    (change,) = _history(admin, client_id=client_id)
    assert (change["previous_name"], change["name"], change["cause"]) == (
        "Registered",
        "Documents started",
        "rule",
    )
    # Clients the demo's first morning moved twice: once by the ladder, once by the events.
    moved = [h["client_id"] for h in _history(admin) if h["cause"] == "rule"]
    assert any(moved.count(client_id) == 2 for client_id in set(moved))
