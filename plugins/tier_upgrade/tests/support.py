"""A broker with Client Tier Upgrade obtained, a rank with three tiers, and shortcuts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import String, case, cast, func, insert, literal, null, select, text

from core.sdk import Client, Deposit, DepositKind, DepositStatus, Money, UTCDateTime
from core.sdk.testing import ApiSession, Database, JobRun, TenantHandle, Worker, expect

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

    def run(self, rule_id: int | str, at: datetime | None = None) -> JobRun:
        """A settlement run by hand (``crm jobs run``), however it ends."""
        args = {"at": at.isoformat()} if at is not None else None
        return Worker(self.crm.runtime).run_now(
            self.tenant.slug, "tier_upgrade.settlement", key=str(rule_id), args=args
        )

    def settle(self, rule_id: int, at: datetime | None = None) -> JobRun:
        run = self.run(rule_id, at)
        assert run.status.value == "succeeded", run.error
        return run

    def report(self, method: str = "manual", **params: Any) -> list[dict[str, Any]]:
        return expect(self.admin.get(f"{API}/records", params={"method": method, **params}), 200)["items"]

    def tier_of(self, client: dict[str, Any]) -> int | None:
        return expect(self.admin.get(f"/api/v1/clients/{client['id']}"), 200)["tier_id"]


def bulk_tree(
    db: Database, tenant_id: int, size: int, *, rank_id: int, tier_id: int, decided_at: datetime
) -> range:
    """``size`` clients in a ternary referral tree (the n-th refers the 3n-1-th to the 3n+1-th),
    one in ten an IB on the rank's tier ``tier_id``, each with one approved deposit request of 100
    to 400 USD decided at ``decided_at``: two INSERT … SELECT statements, fast at any size. Returns
    the clients' ids."""
    with db.engine.begin() as connection:
        first = (connection.execute(select(func.max(Client.id))).scalar() or 0) + 1
        seq = select(literal(1).label("n")).cte("seq", recursive=True)
        seq = seq.union_all(select(seq.c.n + 1).where(seq.c.n < size))
        n = seq.c.n
        ranked = n % 10 == 1
        client_id = n + (first - 1)
        connection.execute(
            insert(Client).from_select(
                ["id", "tenant_id", "client_type", "name", "email", "referrer_id", "rank_id", "tier_id"],
                select(
                    client_id,
                    literal(tenant_id),
                    case((ranked, literal("ib")), else_=literal("trader")),
                    literal("Bulk ") + cast(n, String),
                    literal("bulk") + cast(client_id, String) + literal("@example.com"),
                    case((n > 1, (n + 1) // 3 + (first - 1)), else_=null()),
                    case((ranked, literal(rank_id)), else_=null()),
                    case((ranked, literal(tier_id)), else_=null()),
                ),
            )
        )
        amounts = [literal(Decimal(amount), Money()) for amount in (100, 200, 300, 400)]
        connection.execute(
            insert(Deposit).from_select(
                ["tenant_id", "client_id", "amount", "currency", "kind", "status", "decided_at"],
                select(
                    literal(tenant_id),
                    client_id,
                    case(*((n % 4 == k, amounts[k]) for k in range(3)), else_=amounts[3]),
                    literal("USD"),
                    literal(DepositKind.REQUEST.value),
                    literal(DepositStatus.APPROVED.value),
                    literal(decided_at, UTCDateTime()),
                ),
            )
        )
        if db.dialect == "postgresql":  # explicit ids: move the sequence past them
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('clients', 'id'), max(id)) FROM clients")
            )
    return range(first, first + size)
