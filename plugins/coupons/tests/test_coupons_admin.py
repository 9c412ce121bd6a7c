"""The module in the marketplace, its permissions, creating coupons and their lifecycle."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.sdk.testing import expect
from plugins.coupons.tests.support import API, Shop, field_errors, iso


def test_only_an_account_manager_installs_the_module(crm):
    acme = crm.tenant("acme")
    entry = expect(acme.admin.get("/api/v1/marketplace/coupons"), 200)
    assert (entry["display_name"], entry["category"]) == ("Coupons and Promo Codes", "prop_trading")
    refused = acme.admin.post("/api/v1/marketplace/coupons/install")
    assert refused.status_code == 403 and "account manager" in refused.json()["error"]["message"]
    assert acme.admin.get(f"{API}/coupons").status_code == 404  # not installed: the routes do not exist
    operator = crm.operator()
    expect(operator.post(f"/api/v1/platform/tenants/{acme.id}/marketplace/coupons/install"), 200)
    assert expect(acme.admin.get(f"{API}/coupons"), 200)["items"] == []
    labels = {p["name"]: p["label"] for p in expect(acme.admin.get("/api/v1/permissions"), 200)}
    assert labels["coupons.read"] == "Read Coupons and Promo Codes"
    assert labels["coupons.update"] == "Update Coupons and Promo Codes"


def test_reading_and_updating_are_separate_permissions(shop):
    reader = shop.tenant.user(["coupons.read"])
    writer = shop.tenant.user(["coupons.read", "coupons.update"])
    coupon = shop.coupon()
    assert [c["id"] for c in expect(reader.get(f"{API}/coupons"), 200)["items"]] == [coupon["id"]]
    assert expect(reader.get(f"{API}/designs"), 200)[0].keys() == {"id", "name", "preview"}
    for method, path in [
        ("POST", f"{API}/coupons"),
        ("PATCH", f"{API}/coupons/{coupon['id']}"),
        ("DELETE", f"{API}/coupons/{coupon['id']}"),
        ("POST", f"{API}/coupons/{coupon['id']}/distribute"),
        ("POST", f"{API}/coupons/{coupon['id']}/revoke"),
        ("POST", f"{API}/promo-codes"),
    ]:
        assert reader.request(method, path, json={}).status_code == 403, (method, path)
    nobody = shop.tenant.user([])
    assert nobody.get(f"{API}/coupons").status_code == 403
    made = expect(
        writer.post(
            f"{API}/coupons",
            json={
                "name": "W",
                "discount_method": "percentage",
                "discount_value": "5",
                "distribution_method": "manual",
            },
        ),
        201,
    )
    assert made["status"] == "undistributed"


def test_a_coupon_is_created_with_everything_the_seed_describes(shop):
    link = expect(shop.admin.post("/api/v1/promotion-links", json={"name": "Summer"}), 201)
    challenge = shop.challenge("250.00")
    coupon = shop.coupon(
        name="Summer 25",
        discount_method="fixed_amount",
        discount_value="25",
        discount_currency="USD",
        distribution_method="promotion_links",
        promotion_link_ids=[link["id"]],
        uses_per_client=2,
        allow_with_promo_codes=True,
        valid_from="2026-06-01T00:00:00+02:00",
        valid_until="2026-09-01T00:00:00+02:00",
        total_cap=500,
        minimum_fee="100",
        minimum_fee_currency="USD",
        challenge_ids=[challenge["id"]],
    )
    stored = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}"), 200)
    assert stored == coupon
    assert (stored["use_case"], stored["status"], stored["redeemed"]) == ("prop_trading", "undistributed", 0)
    assert (stored["discount_value"], stored["minimum_fee"]) == ("25.00", "100.00")
    assert stored["valid_from"].startswith("2026-05-31T22:00:00")  # stored in UTC
    unlimited = shop.coupon(name="Forever")
    assert (unlimited["uses_per_client"], unlimited["valid_from"], unlimited["valid_until"]) == (
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"discount_value": "100.01"}, "discount_value"),
        ({"discount_value": "0"}, "discount_value"),
        ({"discount_value": "-5"}, "discount_value"),
        ({"discount_currency": "USD"}, "discount_currency"),
        ({"discount_method": "fixed_amount", "discount_value": "5"}, "discount_currency"),
        (
            {"discount_method": "fixed_amount", "discount_value": "5.001", "discount_currency": "USD"},
            "discount_value",
        ),
        (
            {"discount_method": "fixed_amount", "discount_value": "5.5", "discount_currency": "JPY"},
            "discount_value",
        ),
        (
            {"discount_method": "fixed_amount", "discount_value": "5", "discount_currency": "XYZ"},
            "discount_currency",
        ),
        (  # a real currency, but not one the broker works in
            {"discount_method": "fixed_amount", "discount_value": "5", "discount_currency": "GBP"},
            "discount_currency",
        ),
        ({"minimum_fee": "5", "minimum_fee_currency": "GBP"}, "minimum_fee_currency"),
        ({"discount_method": "free"}, "discount_method"),
        ({"use_case": "deposits"}, "use_case"),
        ({"uses_per_client": 0}, "uses_per_client"),
        ({"total_cap": 0}, "total_cap"),
        ({"valid_from": "2026-06-01T00:00:00", "valid_until": "2026-07-01T00:00:00Z"}, "valid_from"),
        ({"valid_from": "2026-07-01T00:00:00Z", "valid_until": "2026-07-01T00:00:00Z"}, "valid_until"),
        ({"valid_from": "2026-07-01T00:00:00Z"}, "valid_until"),
        ({"minimum_fee": "50"}, "minimum_fee_currency"),
        ({"challenge_ids": [987654]}, "challenge_ids"),
        ({"distribution_method": "promotion_links"}, "promotion_link_ids"),
        ({"distribution_method": "promotion_links", "promotion_link_ids": [987654]}, "promotion_link_ids"),
        ({"promotion_link_ids": [1]}, "promotion_link_ids"),
        ({"name": ""}, "name"),
        ({"status": "distributed"}, "status"),
        ({"redeemed": 5}, "redeemed"),
    ],
)
def test_bad_coupon_input_names_the_field_and_writes_nothing(shop, fields, field):
    before = shop.crm.snapshot()
    body = {
        "name": "Bad",
        "discount_method": "percentage",
        "discount_value": "10",
        "distribution_method": "manual",
        **fields,
    }
    response = shop.admin.post(f"{API}/coupons", json=body)
    assert response.status_code == 422, response.text
    assert field in field_errors(response)
    assert shop.crm.snapshot() == before


def test_an_undistributed_coupon_can_be_edited_and_deleted(shop):
    coupon = shop.coupon()
    edited = expect(
        shop.admin.patch(
            f"{API}/coupons/{coupon['id']}",
            json={
                "name": "Renamed",
                "discount_method": "fixed_amount",
                "discount_value": "20",
                "discount_currency": "EUR",
            },
        ),
        200,
    )
    assert (edited["name"], edited["discount_value"], edited["discount_currency"]) == (
        "Renamed",
        "20.00",
        "EUR",
    )
    before = shop.crm.snapshot()
    bad = shop.admin.patch(f"{API}/coupons/{coupon['id']}", json={"discount_method": "percentage"})
    assert bad.status_code == 422 and "discount_currency" in field_errors(bad)  # a percentage has no currency
    assert shop.crm.snapshot() == before
    assert expect(shop.admin.get(f"{API}/coupons/{coupon['id']}"), 200)["discount_method"] == "fixed_amount"
    expect(shop.admin.delete(f"{API}/coupons/{coupon['id']}"), 204)
    assert shop.admin.get(f"{API}/coupons/{coupon['id']}").status_code == 404


def test_after_distribution_a_coupon_can_only_be_viewed_then_revoked(shop):
    client, _ = shop.client()
    coupon = shop.given([client["id"]])
    edit = shop.admin.patch(f"{API}/coupons/{coupon['id']}", json={"name": "Changed"})
    assert edit.status_code == 409 and "only be viewed" in edit.json()["error"]["message"]
    delete = shop.admin.delete(f"{API}/coupons/{coupon['id']}")
    assert delete.status_code == 409 and "revoke" in delete.json()["error"]["message"]
    again = shop.admin.post(
        f"{API}/coupons/{coupon['id']}/distribute",
        json={"client_ids": [client["id"]], "popup_title": "T", "popup_text": "B", "design_id": "gold"},
    )
    assert again.status_code == 409
    revoked = expect(shop.admin.post(f"{API}/coupons/{coupon['id']}/revoke"), 200)
    assert revoked["status"] == "revoked" and revoked["revoked_at"] is not None
    assert expect(shop.admin.post(f"{API}/coupons/{coupon['id']}/revoke"), 200) == revoked  # idempotent
    assert shop.admin.patch(f"{API}/coupons/{coupon['id']}", json={"name": "X"}).status_code == 409
    draft = shop.coupon()
    assert shop.admin.post(f"{API}/coupons/{draft['id']}/revoke").status_code == 409


def test_lists_filter_by_status_method_and_name(shop):
    client, _ = shop.client()
    sent = shop.given([client["id"]], name="Black Friday")
    draft = shop.coupon(name="Cyber Monday")
    link = expect(shop.admin.post("/api/v1/promotion-links", json={"name": "L"}), 201)
    linked = shop.coupon(name="Link", distribution_method="promotion_links", promotion_link_ids=[link["id"]])

    def ids(**params):
        return [c["id"] for c in expect(shop.admin.get(f"{API}/coupons", params=params), 200)["items"]]

    assert ids() == [linked["id"], draft["id"], sent["id"]]
    assert ids(status="distributed") == [sent["id"]]
    assert ids(distribution_method="promotion_links") == [linked["id"]]
    assert ids(q="friday") == [sent["id"]]
    assert ids(per_page=1, page=2) == [draft["id"]]
    assert shop.admin.get(f"{API}/coupons", params={"status": "lost"}).status_code == 422


def test_every_back_office_action_is_in_the_operation_log(shop):
    client, _ = shop.client()
    coupon = shop.given([client["id"]])
    expect(shop.admin.post(f"{API}/coupons/{coupon['id']}/revoke"), 200)
    promo = shop.promo()
    expect(shop.admin.patch(f"{API}/promo-codes/{promo['id']}", json={"enabled": False}), 200)

    def actions(entity, entity_id):
        params = {"entity": entity, "entity_id": str(entity_id)}
        items = expect(shop.admin.get("/api/v1/operation-log", params=params), 200)["items"]
        return sorted(i["action"] for i in items)

    coupon_actions = actions("coupons_coupons", coupon["id"])
    assert "create" in coupon_actions and "distribute" in coupon_actions
    assert coupon_actions.count("update") >= 2  # the distribution's status change, and the revocation
    assert actions("coupons_promo_codes", promo["id"]) == ["create", "update"]


def test_a_coupon_is_invisible_to_another_tenant(crm):
    acme = Shop(crm, "acme")
    globex = Shop(crm, "globex")
    coupon = acme.coupon()
    promo = acme.promo()
    assert globex.admin.get(f"{API}/coupons/{coupon['id']}").status_code == 404
    assert globex.admin.get(f"{API}/promo-codes/{promo['id']}").status_code == 404
    assert globex.admin.post(f"{API}/coupons/{coupon['id']}/revoke").status_code == 404
    assert expect(globex.admin.get(f"{API}/coupons"), 200)["items"] == []
    # The same code may exist in another company.
    globex.promo(code=promo["code"])
    initech = crm.tenant("initech")
    assert initech.admin.get(f"{API}/coupons").status_code == 404
    assert initech.admin.get(f"{API}/coupons/{coupon['id']}").status_code == 404


def test_validity_dates_far_in_the_future_are_kept(shop):
    coupon = shop.coupon(valid_from=iso(timedelta(days=1)), valid_until=iso(timedelta(days=400)))
    assert coupon["valid_from"] < coupon["valid_until"]


def test_a_patch_clears_an_optional_term_with_null_and_refuses_null_for_the_rest(shop):
    coupon = shop.coupon(uses_per_client=2, total_cap=10)
    cleared = expect(shop.admin.patch(f"{API}/coupons/{coupon['id']}", json={"total_cap": None}), 200)
    assert (cleared["total_cap"], cleared["uses_per_client"]) == (None, 2)
    refused = shop.admin.patch(f"{API}/coupons/{coupon['id']}", json={"name": None})
    assert refused.status_code == 422 and field_errors(refused) == ["name"]
    promo = shop.promo("CLEARME", uses_per_client=1)
    uncapped = expect(
        shop.admin.patch(f"{API}/promo-codes/{promo['id']}", json={"uses_per_client": None}), 200
    )
    assert uncapped["uses_per_client"] is None
    refused = shop.admin.patch(f"{API}/promo-codes/{promo['id']}", json={"enabled": None})
    assert refused.status_code == 422 and field_errors(refused) == ["enabled"]
