"""Rules found on the way (issue 8): discounts that take nothing off, statistics within the total
cap, revoking while an order waits for payment, unique names, amounts in messages."""

from __future__ import annotations

from core.sdk.testing import expect
from plugins.coupons.models import CouponGrant, Redemption
from plugins.coupons.tests.support import API, PORTAL, Shop

MINE = f"{PORTAL}/plugins/coupons/coupons"


def _stats(shop, coupon):
    return expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/statistics"), 200)


def _promo_stats(shop, promo):
    return expect(shop.admin.get(f"{API}/promo-codes/{promo['id']}/statistics"), 200)


# --- a discount that takes nothing off -------------------------------------------------------------


def test_a_coupon_that_takes_nothing_off_is_not_applied_and_takes_no_use(shop):
    client, portal = shop.client()
    cheap = shop.challenge("0.40")  # 1% of 0.40 is 0.004: nothing, once rounded to the cent
    free = shop.challenge("0")
    coupon = shop.given([client["id"]], name="One percent", discount_value="1", uses_per_client=1)
    five_off = shop.given(
        [client["id"]],
        discount_method="fixed_amount",
        discount_value="5",
        discount_currency="USD",
        challenge_ids=[free["id"]],
    )
    for challenge, chosen, price in (
        (cheap, coupon, "0.40"),
        (free, coupon, "0.00"),
        (free, five_off, "0.00"),
    ):
        quoted = expect(shop.quote(portal, challenge["id"], coupon_id=chosen["id"]), 200)
        assert (quoted["final_price"], quoted["adjustments"]) == (price, [])
    # The challenge list (the best coupon, applied automatically) agrees: no zero adjustment.
    offers = {o["id"]: o for o in expect(portal.get(f"{PORTAL}/prop/challenges"), 200)}
    assert [(offers[c["id"]]["price"], offers[c["id"]]["adjustments"]) for c in (cheap, free)] == [
        ("0.40", []),
        ("0.00", []),
    ]
    before = shop.crm.count("coupons_redemptions")
    order = shop.order(portal, cheap["id"], coupon_id=coupon["id"])  # the order goes through
    assert (order["final_price"], order["adjustments"]) == ("0.40", [])
    shop.settle(order["id"], "paid")
    assert shop.crm.count("coupons_redemptions") == before  # no reservation, no redemption
    assert expect(shop.admin.get(f"{API}/coupons/{coupon['id']}"), 200)["redeemed"] == 0
    mine = {c["id"]: c for c in expect(portal.get(MINE), 200)}
    assert mine[coupon["id"]]["uses_left"] == 1  # its one use is still there
    # The same coupon on a fee it does take something off is used as usual.
    priced = shop.order(portal, shop.challenge("100.00")["id"], coupon_id=coupon["id"])
    assert (priced["final_price"], shop.crm.count("coupons_redemptions")) == ("99.00", before + 1)


def test_a_promo_code_after_a_coupon_that_made_the_price_zero_takes_no_use(shop):
    client, portal = shop.client()
    challenge = shop.challenge("100.00")
    coupon = shop.given([client["id"]], name="All off", discount_value="100", allow_with_promo_codes=True)
    promo = shop.promo("EXTRA10", allow_with_coupons=True, total_cap=5)
    quoted = expect(shop.quote(portal, challenge["id"], coupon_id=coupon["id"], promo_code="extra10"), 200)
    assert [a["code"] for a in quoted["adjustments"]] == [f"coupon:{coupon['id']}"]
    order = shop.order(portal, challenge["id"], coupon_id=coupon["id"], promo_code="EXTRA10")
    assert (order["final_price"], [a["code"] for a in order["adjustments"]]) == (
        "0.00",
        [f"coupon:{coupon['id']}"],
    )
    assert shop.crm.count("coupons_promo_usages") == 0
    stats = _promo_stats(shop, promo)
    assert (stats["reserved"], stats["clients_who_used"], stats["remaining"]) == (0, 0, 5)
    assert _stats(shop, coupon)["reserved"] == 1


# --- statistics within the total cap --------------------------------------------------------------


def test_coupon_statistics_never_promise_more_than_the_total_cap(shop):
    challenge = shop.challenge()
    holders = [shop.client() for _ in range(4)]
    coupon = shop.given([c["id"] for c, _ in holders], uses_per_client=3, total_cap=5)
    stats = _stats(shop, coupon)
    # 4 clients with 3 uses each would be 12, but the cap allows 5.
    assert (stats["total_cap"], stats["total_available"], stats["remaining"]) == (5, 5, 5)
    paid = shop.order(holders[0][1], challenge["id"], coupon_id=coupon["id"])
    shop.settle(paid["id"], "paid")
    shop.order(holders[1][1], challenge["id"], coupon_id=coupon["id"])  # reserved
    stats = _stats(shop, coupon)
    assert (stats["total_available"], stats["remaining"], stats["total_redeemed"], stats["reserved"]) == (
        5,
        3,
        1,
        1,
    )
    # Without a cap, what is left is the holders' own uses.
    uncapped = shop.given([c["id"] for c, _ in holders[:2]], uses_per_client=2)
    shop.order(holders[0][1], challenge["id"], coupon_id=uncapped["id"])
    stats = _stats(shop, uncapped)
    assert (stats["total_cap"], stats["total_available"], stats["remaining"]) == (None, 4, 3)
    # Unlimited uses per client, but a cap: the cap is what is available.
    capped_only = shop.given([holders[0][0]["id"]], total_cap=7)
    assert (_stats(shop, capped_only)["total_available"], _stats(shop, capped_only)["remaining"]) == (7, 7)
    unlimited = shop.given([holders[0][0]["id"]])
    assert (_stats(shop, unlimited)["total_available"], _stats(shop, unlimited)["remaining"]) == (
        "unlimited",
        "unlimited",
    )
    link = expect(shop.admin.post("/api/v1/promotion-links", json={"name": "Spring"}), 201)
    linked = shop.coupon(distribution_method="promotion_links", promotion_link_ids=[link["id"]], total_cap=10)
    assert (_stats(shop, linked)["total_available"], _stats(shop, linked)["remaining"]) == (10, 10)
    # Revoked: nothing can be taken any more; what was taken stays.
    expect(shop.admin.post(f"{API}/coupons/{coupon['id']}/revoke"), 200)
    stats = _stats(shop, coupon)
    assert (stats["total_available"], stats["remaining"], stats["total_redeemed"]) == (5, 0, 1)


def test_what_is_left_under_the_cap_counts_every_client_whoever_looks(shop):
    challenge = shop.challenge()
    agent = shop.tenant.user(["coupons.read"], scope="own")
    mine, _ = shop.client(assigned_user_id=agent.user_id)
    others = [shop.client() for _ in range(3)]
    coupon = shop.given([mine["id"], *(c["id"] for c, _ in others)], uses_per_client=2, total_cap=3)
    for _, portal in others:
        shop.order(portal, challenge["id"], coupon_id=coupon["id"])
    seen = expect(agent.get(f"{API}/coupons/{coupon['id']}/statistics"), 200)
    # The agent's client has 2 uses of their own, but other clients took all the cap allows.
    assert (seen["clients_with_coupon"], seen["total_available"], seen["remaining"]) == (1, 2, 0)


def test_promo_code_statistics_show_what_the_cap_leaves(shop):
    challenge = shop.challenge()
    promo = shop.promo("CAP3", total_cap=3)
    _, portal = shop.client()
    assert _promo_stats(shop, promo)["remaining"] == 3
    order = shop.order(portal, challenge["id"], promo_code="CAP3")
    assert (_promo_stats(shop, promo)["remaining"], _promo_stats(shop, promo)["reserved"]) == (2, 1)
    shop.settle(order["id"], "cancel")
    assert _promo_stats(shop, promo)["remaining"] == 3  # the use came back
    expect(shop.admin.patch(f"{API}/promo-codes/{promo['id']}", json={"enabled": False}), 200)
    assert _promo_stats(shop, promo)["remaining"] == 0  # nothing can be taken while disabled
    assert _promo_stats(shop, shop.promo("NOCAP"))["remaining"] is None


# --- revoking while an order waits for payment ------------------------------------------------------


def test_an_order_placed_before_revocation_keeps_its_price_and_its_use(shop):
    client, portal = shop.client()
    challenge = shop.challenge("100.00")
    coupon = shop.given([client["id"]], uses_per_client=2)
    to_pay = shop.order(portal, challenge["id"], coupon_id=coupon["id"])
    to_cancel = shop.order(portal, challenge["id"], coupon_id=coupon["id"])
    expect(shop.admin.post(f"{API}/coupons/{coupon['id']}/revoke"), 200)
    # Both placed orders keep the price they were placed at and their reserved use.
    assert _stats(shop, coupon)["reserved"] == 2
    paid = shop.settle(to_pay["id"], "paid")
    assert (paid["status"], paid["final_price"]) == ("paid", "90.00")
    cancelled = shop.settle(to_cancel["id"], "cancel")
    assert (cancelled["status"], cancelled["final_price"]) == ("cancelled", "90.00")
    with shop.tenant.ctx() as ctx:
        statuses = {
            r.order_id: r.status.value
            for r in ctx.session.query(Redemption).filter_by(coupon_id=coupon["id"])
        }
        grant = ctx.session.query(CouponGrant).filter_by(coupon_id=coupon["id"]).one()
        assert (statuses, grant.uses) == ({to_pay["id"]: "confirmed", to_cancel["id"]: "released"}, 1)
    stats = _stats(shop, coupon)
    assert (stats["total_redeemed"], stats["reserved"], stats["remaining"]) == (1, 0, 0)
    # The released use is gone with the coupon: the client cannot take it again.
    refused = portal.post(
        f"{PORTAL}/prop/orders",
        json={"challenge_id": challenge["id"], "options": {"coupon_id": coupon["id"]}},
    )
    assert refused.status_code == 422 and "revoked" in refused.json()["error"]["fields"][0]["message"]
    assert expect(portal.get(MINE), 200)[0]["reason"] == "revoked"
    assert shop.order(portal, challenge["id"])["final_price"] == "100.00"


# --- names ---------------------------------------------------------------------------------------


def test_coupon_names_are_unique_per_broker_ignoring_case(shop, crm):
    summer = shop.coupon(name="Summer Sale")
    winter = shop.coupon(name="Winter Sale")
    before = crm.snapshot()
    body = {"name": "SUMMER sale", "discount_method": "percentage", "discount_value": "5"}
    taken = shop.admin.post(f"{API}/coupons", json={**body, "distribution_method": "manual"})
    assert taken.status_code == 409 and taken.json()["error"]["fields"][0]["field"] == "name", taken.text
    renamed = shop.admin.patch(f"{API}/coupons/{winter['id']}", json={"name": "summer SALE"})
    assert renamed.status_code == 409 and renamed.json()["error"]["fields"][0]["field"] == "name"
    assert crm.snapshot() == before
    assert expect(shop.admin.get(f"{API}/coupons/{winter['id']}"), 200)["name"] == "Winter Sale"
    # A coupon may change the case of its own name; another broker may use the same name.
    expect(shop.admin.patch(f"{API}/coupons/{summer['id']}", json={"name": "SUMMER SALE"}), 200)
    Shop(crm, "globex").coupon(name="Summer Sale")


# --- amounts in messages ----------------------------------------------------------------------------


def test_a_refusal_shows_amounts_with_the_currency_digits(shop):
    expect(shop.admin.patch("/api/v1/tenant", json={"base_currencies": ["USD", "EUR", "JPY"]}), 200)
    client, portal = shop.client()
    dollars = shop.given([client["id"]], minimum_fee="200", minimum_fee_currency="USD")
    yen = shop.given([client["id"]], minimum_fee="5000", minimum_fee_currency="JPY")
    cases = [
        (shop.challenge("100.00"), dollars, "200.00 USD"),
        (shop.challenge("100", "JPY"), yen, "5000 JPY"),
    ]
    for challenge, coupon, shown in cases:
        refused = shop.quote(portal, challenge["id"], coupon_id=coupon["id"])
        message = refused.json()["error"]["fields"][0]["message"]
        assert refused.status_code == 422 and message.endswith(f"needs a challenge fee of at least {shown}")
