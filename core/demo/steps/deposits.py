"""Step: one to five deposits per client, portal requests and manual entries, in every state."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from core.crm.models import Deposit, DepositKind, DepositStatus
from core.db.base import utcnow
from core.demo.context import DemoContext

# Drawn from with equal odds: mostly approved, some pending, a few rejected.
STATUSES = [DepositStatus.APPROVED] * 6 + [DepositStatus.PENDING] * 2 + [DepositStatus.REJECTED]
CURRENCIES = ["USD", "USD", "EUR"]


def seed_deposits(demo: DemoContext) -> None:
    rng = demo.rng
    for client in demo.clients:
        for _ in range(rng.randint(1, 5)):
            status = rng.choice(STATUSES)
            kind = DepositKind.MANUAL if rng.random() < 0.15 else DepositKind.REQUEST
            deposit = Deposit(
                tenant_id=demo.tenant_id,
                client_id=client.id,
                currency=rng.choice(CURRENCIES),
                kind=kind,
                amount=Decimal(rng.randrange(100, 500_000, 50)) / 100,
                status=status,
                # A manual deposit is entered by the client's agent; a request by the client.
                created_by_user_id=client.assigned_user_id if kind is DepositKind.MANUAL else None,
            )
            if status is not DepositStatus.PENDING:
                deposit.decided_by_user_id = demo.manager.id
                deposit.decided_at = utcnow() - timedelta(days=rng.randint(0, 30))
            demo.session.add(deposit)
