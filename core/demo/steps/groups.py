"""Step: the client groups a broker sorts its clients into."""

from __future__ import annotations

from core.crm.models import ClientGroup
from core.demo.context import DemoContext

GROUPS = [
    ("Standard", "Default group"),
    ("VIP", "High-value clients"),
    ("Islamic", "Swap-free accounts"),
]


def seed_groups(demo: DemoContext) -> None:
    demo.groups = [
        ClientGroup(tenant_id=demo.tenant_id, name=name, description=description)
        for name, description in GROUPS
    ]
    demo.session.add_all(demo.groups)
    demo.session.flush()
