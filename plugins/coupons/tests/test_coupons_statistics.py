"""A distributed coupon's statistics and client list, within the user's data permissions."""

from __future__ import annotations

import csv
import io

from core.sdk.testing import expect
from plugins.coupons.tests.support import API


def test_statistics_count_available_redeemed_and_holders(shop):
    challenge = shop.challenge()
    holders = [shop.client() for _ in range(4)]
    coupon = shop.given([c["id"] for c, _ in holders], uses_per_client=3)
    for _, portal in holders[:2]:
        shop.settle(shop.order(portal, challenge["id"], coupon_id=coupon["id"])["id"], "paid")
    shop.order(holders[2][1], challenge["id"], coupon_id=coupon["id"])  # reserved, not paid
    stats = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/statistics"), 200)
    assert stats == {
        "coupon_id": coupon["id"],
        "status": "distributed",
        "distribution_method": "manual",
        "clients_with_coupon": 4,
        "total_cap": None,
        "total_available": 12,  # 4 clients, 3 uses each
        "remaining": 9,  # 3 taken: 2 paid, 1 reserved
        "total_redeemed": 2,
        "reserved": 1,
    }
    unlimited = shop.given([holders[0][0]["id"]])
    assert (
        expect(shop.admin.get(f"{API}/coupons/{unlimited['id']}/statistics"), 200)["total_available"]
        == "unlimited"
    )


def test_the_client_list_shows_each_state_and_the_challenges_paid_with_it(shop):
    first, second = shop.challenge("100.00", name="Starter"), shop.challenge("200.00", name="Pro")
    (unused, _), (partly, partly_portal), (used_up, used_up_portal) = (
        shop.client(),
        shop.client(),
        shop.client(),
    )
    coupon = shop.given([unused["id"], partly["id"], used_up["id"]], uses_per_client=2)
    shop.settle(shop.order(partly_portal, first["id"], coupon_id=coupon["id"])["id"], "paid")
    for challenge in (first, second):
        shop.settle(shop.order(used_up_portal, challenge["id"], coupon_id=coupon["id"])["id"], "paid")
    failed = shop.order(partly_portal, second["id"], coupon_id=coupon["id"])
    shop.settle(failed["id"], "failed")  # a failed payment is not a use
    url = f"{API}/coupons/{coupon['id']}/clients"
    items = expect(shop.admin.get(url), 200)["items"]
    assert [(h["client_id"], h["uses"], h["state"], h["challenges"]) for h in items] == [
        (unused["id"], 0, "unused", []),
        (partly["id"], 1, "partly_used", ["Starter"]),
        (used_up["id"], 2, "used_up", ["Pro", "Starter"]),
    ]
    assert [
        h["client_id"] for h in expect(shop.admin.get(url, params={"state": "partly_used"}), 200)["items"]
    ] == [partly["id"]]
    page = expect(shop.admin.get(url, params={"per_page": 2, "page": 2}), 200)
    assert (page["total"], [h["client_id"] for h in page["items"]]) == (3, [used_up["id"]])
    assert shop.admin.get(url, params={"state": "lost"}).status_code == 422
    exported = shop.admin.get(f"{url}/export")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(int(r["client_id"]), r["state"], r["challenges"]) for r in rows] == [
        (unused["id"], "unused", ""),
        (partly["id"], "partly_used", "Starter"),
        (used_up["id"], "used_up", "Pro; Starter"),
    ]
    only_used_up = list(
        csv.DictReader(io.StringIO(shop.admin.get(f"{url}/export", params={"state": "used_up"}).text))
    )
    assert [int(r["client_id"]) for r in only_used_up] == [used_up["id"]]
    expect(shop.admin.post(f"{API}/coupons/{coupon['id']}/revoke"), 200)
    states = [h["state"] for h in expect(shop.admin.get(url), 200)["items"]]
    assert states == ["revoked", "revoked", "used_up"]


def test_statistics_and_lists_respect_data_permissions(shop):
    team = shop.tenant.team("Desk")
    agent = shop.tenant.user(["coupons.read"], scope="own")
    lead = shop.tenant.user(["coupons.read"], scope="team", team_id=team)
    challenge = shop.challenge()
    mine, mine_portal = shop.client(assigned_user_id=agent.user_id)
    teammate, _ = shop.client(team_id=team)
    other, other_portal = shop.client()
    coupon = shop.given([mine["id"], teammate["id"], other["id"]], uses_per_client=1)
    for portal in (mine_portal, other_portal):
        shop.settle(shop.order(portal, challenge["id"], coupon_id=coupon["id"])["id"], "paid")
    url = f"{API}/coupons/{coupon['id']}"
    seen = expect(agent.get(f"{url}/statistics"), 200)
    assert (seen["clients_with_coupon"], seen["total_available"], seen["total_redeemed"]) == (1, 1, 1)
    assert [h["client_id"] for h in expect(agent.get(f"{url}/clients"), 200)["items"]] == [mine["id"]]
    assert [h["client_id"] for h in expect(lead.get(f"{url}/clients"), 200)["items"]] == [teammate["id"]]
    exported = agent.get(f"{url}/clients/export").text.splitlines()
    assert len(exported) == 2 and exported[1].startswith(f"{mine['id']},")
    assert expect(shop.admin.get(f"{url}/statistics"), 200)["clients_with_coupon"] == 3
