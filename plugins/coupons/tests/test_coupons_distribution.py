"""Distributing coupons: by hand to clients and groups, or to sign-ups through promotion links."""

from __future__ import annotations

from core.sdk.testing import ApiSession, expect
from plugins.coupons.tests.support import API, PORTAL, field_errors


def _popups(portal):
    return expect(portal.get(f"{PORTAL}/popups"), 200)["items"]


def test_manual_distribution_reaches_each_chosen_client_once_with_the_popup(shop):
    vip = expect(shop.admin.post("/api/v1/client-groups", json={"name": "VIP"}), 201)
    gold = expect(shop.admin.post("/api/v1/client-groups", json={"name": "Gold"}), 201)
    alice, alice_portal = shop.client(group_id=vip["id"])
    _bob, bob_portal = shop.client(group_id=gold["id"])
    carol, carol_portal = shop.client()
    _, dave_portal = shop.client()
    coupon = shop.coupon()
    sent = shop.distribute(coupon["id"], [alice["id"], carol["id"]], [vip["id"], gold["id"]])
    assert sent["recipients"] == 3  # alice is chosen twice (by name and by group) and counted once
    assert (sent["coupon"]["status"], sent["coupon"]["design_id"]) == ("distributed", "gold")
    for portal in (alice_portal, bob_portal, carol_portal):
        popups = _popups(portal)
        assert [(p["title"], p["body"], p["source"]) for p in popups] == [
            ("A gift for you", "Use it on your next challenge", "coupons")
        ]
        assert popups[0]["data"] == {"coupon_id": coupon["id"], "design_id": "gold"}  # an object
        assert [c["id"] for c in expect(portal.get(f"{PORTAL}/plugins/coupons/coupons"), 200)] == [
            coupon["id"]
        ]
    assert _popups(dave_portal) == []
    assert expect(dave_portal.get(f"{PORTAL}/plugins/coupons/coupons"), 200) == []
    stats = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/statistics"), 200)
    assert stats["clients_with_coupon"] == 3


def test_groups_are_resolved_when_the_coupon_is_sent(shop):
    group = expect(shop.admin.post("/api/v1/client-groups", json={"name": "Later"}), 201)
    early, _ = shop.client(group_id=group["id"])
    coupon = shop.coupon()
    shop.distribute(coupon["id"], group_ids=[group["id"]])
    _late, late_portal = shop.client(group_id=group["id"])
    assert expect(late_portal.get(f"{PORTAL}/plugins/coupons/coupons"), 200) == []
    holders = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/clients"), 200)["items"]
    assert [h["client_id"] for h in holders] == [early["id"]]


def test_a_user_distributes_only_to_clients_within_their_data_permissions(shop):
    group = expect(shop.admin.post("/api/v1/client-groups", json={"name": "All"}), 201)
    agent = shop.tenant.user(["coupons.read", "coupons.update", "clients.read"], scope="own")
    mine, _ = shop.client(group_id=group["id"], assigned_user_id=agent.user_id)
    theirs, theirs_portal = shop.client(group_id=group["id"])
    coupon = shop.coupon()
    before = shop.crm.snapshot()
    named = agent.post(
        f"{API}/coupons/{coupon['id']}/distribute",
        json={"client_ids": [theirs["id"]], "popup_title": "T", "popup_text": "B", "design_id": "gold"},
    )
    assert named.status_code == 422 and field_errors(named) == ["client_ids"]
    assert shop.crm.snapshot() == before
    sent = shop.distribute(coupon["id"], group_ids=[group["id"]], by=agent)
    assert sent["recipients"] == 1
    assert _popups(theirs_portal) == []
    holders = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/clients"), 200)["items"]
    assert [h["client_id"] for h in holders] == [mine["id"]]


def test_bad_distributions_name_the_field_and_change_nothing(shop):
    client, _ = shop.client()
    empty = expect(shop.admin.post("/api/v1/client-groups", json={"name": "Empty"}), 201)
    coupon = shop.coupon()
    link = expect(shop.admin.post("/api/v1/promotion-links", json={"name": "L"}), 201)
    linked = shop.coupon(distribution_method="promotion_links", promotion_link_ids=[link["id"]])
    base = {"popup_title": "T", "popup_text": "B", "design_id": "gold"}
    cases = [
        (coupon, {**base, "client_ids": [client["id"]], "design_id": "sparkles"}, "design_id"),
        (coupon, {**base, "client_ids": [client["id"]], "popup_title": ""}, "popup_title"),
        (coupon, {**base, "client_ids": [client["id"]], "popup_text": "x" * 1001}, "popup_text"),
        (coupon, {**base}, "client_ids"),
        (coupon, {**base, "group_ids": [empty["id"]]}, "group_ids"),
        (coupon, {**base, "client_ids": [999999]}, "client_ids"),
        (linked, {**base, "client_ids": [client["id"]]}, "client_ids"),
    ]
    for target, body, field in cases:
        before = shop.crm.snapshot()
        response = shop.admin.post(f"{API}/coupons/{target['id']}/distribute", json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in field_errors(response), (field, response.text)
        assert shop.crm.snapshot() == before
    for target in (coupon, linked):
        assert expect(shop.admin.get(f"{API}/coupons/{target['id']}"), 200)["status"] == "undistributed"


def _register(shop, email, code=None):
    """Sign up through the portal and confirm from the e-mail, as a client would."""
    fields = {} if code is None else {"promotion_code": code}
    registered = shop.crm.register(shop.tenant.slug, email, **fields)
    return ApiSession(shop.crm.http, registered["access_token"])


def test_sign_ups_through_a_coupons_links_receive_it_automatically(shop):
    summer = expect(shop.admin.post("/api/v1/promotion-links", json={"name": "Summer"}), 201)
    winter = expect(shop.admin.post("/api/v1/promotion-links", json={"name": "Winter"}), 201)
    other = expect(shop.admin.post("/api/v1/promotion-links", json={"name": "Other"}), 201)
    coupon = shop.coupon(
        name="Sign-up bonus",
        distribution_method="promotion_links",
        promotion_link_ids=[summer["id"], winter["id"]],
    )
    too_early = _register(shop, "early@example.com", summer["code"])
    assert expect(too_early.get(f"{PORTAL}/plugins/coupons/coupons"), 200) == []  # not distributed yet
    sent = expect(
        shop.admin.post(
            f"{API}/coupons/{coupon['id']}/distribute",
            json={"popup_title": "Welcome!", "popup_text": "Here is 10% off", "design_id": "neon"},
        ),
        200,
    )
    assert sent["recipients"] == 0
    for email, code in [("s@example.com", summer["code"]), ("w@example.com", winter["code"].lower())]:
        portal = _register(shop, email, code)
        mine = expect(portal.get(f"{PORTAL}/plugins/coupons/coupons"), 200)
        assert [(c["id"], c["valid"], c["design_id"]) for c in mine] == [(coupon["id"], True, "neon")]
        assert [(p["title"], p["body"]) for p in _popups(portal)] == [("Welcome!", "Here is 10% off")]
    for portal in (_register(shop, "o@example.com", other["code"]), _register(shop, "n@example.com")):
        assert expect(portal.get(f"{PORTAL}/plugins/coupons/coupons"), 200) == []
        assert _popups(portal) == []
    stats = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/statistics"), 200)
    assert (stats["clients_with_coupon"], stats["total_available"]) == (2, None)  # not shown for links
    expect(shop.admin.post(f"{API}/coupons/{coupon['id']}/revoke"), 200)
    late = _register(shop, "late@example.com", summer["code"])
    assert expect(late.get(f"{PORTAL}/plugins/coupons/coupons"), 200) == []


def test_a_tenant_that_uninstalled_the_module_stops_granting_on_sign_up(shop):
    link = expect(shop.admin.post("/api/v1/promotion-links", json={"name": "L"}), 201)
    coupon = shop.coupon(distribution_method="promotion_links", promotion_link_ids=[link["id"]])
    expect(
        shop.admin.post(
            f"{API}/coupons/{coupon['id']}/distribute",
            json={"popup_title": "T", "popup_text": "B", "design_id": "classic"},
        ),
        200,
    )
    expect(shop.admin.post("/api/v1/marketplace/coupons/disable"), 200)
    portal = _register(shop, "off@example.com", link["code"])
    assert _popups(portal) == []
    assert portal.get(f"{PORTAL}/plugins/coupons/coupons").status_code == 404
