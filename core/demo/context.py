"""What the demo's steps share: the session and runtime, the one random generator, and the rows
an earlier step created that a later one needs."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from core.access.models import User
from core.crm.models import Client, ClientGroup, ClientType, Rank, Tier
from core.db.session import CrmSession
from core.runtime import Runtime

# The operation log's actor (and the modules' operation) for every row the demo creates.
DEMO_SEED = "demo seed"


@dataclass(eq=False)
class DemoContext:
    """Filled in step by step. ``tenant_id`` and ``manager`` have no default: reading one before
    the step that sets it raises ``AttributeError`` instead of seeding with a made-up value."""

    session: CrmSession
    runtime: Runtime
    # One generator, drawn from in step order: the same seed gives the same broker every time.
    rng: random.Random
    tenant_id: int = field(init=False)
    manager: User = field(init=False)  # decides the deposits
    sales_agents: list[User] = field(default_factory=list)  # clients are assigned to them
    groups: list[ClientGroup] = field(default_factory=list)
    ranks: dict[ClientType, Rank] = field(default_factory=dict)
    tiers: dict[ClientType, list[Tier]] = field(default_factory=dict)  # by level, lowest first
    clients: list[Client] = field(default_factory=list)  # in the order they joined

    @property
    def ibs(self) -> list[Client]:
        return [client for client in self.clients if client.client_type is ClientType.IB]


DemoStep = Callable[[DemoContext], None]
