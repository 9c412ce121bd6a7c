"""Ranks and their ordered tiers (level 1 is the lowest)."""

from __future__ import annotations

from sqlalchemy import func, select

from core.context import Ctx
from core.crm.models import Client, Rank, Tier
from core.crm.schemas.ranks import RankIn, RankUpdate, TierIn
from core.db.lookup import ensure_unique, fetch
from core.errors import Conflict, FieldError, InvalidInput, NotFound
from core.schemas import apply_changes


def list_ranks(ctx: Ctx) -> list[Rank]:
    return list(ctx.session.scalars(select(Rank).order_by(Rank.sort_order, Rank.name)))


def get_rank(ctx: Ctx, rank_id: int, *, field: str | None = None) -> Rank:
    return fetch(ctx.session, Rank, rank_id, label="rank", field=field)


def tiers_of(ctx: Ctx, rank_id: int) -> list[Tier]:
    """The rank's tiers, lowest first."""
    return list(ctx.session.scalars(select(Tier).where(Tier.rank_id == rank_id).order_by(Tier.level)))


def get_tier(ctx: Ctx, tier_id: int, *, field: str | None = None) -> Tier:
    return fetch(ctx.session, Tier, tier_id, label="tier", field=field)


def create_rank(ctx: Ctx, data: RankIn) -> Rank:
    ctx.require("ranks.manage")
    ensure_unique(ctx.session, Rank.name, data.name, label="rank")
    rank = Rank(name=data.name, sort_order=data.sort_order, tenant_id=ctx.tenant_id)
    ctx.session.add(rank)
    ctx.session.flush()
    ctx.session.add_all(
        Tier(rank_id=rank.id, name=tier.name, level=level, tenant_id=ctx.tenant_id)
        for level, tier in enumerate(data.tiers, start=1)
    )
    ctx.session.flush()
    return rank


def update_rank(ctx: Ctx, rank_id: int, data: RankUpdate) -> Rank:
    ctx.require("ranks.manage")
    rank = get_rank(ctx, rank_id)
    changes = data.changes()
    if "name" in changes:
        ensure_unique(ctx.session, Rank.name, changes["name"], label="rank", exclude_id=rank.id)
    apply_changes(rank, changes)
    ctx.session.flush()
    return rank


def _clients_on(ctx: Ctx, *conditions: object) -> int:
    return ctx.session.scalar(select(func.count()).select_from(Client).where(*conditions)) or 0


def delete_rank(ctx: Ctx, rank_id: int) -> None:
    ctx.require("ranks.manage")
    rank = get_rank(ctx, rank_id)
    in_use = _clients_on(ctx, Client.rank_id == rank.id)
    if in_use:
        raise Conflict(f"{in_use} client(s) hold this rank; move them to another rank first")
    ctx.session.delete(rank)
    ctx.session.flush()


def add_tier(ctx: Ctx, rank_id: int, data: TierIn) -> Tier:
    """Add a tier above the rank's current highest one."""
    ctx.require("ranks.manage")
    rank = get_rank(ctx, rank_id)
    tiers = tiers_of(ctx, rank.id)
    if any(t.name.lower() == data.name.lower() for t in tiers):
        raise Conflict("the rank has a tier with this name", fields=[FieldError("name", "already in use")])
    tier = Tier(
        rank_id=rank.id, name=data.name, level=(tiers[-1].level + 1) if tiers else 1, tenant_id=ctx.tenant_id
    )
    ctx.session.add(tier)
    ctx.session.flush()
    return tier


def rename_tier(ctx: Ctx, rank_id: int, tier_id: int, data: TierIn) -> Tier:
    ctx.require("ranks.manage")
    tier = get_tier(ctx, tier_id)
    if tier.rank_id != rank_id:
        raise NotFound("tier not found")
    if any(t.id != tier.id and t.name.lower() == data.name.lower() for t in tiers_of(ctx, rank_id)):
        raise Conflict("the rank has a tier with this name", fields=[FieldError("name", "already in use")])
    tier.name = data.name
    ctx.session.flush()
    return tier


def delete_tier(ctx: Ctx, rank_id: int, tier_id: int) -> None:
    ctx.require("ranks.manage")
    tier = get_tier(ctx, tier_id)
    if tier.rank_id != rank_id:
        raise NotFound("tier not found")
    in_use = _clients_on(ctx, Client.tier_id == tier.id)
    if in_use:
        raise Conflict(f"{in_use} client(s) hold this tier; move them first")
    if len(tiers_of(ctx, rank_id)) == 1:
        raise Conflict("a rank keeps at least one tier")
    ctx.session.delete(tier)
    ctx.session.flush()


def resolve_rank_and_tier(
    ctx: Ctx,
    rank_id: int | None,
    tier_id: int | None,
    *,
    rank_field: str = "rank_id",
    tier_field: str = "tier_id",
) -> tuple[int | None, int | None]:
    """Validate a (rank, tier) pair: a tier belongs to its rank; a rank alone means its lowest
    tier; a tier alone implies its rank."""
    if rank_id is None and tier_id is None:
        return None, None
    if tier_id is not None:
        tier = get_tier(ctx, tier_id, field=tier_field)
        if rank_id is not None and tier.rank_id != rank_id:
            raise InvalidInput(tier_field, f"tier {tier_id} does not belong to rank {rank_id}")
        return tier.rank_id, tier.id
    assert rank_id is not None
    rank = get_rank(ctx, rank_id, field=rank_field)
    tiers = tiers_of(ctx, rank.id)
    return rank.id, tiers[0].id if tiers else None
