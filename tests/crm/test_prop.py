"""Prop challenges, server-side pricing, orders and their one-way status."""

from __future__ import annotations

from dataclasses import replace

from core.config import Settings
from core.testing import expect
from core.testing.processes import processes


def _challenge(acme, fee="99.90", currency="USD", **extra):
    return expect(
        acme.admin.post(
            "/api/v1/prop/challenges",
            json={"name": f"Challenge {fee}", "fee": fee, "currency": currency, **extra},
        ),
        201,
    )


def test_offers_and_orders_use_the_server_price(crm):
    acme = crm.tenant("acme")
    cheap, dear = _challenge(acme, "49.00"), _challenge(acme, "199.00")
    _challenge(acme, "5.00", active=False)
    portal = acme.portal(acme.client()["id"])
    offers = expect(portal.get("/api/v1/portal/prop/challenges"), 200)
    assert [(o["id"], o["fee"], o["price"]) for o in offers] == [
        (cheap["id"], "49.00", "49.00"),
        (dear["id"], "199.00", "199.00"),
    ]
    order = expect(portal.post("/api/v1/portal/prop/orders", json={"challenge_id": dear["id"]}), 201)
    assert (order["list_price"], order["final_price"], order["status"]) == ("199.00", "199.00", "placed")
    # Raising the fee later does not touch the placed order.
    expect(acme.admin.patch(f"/api/v1/prop/challenges/{dear['id']}", json={"fee": "299"}), 200)
    assert expect(acme.admin.get(f"/api/v1/prop/orders/{order['id']}"), 200)["final_price"] == "199.00"


def test_a_client_cannot_send_a_price_or_unknown_options(crm):
    acme = crm.tenant("acme")
    challenge = _challenge(acme)
    portal = acme.portal(acme.client()["id"])
    before = crm.snapshot()
    priced = portal.post(
        "/api/v1/portal/prop/orders", json={"challenge_id": challenge["id"], "final_price": "1"}
    )
    assert priced.status_code == 422 and priced.json()["error"]["fields"][0]["field"] == "final_price"
    coupon = portal.post(
        "/api/v1/portal/prop/orders", json={"challenge_id": challenge["id"], "options": {"coupon_id": 3}}
    )
    assert coupon.status_code == 422 and coupon.json()["error"]["fields"][0]["field"] == "options.coupon_id"
    quoted = portal.post(
        "/api/v1/portal/prop/quote", json={"challenge_id": challenge["id"], "options": {"x": "y"}}
    )
    assert quoted.status_code == 422
    fractional = portal.post(
        "/api/v1/portal/prop/quote", json={"challenge_id": challenge["id"], "options": {"discount": 1.5}}
    )
    assert fractional.json()["error"]["fields"] == [
        {
            "field": "options.discount",
            "message": "must be a string, a whole number, true, false or null (send decimals as strings)",
        }
    ]
    assert crm.snapshot() == before


def test_inactive_or_foreign_challenges_cannot_be_ordered(crm):
    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    inactive = _challenge(acme, active=False)
    foreign = _challenge(globex)
    portal = acme.portal(acme.client()["id"])
    for challenge in (inactive, foreign):
        response = portal.post("/api/v1/portal/prop/orders", json={"challenge_id": challenge["id"]})
        assert (
            response.status_code == 422 and response.json()["error"]["fields"][0]["field"] == "challenge_id"
        )


def test_the_idempotency_key_makes_retries_safe(crm):
    acme = crm.tenant("acme")
    challenge, other = _challenge(acme), _challenge(acme, "10.00")
    portal = acme.portal(acme.client()["id"])
    headers = {"Idempotency-Key": "checkout-1"}
    first = portal.post("/api/v1/portal/prop/orders", json={"challenge_id": challenge["id"]}, headers=headers)
    retry = portal.post("/api/v1/portal/prop/orders", json={"challenge_id": challenge["id"]}, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["id"] == retry.json()["id"]
    misuse = portal.post("/api/v1/portal/prop/orders", json={"challenge_id": other["id"]}, headers=headers)
    assert misuse.status_code == 409
    assert crm.count("prop_orders", acme.id) == 1


def test_order_status_moves_once(crm):
    acme = crm.tenant("acme")
    challenge = _challenge(acme)
    client = acme.client()
    portal = acme.portal(client["id"])
    order = expect(portal.post("/api/v1/portal/prop/orders", json={"challenge_id": challenge["id"]}), 201)
    paid = expect(acme.admin.post(f"/api/v1/prop/orders/{order['id']}/paid"), 200)
    assert paid["status"] == "paid" and paid["status_changed_at"] is not None
    assert expect(acme.admin.post(f"/api/v1/prop/orders/{order['id']}/paid"), 200) == paid
    assert acme.admin.post(f"/api/v1/prop/orders/{order['id']}/cancel").status_code == 409
    assert portal.post(f"/api/v1/portal/prop/orders/{order['id']}/cancel").status_code == 409
    second = expect(portal.post("/api/v1/portal/prop/orders", json={"challenge_id": challenge["id"]}), 201)
    failed = expect(
        acme.admin.post(f"/api/v1/prop/orders/{second['id']}/failed", json={"reason": "card declined"}), 200
    )
    assert failed["failure_reason"] == "card declined"
    third = expect(portal.post("/api/v1/portal/prop/orders", json={"challenge_id": challenge["id"]}), 201)
    assert (
        expect(portal.post(f"/api/v1/portal/prop/orders/{third['id']}/cancel"), 200)["status"] == "cancelled"
    )
    statuses = [o["status"] for o in expect(portal.get("/api/v1/portal/prop/orders"), 200)["items"]]
    assert statuses == ["cancelled", "failed", "paid"]


def test_clients_and_scoped_staff_see_only_their_orders(crm):
    acme = crm.tenant("acme")
    challenge = _challenge(acme)
    agent = acme.user(["prop.read", "prop_orders.manage"], scope="own")
    mine, other = acme.client(assigned_user_id=agent.user_id), acme.client()
    my_order = expect(
        acme.portal(mine["id"]).post("/api/v1/portal/prop/orders", json={"challenge_id": challenge["id"]}),
        201,
    )
    other_portal = acme.portal(other["id"])
    their_order = expect(
        other_portal.post("/api/v1/portal/prop/orders", json={"challenge_id": challenge["id"]}), 201
    )
    assert [o["id"] for o in expect(agent.get("/api/v1/prop/orders"), 200)["items"]] == [my_order["id"]]
    assert agent.post(f"/api/v1/prop/orders/{their_order['id']}/paid").status_code == 404
    assert other_portal.post(f"/api/v1/portal/prop/orders/{my_order['id']}/cancel").status_code == 404


def test_challenges_with_orders_are_deactivated_not_deleted(crm):
    acme = crm.tenant("acme")
    challenge = _challenge(acme)
    expect(
        acme.portal(acme.client()["id"]).post(
            "/api/v1/portal/prop/orders", json={"challenge_id": challenge["id"]}
        ),
        201,
    )
    assert acme.admin.delete(f"/api/v1/prop/challenges/{challenge['id']}").status_code == 409
    unused = _challenge(acme, "1.00")
    expect(acme.admin.delete(f"/api/v1/prop/challenges/{unused['id']}"), 204)


def test_fee_precision_follows_the_currency(crm):
    acme = crm.tenant("acme", currencies=("USD", "JPY"))
    before = crm.snapshot()
    response = acme.admin.post(
        "/api/v1/prop/challenges", json={"name": "Yen", "fee": "100.5", "currency": "JPY"}
    )
    assert response.status_code == 422 and response.json()["error"]["fields"][0]["field"] == "fee"
    assert crm.snapshot() == before


def test_a_challenge_is_priced_in_one_of_the_companys_currencies(crm):
    acme = crm.tenant("acme", currencies=("USD",))
    before = crm.snapshot()
    response = acme.admin.post(
        "/api/v1/prop/challenges", json={"name": "Euro", "fee": "100", "currency": "EUR"}
    )
    assert response.status_code == 422 and response.json()["error"]["fields"][0]["field"] == "currency"
    assert crm.snapshot() == before
    challenge = expect(
        acme.admin.post("/api/v1/prop/challenges", json={"name": "Dollar", "fee": "100", "currency": "USD"}),
        201,
    )
    moved = acme.admin.patch(f"/api/v1/prop/challenges/{challenge['id']}", json={"currency": "EUR"})
    assert moved.status_code == 422 and moved.json()["error"]["fields"][0]["field"] == "currency"
    assert expect(acme.admin.get(f"/api/v1/prop/challenges/{challenge['id']}"), 200)["currency"] == "USD"


def _place(url: str, tenant_id: int, client_id: int, challenge_id: int, barrier) -> int:
    from core.context import bind
    from core.crm import prop
    from core.crm.schemas import OrderIn
    from core.runtime import Runtime

    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    barrier.wait()
    try:
        with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
            order, _ = prop.place_order(
                bind(session, None, runtime, "race"),
                client_id,
                OrderIn(challenge_id=challenge_id),
                idempotency_key="same-key",
            )
            return order.id
    finally:
        runtime.db.dispose()


def test_racing_retries_with_one_key_place_one_order(crm, crm_database_url):
    acme = crm.tenant("acme")
    challenge = _challenge(acme)
    client = acme.client()
    context = processes()
    barrier = context.Manager().Barrier(4)
    with context.Pool(4) as pool:
        ids = pool.starmap(_place, [(crm_database_url, acme.id, client["id"], challenge["id"], barrier)] * 4)
    assert len(set(ids)) == 1
    assert crm.count("prop_orders", acme.id) == 1


def _move(url: str, tenant_id: int, order_id: int, target: str, barrier) -> str:
    from core.context import bind
    from core.crm import prop
    from core.crm.models import PropOrderStatus
    from core.errors import DomainError
    from core.runtime import Runtime

    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    barrier.wait()
    try:
        with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
            return prop.set_status(
                bind(session, None, runtime, "race"), order_id, PropOrderStatus(target)
            ).status.value
    except DomainError as error:
        return error.code
    finally:
        runtime.db.dispose()


def test_paid_and_cancelled_racing_leave_exactly_one_outcome(crm, crm_database_url):
    acme = crm.tenant("acme")
    challenge = _challenge(acme)
    order = expect(
        acme.portal(acme.client()["id"]).post(
            "/api/v1/portal/prop/orders", json={"challenge_id": challenge["id"]}
        ),
        201,
    )
    context = processes()
    targets = ["paid", "cancelled", "paid", "cancelled"]
    barrier = context.Manager().Barrier(len(targets))
    with context.Pool(len(targets)) as pool:
        results = pool.starmap(_move, [(crm_database_url, acme.id, order["id"], t, barrier) for t in targets])
    final = expect(acme.admin.get(f"/api/v1/prop/orders/{order['id']}"), 200)["status"]
    assert results.count(final) == 2 and results.count("conflict") == 2
