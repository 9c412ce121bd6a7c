"""Redemption under concurrency: several processes, each with its own connections, checking out
at the same moment. Limits hold on PostgreSQL (row locks) and SQLite (serialized writers)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.sdk.testing import Settings, expect, processes
from plugins.coupons.tests.support import API


def _warm_up(
    runtime: Any, tenant_id: int, client_id: int, challenge_id: int, options: dict[str, Any]
) -> None:
    """Connect and load the module state before the start line, so the checkouts really overlap."""
    from core.sdk.testing import bind, prop

    with runtime.db.transaction(tenant_id=tenant_id) as session:
        prop.quote(bind(session, None, runtime, "race"), client_id, challenge_id, options)


def _checkout(
    url: str, tenant_id: int, attempts: list[tuple[int, int, dict[str, Any]]], barrier: Any
) -> list[str]:
    """Place each (client, challenge, options) order in its own transaction and pay it at once;
    returns 'paid' or the refusal's field per attempt."""
    from core.sdk import DomainError, PropOrderStatus
    from core.sdk.testing import OrderIn, Runtime, bind, prop

    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    outcomes = []
    _warm_up(runtime, tenant_id, *attempts[0])
    barrier.wait()
    try:
        for client_id, challenge_id, options in attempts:
            try:
                with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
                    ctx = bind(session, None, runtime, "race")
                    order, _ = prop.place_order(
                        ctx, client_id, OrderIn(challenge_id=challenge_id, options=options)
                    )
                    order_id = order.id
                with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
                    prop.set_status(bind(session, None, runtime, "race"), order_id, PropOrderStatus.PAID)
                outcomes.append("paid")
            except DomainError as error:
                fields = getattr(error, "fields", None) or []
                outcomes.append(fields[0].field if fields else error.code)
    finally:
        runtime.db.dispose()
    return outcomes


def _race(url: str, tenant_id: int, per_process: list[list[tuple[int, int, dict[str, Any]]]]) -> list[str]:
    context = processes()
    barrier = context.Manager().Barrier(len(per_process))
    with context.Pool(len(per_process)) as pool:
        results = pool.starmap(_checkout, [(url, tenant_id, attempts, barrier) for attempts in per_process])
    return [outcome for outcomes in results for outcome in outcomes]


def test_four_processes_redeem_a_single_use_coupon_exactly_once(shop, crm_database_url):
    client, _ = shop.client()
    challenge = shop.challenge()
    coupon = shop.given([client["id"]], uses_per_client=1)
    attempt = (client["id"], challenge["id"], {"coupon_id": coupon["id"]})
    outcomes = _race(crm_database_url, shop.tenant.id, [[attempt] * 50 for _ in range(4)])
    assert outcomes.count("paid") == 1
    assert outcomes.count("options.coupon_id") == 199
    stats = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/statistics"), 200)
    assert (stats["total_redeemed"], stats["reserved"]) == (1, 0)
    assert expect(shop.admin.get(f"{API}/coupons/{coupon['id']}"), 200)["redeemed"] == 1
    assert shop.crm.count("coupons_redemptions", shop.tenant.id) == 1


def test_forty_clients_racing_for_a_promo_code_capped_at_ten_get_exactly_ten(shop, crm_database_url):
    challenge = shop.challenge()
    promo = shop.promo("TEN", total_cap=10)
    clients = shop.tenant.clients_bulk(40)
    attempts = [(client_id, challenge["id"], {"promo_code": "TEN"}) for client_id in clients]
    outcomes = _race(crm_database_url, shop.tenant.id, [attempts[i::8] for i in range(8)])
    assert outcomes.count("paid") == 10
    assert outcomes.count("options.promo_code") == 30
    stats = expect(shop.admin.get(f"{API}/promo-codes/{promo['id']}/statistics"), 200)
    assert (stats["total_redeemed"], stats["clients_who_used"], stats["remaining"]) == (10, 10, 0)


def _reserve(
    url: str, tenant_id: int, client_id: int, challenge_id: int, coupon_id: int, barrier: Any
) -> int | None:
    """One checkout that stops at a placed order (the payment is still out); its id, or None."""
    from core.sdk import DomainError
    from core.sdk.testing import OrderIn, Runtime, bind, prop

    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    _warm_up(runtime, tenant_id, client_id, challenge_id, {"coupon_id": coupon_id})
    barrier.wait()
    try:
        with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
            order, _ = prop.place_order(
                bind(session, None, runtime, "race"),
                client_id,
                OrderIn(challenge_id=challenge_id, options={"coupon_id": coupon_id}),
            )
            return order.id
    except DomainError:
        return None
    finally:
        runtime.db.dispose()


def test_a_failed_payment_releases_its_use_for_the_next_checkout(shop, crm_database_url):
    client, _portal = shop.client()
    challenge = shop.challenge()
    coupon = shop.given([client["id"]], uses_per_client=1)
    context = processes()
    args = (crm_database_url, shop.tenant.id, client["id"], challenge["id"], coupon["id"])
    for outcome in ("failed", "paid"):
        barrier = context.Manager().Barrier(4)
        with context.Pool(4) as pool:
            placed = [o for o in pool.starmap(_reserve, [(*args, barrier)] * 4) if o is not None]
        assert len(placed) == 1  # each round, one checkout holds the single use
        shop.settle(placed[0], outcome)
    stats = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/statistics"), 200)
    assert (stats["total_redeemed"], stats["reserved"]) == (1, 0)
    holders = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/clients"), 200)["items"]
    assert [(h["uses"], h["state"]) for h in holders] == [(1, "used_up")]
