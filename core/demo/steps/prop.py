"""Step: three prop challenges, and an order from each of the first thirty clients."""

from __future__ import annotations

from decimal import Decimal

from core.crm.models import PropChallenge, PropOrder, PropOrderStatus
from core.db.base import utcnow
from core.demo.context import DemoContext

CHALLENGES = [
    ("Starter 10K", "One-step challenge on a 10,000 USD account.", "99.00"),
    ("Pro 50K", "Two-step challenge on a 50,000 USD account.", "299.00"),
    ("Elite 100K", "Two-step challenge on a 100,000 USD account.", "549.00"),
]
ORDERING_CLIENTS = 30
# Drawn from with equal odds: half paid, the rest placed (awaiting payment) or failed.
ORDER_STATUSES = [PropOrderStatus.PAID, PropOrderStatus.PAID, PropOrderStatus.PLACED, PropOrderStatus.FAILED]


def seed_prop_challenges(demo: DemoContext) -> None:
    rng = demo.rng
    challenges = [
        PropChallenge(
            tenant_id=demo.tenant_id, name=name, description=description, fee=Decimal(fee), currency="USD"
        )
        for name, description, fee in CHALLENGES
    ]
    demo.session.add_all(challenges)
    demo.session.flush()
    for client in demo.clients[:ORDERING_CLIENTS]:
        challenge = rng.choice(challenges)
        status = rng.choice(ORDER_STATUSES)
        demo.session.add(
            PropOrder(
                tenant_id=demo.tenant_id,
                client_id=client.id,
                challenge_id=challenge.id,
                list_price=challenge.fee,
                final_price=challenge.fee,
                currency=challenge.currency,
                status=status,
                status_changed_at=None if status is PropOrderStatus.PLACED else utcnow(),
                failure_reason="card declined" if status is PropOrderStatus.FAILED else "",
            )
        )
    demo.session.flush()
