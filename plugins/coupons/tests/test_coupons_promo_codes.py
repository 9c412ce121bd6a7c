"""Promo codes: typed at checkout, unique per company ignoring case, limited, combinable by consent."""

from __future__ import annotations

from datetime import timedelta

from core.sdk.testing import expect
from plugins.coupons.tests.support import API, PORTAL, field_errors, iso


def _refusal(response):
    assert response.status_code == 422, response.text
    error = response.json()["error"]["fields"][0]
    return error["field"], error["message"]


def test_codes_are_unique_per_company_ignoring_case(shop):
    promo = shop.promo("Spring25", discount_value="25")
    assert (promo["code"], promo["enabled"], promo["discount_value"]) == ("Spring25", True, "25")
    before = shop.crm.snapshot()
    clash = shop.admin.post(
        f"{API}/promo-codes",
        json={"code": "SPRING25", "name": "x", "discount_method": "percentage", "discount_value": "5"},
    )
    assert clash.status_code == 409 and "code" in [f["field"] for f in clash.json()["error"]["fields"]]
    for bad, field in [
        ({"code": "no spaces"}, "code"),
        ({"code": "ab"}, "code"),
        ({"discount_value": "101"}, "discount_value"),
        ({"discount_method": "fixed_amount"}, "discount_currency"),
        ({"total_cap": -1}, "total_cap"),
        ({"valid_from": iso(timedelta(days=2)), "valid_until": iso(timedelta(days=1))}, "valid_until"),
    ]:
        body = {"code": "OTHER1", "name": "x", "discount_method": "percentage", "discount_value": "5", **bad}
        response = shop.admin.post(f"{API}/promo-codes", json=body)
        assert response.status_code == 422 and field in field_errors(response), (bad, response.text)
    assert shop.crm.snapshot() == before


def test_a_code_typed_at_checkout_in_any_case_discounts_the_order(shop):
    _, portal = shop.client()
    challenge = shop.challenge("80.00")
    promo = shop.promo("SAVE10")
    quoted = expect(shop.quote(portal, challenge["id"], promo_code=" save10 "), 200)
    assert quoted["final_price"] == "72.00"
    assert quoted["adjustments"] == [
        {"source": "coupons", "code": f"promo:{promo['id']}", "label": "Promo code SAVE10", "amount": "-8.00"}
    ]
    # Promo codes are never applied unasked on the challenge list.
    assert expect(portal.get(f"{PORTAL}/prop/challenges"), 200)[0]["price"] == "80.00"
    order = shop.order(portal, challenge["id"], promo_code="Save10")
    assert order["final_price"] == "72.00"
    assert _refusal(shop.quote(portal, challenge["id"], promo_code="NOPE")) == (
        "options.promo_code",
        "no such promo code",
    )


def test_disabled_expired_and_ineligible_codes_are_refused_with_the_reason(shop):
    _, portal = shop.client()
    usd, eur = shop.challenge("50.00"), shop.challenge("50.00", "EUR")
    off = shop.promo("OFFNOW")
    expect(shop.admin.patch(f"{API}/promo-codes/{off['id']}", json={"enabled": False}), 200)
    shop.promo("LATER1", valid_from=iso(timedelta(days=1)), valid_until=iso(timedelta(days=3)))
    shop.promo("DOLLAR", discount_method="fixed_amount", discount_value="5", discount_currency="USD")
    shop.promo("BIGONLY", minimum_fee="100", minimum_fee_currency="USD")
    for challenge, code, message in [
        (usd, "OFFNOW", "not active"),
        (usd, "LATER1", "not valid yet"),
        (eur, "DOLLAR", "priced in EUR"),
        (usd, "BIGONLY", "at least 100"),
    ]:
        field, text = _refusal(shop.quote(portal, challenge["id"], promo_code=code))
        assert field == "options.promo_code" and message in text, (code, text)
    expect(shop.admin.patch(f"{API}/promo-codes/{off['id']}", json={"enabled": True}), 200)
    assert expect(shop.quote(portal, usd["id"], promo_code="OFFNOW"), 200)["final_price"] == "45.00"


def test_a_code_and_a_coupon_combine_only_when_both_allow_it(shop):
    client, portal = shop.client()
    challenge = shop.challenge("100.00")
    open_coupon = shop.given([client["id"]], name="Open", allow_with_promo_codes=True)
    closed_coupon = shop.given([client["id"]], name="Closed")
    shop.promo(
        "OPEN5",
        discount_method="fixed_amount",
        discount_value="5",
        discount_currency="USD",
        allow_with_coupons=True,
    )
    shop.promo("SOLO5", discount_method="fixed_amount", discount_value="5", discount_currency="USD")
    both = expect(shop.quote(portal, challenge["id"], coupon_id=open_coupon["id"], promo_code="OPEN5"), 200)
    # The coupon first (10% of 100), then the code on what is left.
    assert both["final_price"] == "85.00" and [a["amount"] for a in both["adjustments"]] == [
        "-10.00",
        "-5.00",
    ]
    for coupon, code in [(open_coupon, "SOLO5"), (closed_coupon, "OPEN5"), (closed_coupon, "SOLO5")]:
        before = shop.crm.snapshot()
        refused = portal.post(
            f"{PORTAL}/prop/orders",
            json={
                "challenge_id": challenge["id"],
                "options": {"coupon_id": coupon["id"], "promo_code": code},
            },
        )
        assert _refusal(refused) == ("options.promo_code", "cannot be combined with the chosen coupon")
        assert shop.crm.snapshot() == before
    order = shop.order(portal, challenge["id"], coupon_id=open_coupon["id"], promo_code="open5")
    shop.settle(order["id"], "paid")
    assert expect(shop.admin.get(f"{API}/coupons/{open_coupon['id']}/statistics"), 200)["total_redeemed"] == 1


def test_per_client_limit_and_total_cap(shop):
    challenge = shop.challenge()
    shop.promo("TWICE", uses_per_client=2, total_cap=3)
    (_, first), (_, second) = shop.client(), shop.client()
    for _ in range(2):
        shop.order(first, challenge["id"], promo_code="TWICE")
    assert _refusal(shop.quote(first, challenge["id"], promo_code="TWICE"))[1] == (
        "this code was already used as often as allowed"
    )
    shop.order(second, challenge["id"], promo_code="TWICE")
    assert (
        _refusal(shop.quote(second, challenge["id"], promo_code="TWICE"))[1] == "this code has no uses left"
    )


def test_terms_lock_after_first_use_but_the_code_can_still_be_managed(shop):
    _client, portal = shop.client()
    challenge = shop.challenge()
    promo = shop.promo("LOCKED", total_cap=5)
    edited = expect(shop.admin.patch(f"{API}/promo-codes/{promo['id']}", json={"discount_value": "20"}), 200)
    assert edited["discount_value"] == "20"
    order = shop.order(portal, challenge["id"], promo_code="LOCKED")
    shop.settle(order["id"], "paid")
    changed = shop.admin.patch(f"{API}/promo-codes/{promo['id']}", json={"discount_value": "50"})
    assert changed.status_code == 409 and "cannot change" in changed.json()["error"]["message"]
    assert shop.admin.delete(f"{API}/promo-codes/{promo['id']}").status_code == 409
    capped = shop.admin.patch(f"{API}/promo-codes/{promo['id']}", json={"total_cap": 0})
    assert capped.status_code == 422
    renamed = expect(
        shop.admin.patch(f"{API}/promo-codes/{promo['id']}", json={"name": "Locked in", "total_cap": 1}), 200
    )
    assert (renamed["name"], renamed["total_cap"], renamed["redeemed"]) == ("Locked in", 1, 1)
    unused = shop.promo("UNUSED")
    expect(shop.admin.delete(f"{API}/promo-codes/{unused['id']}"), 204)


def test_promo_code_statistics_and_users(shop):
    challenge = shop.challenge()
    promo = shop.promo("STATS", uses_per_client=2, total_cap=10)
    (alice, alice_portal), (bob, bob_portal), _ = shop.client(), shop.client(), shop.client()
    for portal in (alice_portal, alice_portal, bob_portal):
        order = shop.order(portal, challenge["id"], promo_code="STATS")
    shop.settle(order["id"], "paid")  # bob's; alice's two stay reserved
    stats = expect(shop.admin.get(f"{API}/promo-codes/{promo['id']}/statistics"), 200)
    assert stats == {
        "promo_code_id": promo["id"],
        "code": "STATS",
        "clients_who_used": 2,
        "total_redeemed": 1,
        "reserved": 2,
        "total_cap": 10,
        "remaining": 7,
    }
    users = expect(shop.admin.get(f"{API}/promo-codes/{promo['id']}/clients"), 200)["items"]
    assert [(u["client_id"], u["uses"], u["state"], u["challenges"]) for u in users] == [
        (alice["id"], 2, "used_up", []),
        (bob["id"], 1, "partly_used", [challenge["name"]]),
    ]
    csv = shop.admin.get(f"{API}/promo-codes/{promo['id']}/clients/export")
    assert csv.status_code == 200 and "text/csv" in csv.headers["content-type"]
    lines = csv.text.splitlines()
    assert lines[0] == "client_id,client_name,client_email,uses,state,challenges,granted_at"
    assert len(lines) == 3
    listed = expect(shop.admin.get(f"{API}/promo-codes", params={"q": "sta", "enabled": True}), 200)["items"]
    assert [p["id"] for p in listed] == [promo["id"]]
