from __future__ import annotations

from fastapi import APIRouter, Response

from core.api.deps import PathId, staff
from core.context import Ctx
from core.crm import ranks
from core.crm.models import Rank
from core.crm.schemas.ranks import RankIn, RankOut, RankUpdate, TierIn, TierOut

router = APIRouter(tags=["ranks"])


def rank_out(ctx: Ctx, rank: Rank) -> RankOut:
    return RankOut(
        id=rank.id,
        name=rank.name,
        sort_order=rank.sort_order,
        tiers=[TierOut.model_validate(t) for t in ranks.tiers_of(ctx, rank.id)],
    )


@router.get("/ranks", response_model=list[RankOut], summary="Ranks with their tiers, lowest tier first")
def list_ranks(ctx: Ctx = staff("ranks.read")) -> list[RankOut]:
    return [rank_out(ctx, r) for r in ranks.list_ranks(ctx)]


@router.post("/ranks", response_model=RankOut, status_code=201)
def create_rank(body: RankIn, ctx: Ctx = staff("ranks.manage")) -> RankOut:
    return rank_out(ctx, ranks.create_rank(ctx, body))


@router.get("/ranks/{rank_id}", response_model=RankOut)
def get_rank(rank_id: PathId, ctx: Ctx = staff("ranks.read")) -> RankOut:
    return rank_out(ctx, ranks.get_rank(ctx, rank_id))


@router.patch("/ranks/{rank_id}", response_model=RankOut)
def update_rank(rank_id: PathId, body: RankUpdate, ctx: Ctx = staff("ranks.manage")) -> RankOut:
    return rank_out(ctx, ranks.update_rank(ctx, rank_id, body))


@router.delete("/ranks/{rank_id}", status_code=204, description="Refused while clients hold the rank.")
def delete_rank(rank_id: PathId, ctx: Ctx = staff("ranks.manage")) -> Response:
    ranks.delete_rank(ctx, rank_id)
    return Response(status_code=204)


@router.post(
    "/ranks/{rank_id}/tiers",
    response_model=TierOut,
    status_code=201,
    summary="Add a tier above the rank's highest",
)
def add_tier(rank_id: PathId, body: TierIn, ctx: Ctx = staff("ranks.manage")) -> TierOut:
    return TierOut.model_validate(ranks.add_tier(ctx, rank_id, body))


@router.patch("/ranks/{rank_id}/tiers/{tier_id}", response_model=TierOut)
def rename_tier(rank_id: PathId, tier_id: PathId, body: TierIn, ctx: Ctx = staff("ranks.manage")) -> TierOut:
    return TierOut.model_validate(ranks.rename_tier(ctx, rank_id, tier_id, body))


@router.delete("/ranks/{rank_id}/tiers/{tier_id}", status_code=204)
def delete_tier(rank_id: PathId, tier_id: PathId, ctx: Ctx = staff("ranks.manage")) -> Response:
    ranks.delete_tier(ctx, rank_id, tier_id)
    return Response(status_code=204)
