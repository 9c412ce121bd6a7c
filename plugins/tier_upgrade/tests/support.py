"""A broker with Client Tier Upgrade obtained, a rank with three tiers, and shortcuts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.crm.models import Deposit, DepositKind, DepositStatus
from core.scheduler.models import JobRun
from core.scheduler.worker import Worker
from core.testing import ApiSession, TenantHandle, expect

API = "/api/v1/plugins/tier_upgrade"


class Broker:
    def __init__(self, crm: Any, slug: str = "acme") -> None:
        self.crm = crm
        self.tenant: TenantHandle = crm.tenant(slug, currencies=("USD", "EUR"))
        self.admin: ApiSession = self.tenant.admin
        expect(self.admin.post("/api/v1/marketplace/tier_upgrade/install"), 200)  # "Obtain"
        rank = expect(
            self.admin.post(
                "/api/v1/ranks",
                json={"name": "IB Rank", "tiers": [{"name": "Bronze"}, {"name": "Silver"}, {"name": "Gold"}]},
            ),
            201,
        )
        self.rank_id = rank["id"]
        self.bronze, self.silver, self.gold = (t["id"] for t in rank["tiers"])

    def rule(self, status: int = 201, **fields: Any) -> Any:
        body = {
            "name": "IB promotions",
            "method": "manual",
            "target": "both",
            "rank_id": self.rank_id,
            "currency_relation": "and",
            "timezone": "Europe/London",
            "settlement_time": "18:00",
            "tiers": [
                {"tier_id": self.bronze, "currencies": {"USD": {"downline_total": "100"}}},
                {
                    "tier_id": self.silver,
                    "branches_required": 2,
                    "currencies": {"USD": {"downline_total": "500", "branch_minimum": "100"}},
                },
                {
                    "tier_id": self.gold,
                    "branches_required": 2,
                    "currencies": {
                        "USD": {"downline_total": "1000", "branch_minimum": "300"},
                        "EUR": {"downline_total": "500"},
                    },
                },
            ],
            **fields,
        }
        response = self.admin.post(f"{API}/rules", json=body)
        return expect(response, status)

    def client(self, referrer: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        if referrer is not None:
            fields["referrer_id"] = referrer["id"]
        return self.tenant.client(**fields)

    def ranked(
        self, referrer: dict[str, Any] | None = None, tier: int | None = None, **fields: Any
    ) -> dict[str, Any]:
        return self.client(referrer, rank_id=self.rank_id, tier_id=tier, **fields)

    def deposit(
        self,
        client: dict[str, Any],
        amount: str,
        currency: str = "USD",
        *,
        kind: DepositKind = DepositKind.REQUEST,
        status: DepositStatus = DepositStatus.APPROVED,
        decided_at: datetime | None = None,
    ) -> None:
        """A deposit as the deposits workflow leaves it (requested in the portal, then decided)."""
        with self.tenant.ctx() as ctx:
            ctx.session.add(
                Deposit(
                    client_id=client["id"],
                    amount=Decimal(amount),
                    currency=currency,
                    kind=kind,
                    status=status,
                    decided_at=decided_at or datetime.now(UTC) - timedelta(minutes=1),
                    tenant_id=self.tenant.id,
                )
            )

    def settle(self, rule_id: int, at: datetime | None = None) -> JobRun:
        args = {"at": at.isoformat()} if at is not None else None
        run = Worker(self.crm.runtime).run_now(
            self.tenant.slug, "tier_upgrade.settlement", key=str(rule_id), args=args
        )
        assert run.status.value == "succeeded", run.error
        return run

    def report(self, method: str = "manual", **params: Any) -> list[dict[str, Any]]:
        return expect(self.admin.get(f"{API}/records", params={"method": method, **params}), 200)["items"]

    def tier_of(self, client: dict[str, Any]) -> int | None:
        return expect(self.admin.get(f"/api/v1/clients/{client['id']}"), 200)["tier_id"]
