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


def test_a_query_hook_whose_statement_fails_is_left_out_and_the_request_goes_on(pk):
    """Query hooks share one savepoint: a failed statement (which on PostgreSQL would leave the
    transaction unusable) is rolled back, recorded, and the request still answers."""
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    _settings(acme, fail_counts=True)
    client = acme.client()
    portal = acme.portal(client["id"])
    assert expect(portal.get("/api/v1/portal/notifications/count"), 200) == {
        "unread_popups": 0,
        "by_module": {},
    }
    failure = expect(acme.admin.get(f"{M}/failures"), 200)["items"][0]
    assert (failure["plugin"], failure["hook"]) == ("fixture_ticker", "crm_portal_notification_counts")
    assert "no_such_function" in failure["error"]
    _settings(acme, fail_counts=False)
    assert "ticker_notes" in expect(portal.get("/api/v1/portal/notifications/count"), 200)["by_module"]


def test_module_writes_are_attributed_to_the_module_in_the_operation_log(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_partner", with_requirements=True)
    client = acme.client()
    _approve(acme, client["id"])
    entries = expect(acme.admin.get("/api/v1/operation-log", params={"entity": "popups"}), 200)["items"]
    assert [(e["action"], e["actor_label"]) for e in entries] == [("create", "plugin:fixture_partner")]
    deposits = expect(acme.admin.get("/api/v1/operation-log", params={"entity": "deposits"}), 200)["items"]
    assert {e["actor_kind"] for e in deposits} == {"staff"}  # core's own change keeps its actor


# --- module events (contract 1.5): announced by the module the contract names -------------------

STATUS_CHANGE = {
    "previous_status_id": None,
    "previous_status": None,
    "status_id": 3,
    "status": "Gold",
    "direction": "up",
    "cause": "rule",
    "reason": "deposits over 10,000 USD",
}


def _listener_heard(tenant) -> list[tuple[str, int, dict]]:
    from sqlalchemy import select

    from core.notify.models import Popup

    with tenant.ctx() as ctx:
        stmt = select(Popup).where(Popup.source == "fixture_segments").order_by(Popup.id)
        return [(p.title, p.client_id, p.data) for p in ctx.session.scalars(stmt)]


def _announce_status(tenant, client_id: int, **how) -> None:
    from core.crm.models import Client
    from core.plugins.dispatch import acting_as, announce

    with tenant.ctx() as ctx:
        client = ctx.session.get(Client, client_id)
        if "acting_as" in how:
            with acting_as(ctx, how.pop("acting_as")) as plugin_ctx:
                announce(plugin_ctx, "crm_client_status_changed", client=client, change=STATUS_CHANGE, **how)
        else:
            announce(ctx, "crm_client_status_changed", client=client, change=STATUS_CHANGE, **how)


def test_a_module_event_reaches_every_consumer_like_a_core_event(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_segments")
    client = acme.client()
    # From the announcer's route or job (it names itself), or inside a hook the host called it.
    _announce_status(acme, client["id"], announcer="status_system")
    _announce_status(acme, client["id"], acting_as="status_system")
    heard = [h for h in _listener_heard(acme) if h[0] == "crm_client_status_changed"]
    assert heard == [("crm_client_status_changed", client["id"], STATUS_CHANGE)] * 2


def test_a_module_asks_whether_anyone_listens_before_gathering_an_event(pk):
    from core.plugins.dispatch import listening

    acme, globex = pk.tenant("acme"), pk.tenant("globex")
    acme.install("fixture_segments")  # it handles crm_client_status_changed; globex has no such module
    with acme.ctx() as ctx:
        assert listening(ctx, "crm_client_status_changed")
    with globex.ctx() as ctx:
        assert not listening(ctx, "crm_client_status_changed")


def test_only_the_module_the_contract_names_announces_its_event(pk):
    import pytest

    from core.crm.models import Client
    from core.plugins.dispatch import announce, fire

    acme = pk.tenant("acme")
    acme.install("fixture_segments")
    client_id = acme.client()["id"]
    refusals = [
        {"announcer": "fixture_segments"},  # another module
        {"acting_as": "fixture_segments"},  # another module, inside its own hook
        {"acting_as": "fixture_segments", "announcer": "status_system"},  # posing as the announcer
        {},  # nobody
    ]
    for how in refusals:
        with pytest.raises(TypeError):
            _announce_status(acme, client_id, **how)
    with acme.ctx() as ctx:
        client = ctx.session.get(Client, client_id)
        with pytest.raises(TypeError, match="not a module event"):  # a module never speaks for core
            announce(
                ctx, "crm_client_registered", announcer="status_system", client=client, promotion_link=None
            )
        with pytest.raises(TypeError, match="not a module event"):
            announce(ctx, "crm_price_order", announcer="status_system")
        with pytest.raises(TypeError, match="announced by the status_system module"):  # nor core for one
            fire(ctx, "crm_client_status_changed", client=client, change=STATUS_CHANGE)
    assert not [h for h in _listener_heard(acme) if h[0] == "crm_client_status_changed"]


def test_a_failed_module_event_is_recorded_and_replayed_after_the_fix(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_segments")
    client = acme.client()
    expect(acme.admin.put(f"{M}/fixture_segments/settings", json={"values": {"fail_events": True}}), 200)
    _announce_status(acme, client["id"], announcer="status_system")
    assert not [h for h in _listener_heard(acme) if h[0] == "crm_client_status_changed"]  # undone
    failure = expect(acme.admin.get(f"{M}/failures"), 200)["items"][0]
    assert (failure["plugin"], failure["hook"]) == ("fixture_segments", "crm_client_status_changed")
    assert failure["payload"]["change"] == STATUS_CHANGE
    assert failure["payload"]["client"]["id"] == client["id"]
    expect(acme.admin.put(f"{M}/fixture_segments/settings", json={"values": {"fail_events": False}}), 200)
    replayed = expect(acme.admin.post(f"{M}/failures/{failure['id']}/replay"), 200)
    assert replayed["resolved"] is True
    heard = [h for h in _listener_heard(acme) if h[0] == "crm_client_status_changed"]
    assert heard == [("crm_client_status_changed", client["id"], STATUS_CHANGE)]


def test_the_status_system_announces_each_real_change_once(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_segments")
    acme.install("status_system")
    statuses = "/api/v1/plugins/status_system/statuses"
    expect(acme.admin.post(statuses, json={"name": "Base"}), 201)
    rule = {"metric": "deposits_count", "operator": ">=", "value": 1}
    gold = expect(acme.admin.post(statuses, json={"name": "Gold", "criteria": rule}), 201)
    client = acme.client()
    for _ in range(2):  # the second deposit changes nothing: nothing is announced
        deposit = expect(
            acme.admin.post(
                "/api/v1/deposits", json={"client_id": client["id"], "amount": "5", "currency": "USD"}
            ),
            201,
        )
        if deposit["status"] != "approved":
            expect(acme.admin.post(f"/api/v1/deposits/{deposit['id']}/approve"), 200)
    heard = [h for h in _listener_heard(acme) if h[0] == "crm_client_status_changed"]
    assert [
        (client_id, change["status_id"], change["direction"], change["cause"])
        for _, client_id, change in heard
    ] == [(client["id"], gold["id"], "up", "rule")]
