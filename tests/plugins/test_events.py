"""Events reach each enabled module in isolation; chained hooks fail the action; replay."""

from __future__ import annotations

from core.testing import expect

M = "/api/v1/marketplace"
TICKER = "/api/v1/plugins/fixture_ticker"


def _approve(tenant, client_id: int) -> dict:
    deposit = expect(
        tenant.admin.post(
            "/api/v1/deposits", json={"client_id": client_id, "amount": "25", "currency": "USD"}
        ),
        201,
    )
    return expect(tenant.admin.post(f"/api/v1/deposits/{deposit['id']}/approve"), 200)


def _settings(tenant, **values):
    expect(tenant.admin.put(f"{M}/fixture_ticker/settings", json={"values": values}), 200)


def test_a_failing_handler_neither_undoes_the_action_nor_stops_other_modules(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_partner", with_requirements=True)
    _settings(acme, fail_events=True)
    client = acme.client()
    deposit = _approve(acme, client["id"])
    assert deposit["status"] == "approved"  # core's action stands
    # The ticker's handler failed: its note was rolled back with its savepoint…
    assert not any("approved" in n for n in expect(acme.admin.get(f"{TICKER}/notes"), 200))
    # …while the partner's handler ran and its pop-up stays.
    portal = acme.portal(client["id"])
    assert [p["source"] for p in expect(portal.get("/api/v1/portal/popups"), 200)["items"]] == [
        "fixture_partner"
    ]
    failure = expect(acme.admin.get(f"{M}/failures"), 200)["items"][0]
    assert (failure["plugin"], failure["hook"], failure["resolved"]) == (
        "fixture_ticker",
        "crm_deposit_approved",
        False,
    )
    assert "misconfigured" in failure["error"]
    assert failure["payload"]["deposit"]["id"] == deposit["id"]


def test_a_failed_event_is_replayed_after_the_fix(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    _settings(acme, fail_events=True)
    deposit = _approve(acme, acme.client()["id"])
    failure = expect(acme.admin.get(f"{M}/failures"), 200)["items"][0]
    still_broken = expect(acme.admin.post(f"{M}/failures/{failure['id']}/replay"), 200)
    assert still_broken["resolved"] is False and "misconfigured" in still_broken["replay_error"]
    _settings(acme, fail_events=False)
    replayed = expect(acme.admin.post(f"{M}/failures/{failure['id']}/replay"), 200)
    assert replayed["resolved"] is True and replayed["replayed_at"] is not None
    assert f"deposit {deposit['id']} approved" in expect(acme.admin.get(f"{TICKER}/notes"), 200)
    assert acme.admin.post(f"{M}/failures/{failure['id']}/replay").status_code == 409


def test_a_module_that_keeps_failing_shows_as_unhealthy(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    _settings(acme, fail_events=True)
    client = acme.client()
    for _ in range(3):
        _approve(acme, client["id"])
    entry = expect(acme.admin.get(f"{M}/fixture_ticker"), 200)
    assert entry["healthy"] is False and entry["recent_failures"] == 3
    assert entry["reason"] == "3 failures in the last 24 hours"
    operator = pk.operator()
    seen = expect(operator.get(f"/api/v1/platform/tenants/{acme.id}/plugin-failures"), 200)
    assert seen["total"] == 3


def test_modules_adjust_prices_through_the_chained_hook(pk):
    acme = pk.tenant("acme")
    challenge = expect(
        acme.admin.post("/api/v1/prop/challenges", json={"name": "C", "fee": "200.00", "currency": "USD"}),
        201,
    )
    portal = acme.portal(acme.client()["id"])
    body = {"challenge_id": challenge["id"], "options": {"ticker_discount_pct": "12.5"}}
    refused = portal.post("/api/v1/portal/prop/quote", json=body)
    assert refused.status_code == 422  # no module understands the option yet
    acme.install("fixture_ticker")
    quote = expect(portal.post("/api/v1/portal/prop/quote", json=body), 200)
    assert (quote["list_price"], quote["final_price"]) == ("200.00", "175.00")
    assert quote["adjustments"] == [
        {"source": "fixture_ticker", "code": "12.5%", "label": "Ticker discount", "amount": "-25.00"}
    ]
    order = expect(portal.post("/api/v1/portal/prop/orders", json=body), 201)
    assert order["final_price"] == "175.00" and order["adjustments"][0]["source"] == "fixture_ticker"


def test_a_failing_pricing_module_fails_the_order_never_a_wrong_price(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    _settings(acme, fail_pricing=True)
    challenge = expect(
        acme.admin.post("/api/v1/prop/challenges", json={"name": "C", "fee": "200.00", "currency": "USD"}),
        201,
    )
    portal = acme.portal(acme.client()["id"])
    before = pk.snapshot()
    response = portal.post("/api/v1/portal/prop/orders", json={"challenge_id": challenge["id"]})
    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": "module_failed",
        "fields": [],
        "message": "the fixture_ticker module failed (RuntimeError); nothing was done",
    }
    assert pk.snapshot() == before


def test_registration_events_and_portal_counts_reach_enabled_modules(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    link = expect(acme.admin.post("/api/v1/promotion-links", json={"name": "L", "code": "SPRING"}), 201)
    registered = pk.register("acme", "newbie@example.com", name="Newbie", promotion_code=link["code"])
    assert "welcome newbie@example.com via SPRING" in expect(acme.admin.get(f"{TICKER}/notes"), 200)
    from core.testing import ApiSession

    portal = ApiSession(pk.http, registered["access_token"])
    assert expect(portal.get("/api/v1/portal/notifications/count"), 200) == {
        "unread_popups": 0,
        "by_module": {"ticker_notes": 1},
    }
    assert expect(portal.get("/api/v1/portal/plugins/fixture_ticker/notes/count"), 200) == {"notes": 1}


def test_module_writes_are_attributed_to_the_module_in_the_operation_log(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_partner", with_requirements=True)
    client = acme.client()
    _approve(acme, client["id"])
    entries = expect(acme.admin.get("/api/v1/operation-log", params={"entity": "popups"}), 200)["items"]
    assert [(e["action"], e["actor_label"]) for e in entries] == [("create", "plugin:fixture_partner")]
    deposits = expect(acme.admin.get("/api/v1/operation-log", params={"entity": "deposits"}), 200)["items"]
    assert {e["actor_kind"] for e in deposits} == {"staff"}  # core's own change keeps its actor
