"""What a client sees and pays: their coupons, the discounted fees, and the life of a use."""

from __future__ import annotations

from datetime import timedelta

from core.sdk.testing import expect
from plugins.coupons.tests.support import API, PORTAL, field_errors, iso

MINE = f"{PORTAL}/plugins/coupons/coupons"


def _badge(portal):
    return expect(portal.get(f"{PORTAL}/notifications/count"), 200)["by_module"]["coupons"]


def test_the_portal_lists_valid_coupons_first_and_says_why_others_are_not(shop):
    client, portal = shop.client()
    me = [client["id"]]
    challenge = shop.challenge()
    valid = shop.given(me, name="Valid", uses_per_client=2)
    not_started = shop.given(
        me, name="Later", valid_from=iso(timedelta(days=2)), valid_until=iso(timedelta(days=9))
    )
    used_up = shop.given(me, name="Once", uses_per_client=1)
    order = shop.order(portal, challenge["id"], coupon_id=used_up["id"])
    shop.settle(order["id"], "paid")
    revoked = shop.given(me, name="Revoked")
    expect(shop.admin.post(f"{API}/coupons/{revoked['id']}/revoke"), 200)
    draft = shop.coupon(name="Never sent")
    mine = expect(portal.get(MINE), 200)
    by_id = {c["id"]: c for c in mine}
    assert draft["id"] not in by_id
    assert [c["valid"] for c in mine] == [True, False, False, False]
    assert (by_id[valid["id"]]["valid"], by_id[valid["id"]]["uses_left"]) == (True, 2)
    assert by_id[not_started["id"]]["reason"] == "not_started"
    assert (by_id[used_up["id"]]["reason"], by_id[used_up["id"]]["uses_left"]) == ("used_up", 0)
    assert by_id[revoked["id"]]["reason"] == "revoked"
    assert _badge(portal) == 1  # the red dot counts coupons usable now


def test_an_expired_coupon_shows_as_expired(shop, crm):
    client, portal = shop.client()
    coupon = shop.given(
        [client["id"]], valid_from=iso(timedelta(days=-10)), valid_until=iso(timedelta(days=1))
    )
    assert _badge(portal) == 1
    with shop.tenant.ctx() as ctx:  # time passes: the period ends
        from sqlalchemy import update

        from plugins.coupons.models import Coupon

        ctx.session.execute(update(Coupon).values(valid_until=Coupon.valid_from))
    assert [(c["id"], c["reason"]) for c in expect(portal.get(MINE), 200)] == [(coupon["id"], "expired")]
    assert _badge(portal) == 0
    holders = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/clients"), 200)["items"]
    assert [h["state"] for h in holders] == ["expired"]


def test_challenges_show_the_fee_discounted_by_the_best_coupon(shop):
    client, portal = shop.client()
    usd, eur, small = shop.challenge("200.00"), shop.challenge("150.00", "EUR"), shop.challenge("20.00")
    ten_percent = shop.given([client["id"]], name="10%")
    thirty_usd = shop.given(
        [client["id"]],
        name="30 USD",
        discount_method="fixed_amount",
        discount_value="30",
        discount_currency="USD",
        minimum_fee="100",
        minimum_fee_currency="USD",
    )
    offers = {o["id"]: o for o in expect(portal.get(f"{PORTAL}/prop/challenges"), 200)}
    assert (offers[usd["id"]]["fee"], offers[usd["id"]]["price"]) == ("200.00", "170.00")
    assert [a["code"] for a in offers[usd["id"]]["adjustments"]] == [f"coupon:{thirty_usd['id']}"]
    assert offers[eur["id"]]["price"] == "135.00"  # the USD amount does not apply in EUR
    assert offers[small["id"]]["price"] == "18.00"  # below the 30 USD coupon's minimum fee
    assert offers[small["id"]]["adjustments"][0]["code"] == f"coupon:{ten_percent['id']}"
    _, stranger = shop.client()
    assert {o["price"] for o in expect(stranger.get(f"{PORTAL}/prop/challenges"), 200)} == {
        "200.00",
        "150.00",
        "20.00",
    }


def test_the_server_prices_the_chosen_coupon_rounding_half_up_and_never_below_zero(shop):
    client, portal = shop.client()
    odd = shop.challenge("99.90")
    yen = shop.challenge("1005", "JPY")
    fifteen = shop.given([client["id"]], name="15%", discount_value="15")
    half = shop.given([client["id"]], name="50%", discount_value="50")
    huge = shop.given(
        [client["id"]],
        discount_method="fixed_amount",
        discount_value="500",
        discount_currency="USD",
        name="500",
    )
    quoted = expect(shop.quote(portal, odd["id"], coupon_id=fifteen["id"]), 200)
    # 15% of 99.90 is 14.985: the discount rounds half up to 14.99.
    assert (quoted["list_price"], quoted["final_price"]) == ("99.90", "84.91")
    assert quoted["adjustments"] == [
        {"source": "coupons", "code": f"coupon:{fifteen['id']}", "label": "15%", "amount": "-14.99"}
    ]
    assert (
        expect(shop.quote(portal, yen["id"], coupon_id=half["id"]), 200)["final_price"] == "502"
    )  # 502.5 off
    assert expect(shop.quote(portal, odd["id"], coupon_id=huge["id"]), 200)["final_price"] == "0.00"
    assert expect(shop.quote(portal, odd["id"]), 200)["final_price"] == "99.90"  # no coupon chosen: none used


def test_a_coupon_only_applies_when_it_is_usable_for_that_challenge(shop):
    client, portal = shop.client()
    me = [client["id"]]
    usd, eur, other = shop.challenge("100.00"), shop.challenge("100.00", "EUR"), shop.challenge("300.00")
    fixed_usd = shop.given(me, discount_method="fixed_amount", discount_value="10", discount_currency="USD")
    only_other = shop.given(me, challenge_ids=[other["id"]])
    pricey = shop.given(me, minimum_fee="250", minimum_fee_currency="USD")
    later = shop.given(me, valid_from=iso(timedelta(days=1)), valid_until=iso(timedelta(days=2)))
    revoked = shop.given(me)
    expect(shop.admin.post(f"{API}/coupons/{revoked['id']}/revoke"), 200)
    draft = shop.coupon()
    someone, _ = shop.client()
    theirs = shop.given([someone["id"]])
    cases = [
        (eur, fixed_usd, "priced in EUR"),
        (usd, only_other, "does not apply to this challenge"),
        (usd, pricey, "at least 250"),
        (usd, later, "not valid yet"),
        (usd, revoked, "revoked"),
        (usd, draft, "no such coupon"),
        (usd, theirs, "no such coupon"),
    ]
    for challenge, coupon, message in cases:
        before = shop.crm.snapshot()
        refused = portal.post(
            f"{PORTAL}/prop/orders",
            json={"challenge_id": challenge["id"], "options": {"coupon_id": coupon["id"]}},
        )
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]["fields"][0]
        assert error["field"] == "options.coupon_id" and message in error["message"], error
        assert shop.crm.snapshot() == before
    assert shop.quote(portal, usd["id"], coupon_id="12").status_code == 422
    assert expect(shop.quote(portal, other["id"], coupon_id=only_other["id"]), 200)["final_price"] == "270.00"


def test_a_use_is_reserved_at_order_confirmed_when_paid_and_released_when_payment_fails(shop):
    client, portal = shop.client()
    challenge = shop.challenge()
    coupon = shop.given([client["id"]], uses_per_client=1)
    first = shop.order(portal, challenge["id"], coupon_id=coupon["id"])
    assert (first["final_price"], first["pricing_options"]) == ("90.00", {"coupon_id": coupon["id"]})
    mine = expect(portal.get(MINE), 200)
    assert (mine[0]["uses_left"], mine[0]["reason"]) == (0, "used_up")  # reserved: held for this order
    again = portal.post(
        f"{PORTAL}/prop/orders",
        json={"challenge_id": challenge["id"], "options": {"coupon_id": coupon["id"]}},
    )
    assert again.status_code == 422 and field_errors(again) == ["options.coupon_id"]
    stats = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/statistics"), 200)
    assert (stats["reserved"], stats["total_redeemed"]) == (1, 0)
    shop.settle(first["id"], "failed")
    assert expect(portal.get(MINE), 200)[0]["uses_left"] == 1  # the use came back
    second = shop.order(portal, challenge["id"], coupon_id=coupon["id"])
    expect(portal.post(f"{PORTAL}/prop/orders/{second['id']}/cancel"), 200)
    third = shop.order(portal, challenge["id"], coupon_id=coupon["id"])
    shop.settle(third["id"], "paid")
    stats = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/statistics"), 200)
    assert (stats["reserved"], stats["total_redeemed"]) == (0, 1)
    assert expect(shop.admin.get(f"{API}/coupons/{coupon['id']}"), 200)["redeemed"] == 1
    # Revoking afterwards keeps what was redeemed on record.
    expect(shop.admin.post(f"{API}/coupons/{coupon['id']}/revoke"), 200)
    holders = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/clients"), 200)["items"]
    assert [(h["uses"], h["state"], h["challenges"]) for h in holders] == [
        (1, "used_up", [challenge["name"]])
    ]
    assert expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/statistics"), 200)["total_redeemed"] == 1


def test_revoking_voids_unused_uses_at_once(shop):
    client, portal = shop.client()
    challenge = shop.challenge()
    coupon = shop.given([client["id"]], uses_per_client=3)
    paid = shop.order(portal, challenge["id"], coupon_id=coupon["id"])
    shop.settle(paid["id"], "paid")
    expect(shop.admin.post(f"{API}/coupons/{coupon['id']}/revoke"), 200)
    refused = portal.post(
        f"{PORTAL}/prop/orders",
        json={"challenge_id": challenge["id"], "options": {"coupon_id": coupon["id"]}},
    )
    assert refused.status_code == 422 and "revoked" in refused.json()["error"]["fields"][0]["message"]
    assert expect(portal.get(f"{PORTAL}/prop/challenges"), 200)[0]["price"] == "100.00"
    holders = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/clients"), 200)["items"]
    assert [(h["uses"], h["state"]) for h in holders] == [(1, "revoked")]


def test_an_order_placed_before_revocation_can_still_be_paid(shop):
    client, portal = shop.client()
    challenge = shop.challenge()
    coupon = shop.given([client["id"]], uses_per_client=1)
    order = shop.order(portal, challenge["id"], coupon_id=coupon["id"])
    expect(shop.admin.post(f"{API}/coupons/{coupon['id']}/revoke"), 200)
    assert shop.settle(order["id"], "paid")["final_price"] == "90.00"
    assert expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/statistics"), 200)["total_redeemed"] == 1


def test_a_retried_checkout_with_the_same_key_redeems_once(shop):
    client, portal = shop.client()
    challenge = shop.challenge()
    coupon = shop.given([client["id"]], uses_per_client=5)
    body = {"challenge_id": challenge["id"], "options": {"coupon_id": coupon["id"]}}
    headers = {"Idempotency-Key": "checkout-7"}
    first = portal.post(f"{PORTAL}/prop/orders", json=body, headers=headers)
    retry = portal.post(f"{PORTAL}/prop/orders", json=body, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 200) and first.json()["id"] == retry.json()["id"]
    assert expect(shop.admin.get(f"{API}/coupons/{coupon['id']}"), 200)["redeemed"] == 1
    assert expect(portal.get(MINE), 200)[0]["uses_left"] == 4


def test_the_total_cap_limits_uses_across_clients(shop):
    challenge = shop.challenge()
    clients = [shop.client() for _ in range(3)]
    coupon = shop.given([c["id"] for c, _ in clients], total_cap=2)
    for _, portal in clients[:2]:
        shop.order(portal, challenge["id"], coupon_id=coupon["id"])
    refused = clients[2][1].post(
        f"{PORTAL}/prop/orders",
        json={"challenge_id": challenge["id"], "options": {"coupon_id": coupon["id"]}},
    )
    assert refused.status_code == 422 and "no uses left" in refused.json()["error"]["fields"][0]["message"]
    assert expect(clients[2][1].get(MINE), 200)[0]["reason"] == "used_up"
    stats = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/statistics"), 200)
    assert stats["reserved"] == 2
