"""Other modules target clients by status without importing this one: one segment per status, and
the status-changed event for whoever listens."""

from __future__ import annotations

from core.sdk.testing import expect

COUPONS = "/api/v1/plugins/coupons"


def _distribute(broker, name: str, segment: str) -> tuple[dict, dict]:
    terms = {"discount_method": "percentage", "discount_value": "10", "distribution_method": "manual"}
    coupon = expect(broker.admin.post(f"{COUPONS}/coupons", json={"name": name, **terms}), 201)
    body = {"popup_title": "A gift", "popup_text": "For you", "design_id": "gold", "segments": [segment]}
    sent = expect(broker.admin.post(f"{COUPONS}/coupons/{coupon['id']}/distribute", json=body), 200)
    return coupon, sent


def test_each_status_is_a_segment_the_coupons_distribution_can_target(broker):
    broker.tenant.install("coupons")  # the account manager's to install
    segments = {s["label"]: s["key"] for s in expect(broker.admin.get("/api/v1/segments"), 200)}
    assert {"Status: Base", "Status: Silver", "Status: Gold"} <= set(segments)
    silver = [broker.client() for _ in range(2)]
    for client in silver:
        broker.deposit(client, "1500")
    broker.client()  # Base
    coupon, sent = _distribute(broker, "Silver gift", segments["Status: Silver"])
    assert sent["recipients"] == 2
    holders = expect(broker.admin.get(f"{COUPONS}/coupons/{coupon['id']}/clients"), 200)["items"]
    assert sorted(h["client_id"] for h in holders) == sorted(c["id"] for c in silver)
    # The lowest status's segment is everyone without a higher one, rows or not.
    assert _distribute(broker, "Welcome", segments["Status: Base"])[1]["recipients"] == 1


def test_a_deleted_status_is_no_longer_a_segment(broker):
    expect(
        broker.admin.post(f"/api/v1/plugins/status_system/statuses/{broker.gold['id']}/delete", json={}), 204
    )
    labels = [s["label"] for s in expect(broker.admin.get("/api/v1/segments"), 200)]
    assert "Status: Gold" not in labels
