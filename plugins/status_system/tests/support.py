"""A broker with the Status System obtained, a ladder, and shortcuts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core.sdk.testing import ApiSession, TenantHandle, expect

API = "/api/v1/plugins/status_system"
PORTAL_API = "/api/v1/portal/plugins/status_system"


def deposits_at_least(amount: str, currency: str = "USD", **extra: Any) -> dict[str, Any]:
    return {"metric": "deposits_sum", "operator": ">=", "value": amount, "currency": currency, **extra}


class Broker:
    def __init__(self, crm: Any, slug: str = "acme") -> None:
        self.crm = crm
        self.tenant: TenantHandle = crm.tenant(slug, currencies=("USD", "EUR"))
        self.admin: ApiSession = self.tenant.admin
        expect(self.admin.post("/api/v1/marketplace/status_system/install"), 200)  # "Obtain"
        self.base = self.status("Base")
        self.silver = self.status("Silver", criteria=deposits_at_least("1000"))
        self.gold = self.status("Gold", criteria=deposits_at_least("10000"))

    def status(self, name: str, expected: int = 201, **fields: Any) -> Any:
        return expect(self.admin.post(f"{API}/statuses", json={"name": name, **fields}), expected)

    def settings(self, **values: Any) -> None:
        expect(self.admin.put("/api/v1/marketplace/status_system/settings", json={"values": values}), 200)

    def client(self, **fields: Any) -> dict[str, Any]:
        return self.tenant.client(**fields)

    def deposit(self, client: dict[str, Any], amount: str, currency: str = "USD") -> dict[str, Any]:
        """A deposit request the client makes in the portal, approved by staff (fires the event)."""
        body = {"client_id": client["id"], "amount": amount, "currency": currency}
        deposit = expect(self.admin.post("/api/v1/deposits", json=body), 201)
        if deposit["status"] != "approved":
            deposit = expect(self.admin.post(f"/api/v1/deposits/{deposit['id']}/approve"), 200)
        return deposit

    def age(self, deposit: dict[str, Any], days: int = 40) -> None:
        """Date a deposit's approval ``days`` back (out of a 30-day window by default)."""
        from sqlalchemy import update

        from core.sdk import Deposit, utcnow

        with self.tenant.ctx() as ctx:
            moved = utcnow() - timedelta(days=days)
            ctx.session.execute(update(Deposit).where(Deposit.id == deposit["id"]).values(decided_at=moved))

    def silver_at_risk(self) -> dict[str, Any]:
        """A client kept at Silver only by its margin: Silver needs USD 1,000 in 30 days (automatic
        demotion, no grace period) and they hold USD 920 there, above 90 % of it."""
        rule = {"criteria": deposits_at_least("1000", window_days=30)}
        expect(self.admin.patch(f"{API}/statuses/{self.silver['id']}", json=rule), 200)
        self.settings(demotion="automatic", grace_days=0)
        client = self.client()
        self.age(self.deposit(client, "1000"))
        self.deposit(client, "920")
        return client

    def standing(self, client: dict[str, Any], session: ApiSession | None = None) -> dict[str, Any]:
        return expect((session or self.admin).get(f"{API}/clients/{client['id']}"), 200)

    def status_of(self, client: dict[str, Any]) -> str:
        return self.standing(client)["status"]

    def history(self, client: dict[str, Any] | None = None, **params: Any) -> list[dict[str, Any]]:
        if client is not None:
            params["client_id"] = client["id"]
        return expect(self.admin.get(f"{API}/history", params={"per_page": 200, **params}), 200)["items"]

    def assign(self, client: dict[str, Any], status: dict[str, Any], mode: str = "once", expected: int = 200,
               reason: str = "VIP by agreement", expires_at: datetime | None = None) -> Any:  # fmt: skip
        body: dict[str, Any] = {"status_id": status["id"], "mode": mode, "reason": reason}
        if expires_at is not None:
            body["expires_at"] = expires_at.isoformat()
        return expect(self.admin.post(f"{API}/clients/{client['id']}/assign", json=body), expected)

    def recompute(self, client: dict[str, Any], now: datetime | None = None) -> int:
        from plugins.status_system.standing import recompute

        with self.tenant.ctx() as ctx:
            return recompute(ctx, [client["id"]], now=now)

    def batch(self) -> Any:
        """The nightly re-evaluation, run by hand through the scheduler's worker."""
        from core.sdk.testing import Worker

        run = Worker(self.crm.runtime).run_now(self.tenant.slug, "status_system.evaluation")
        assert run.status.value == "succeeded", run.error
        return run
