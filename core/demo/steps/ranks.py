"""Step: a rank for IBs and one for traders, each with its tiers."""

from __future__ import annotations

from core.crm.models import ClientType, Rank, Tier
from core.demo.context import DemoContext

# Rank name, its place in the list, its tiers from the lowest level up.
RANKS: dict[ClientType, tuple[str, int, list[str]]] = {
    ClientType.IB: ("IB", 1, ["Bronze", "Silver", "Gold", "Platinum"]),
    ClientType.TRADER: ("Trader", 2, ["Starter", "Active", "Pro"]),
}


def seed_ranks(demo: DemoContext) -> None:
    tenant_id = demo.tenant_id
    demo.ranks = {
        client_type: Rank(tenant_id=tenant_id, name=name, sort_order=sort_order)
        for client_type, (name, sort_order, _tiers) in RANKS.items()
    }
    demo.session.add_all(demo.ranks.values())
    demo.session.flush()
    demo.tiers = {
        client_type: [
            Tier(tenant_id=tenant_id, rank_id=demo.ranks[client_type].id, name=name, level=level)
            for level, name in enumerate(tiers, start=1)
        ]
        for client_type, (_name, _sort_order, tiers) in RANKS.items()
    }
    demo.session.add_all([tier for tiers in demo.tiers.values() for tier in tiers])
    demo.session.flush()
