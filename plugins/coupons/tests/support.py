"""A broker with Coupons and Promo Codes installed, and shortcuts to its API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from core.sdk.testing import ApiSession, TenantHandle, expect

API = "/api/v1/plugins/coupons"
PORTAL = "/api/v1/portal"

_serial = count(1)  # names are unique per broker: the defaults get a number


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


class Shop:
    """One tenant with the module installed (as its account manager would)."""

    def __init__(self, crm: Any, slug: str = "acme") -> None:
        self.crm = crm
        # JPY too: amounts without minor units, in a currency the broker works in.
        self.tenant: TenantHandle = crm.tenant(slug, currencies=("USD", "EUR", "JPY"))
        self.tenant.install("coupons")
        self.admin: ApiSession = self.tenant.admin

    def challenge(self, fee: str = "100.00", currency: str = "USD", **extra: Any) -> dict[str, Any]:
        body = {"name": f"Challenge {next(_serial)}", "fee": fee, "currency": currency, **extra}
        return expect(self.admin.post("/api/v1/prop/challenges", json=body), 201)

    def coupon(self, **fields: Any) -> dict[str, Any]:
        body = {
            "name": f"Welcome {next(_serial)}",
            "discount_method": "percentage",
            "discount_value": "10",
            "distribution_method": "manual",
            **fields,
        }
        return expect(self.admin.post(f"{API}/coupons", json=body), 201)

    def distribute(
        self,
        coupon_id: int,
        client_ids: list[int] = (),
        group_ids: list[int] = (),
        by: ApiSession | None = None,
    ) -> dict[str, Any]:
        body = {
            "client_ids": list(client_ids),
            "group_ids": list(group_ids),
            "popup_title": "A gift for you",
            "popup_text": "Use it on your next challenge",
            "design_id": "gold",
        }
        return expect((by or self.admin).post(f"{API}/coupons/{coupon_id}/distribute", json=body), 200)

    def given(self, client_ids: list[int], **fields: Any) -> dict[str, Any]:
        """A coupon created and distributed to these clients."""
        coupon = self.coupon(**fields)
        self.distribute(coupon["id"], client_ids)
        return coupon

    def promo(self, code: str = "SAVE10", **fields: Any) -> dict[str, Any]:
        body = {"code": code, "name": code, "discount_method": "percentage", "discount_value": "10", **fields}
        return expect(self.admin.post(f"{API}/promo-codes", json=body), 201)

    def client(self, **fields: Any) -> tuple[dict[str, Any], ApiSession]:
        client = self.tenant.client(**fields)
        return client, self.tenant.portal(client["id"])

    def order(
        self, portal: ApiSession, challenge_id: int, status: int = 201, **options: Any
    ) -> dict[str, Any]:
        body = {"challenge_id": challenge_id, "options": options}
        return expect(portal.post(f"{PORTAL}/prop/orders", json=body), status)

    def quote(self, portal: ApiSession, challenge_id: int, **options: Any) -> Any:
        return portal.post(f"{PORTAL}/prop/quote", json={"challenge_id": challenge_id, "options": options})

    def settle(self, order_id: int, outcome: str) -> dict[str, Any]:
        """Record the payment outcome as the back office does: paid, failed or cancel."""
        return expect(self.admin.post(f"/api/v1/prop/orders/{order_id}/{outcome}"), 200)


def field_errors(response: Any) -> list[str]:
    return [f["field"] for f in response.json()["error"]["fields"]]
