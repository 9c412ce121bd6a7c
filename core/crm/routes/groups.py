from __future__ import annotations

from fastapi import APIRouter, Response

from core.api.deps import PathId, staff
from core.context import Ctx
from core.crm import groups, segments
from core.crm.schemas.groups import ClientGroupIn, ClientGroupOut, ClientGroupUpdate, SegmentOut

router = APIRouter(tags=["client groups"])


@router.get("/client-groups", response_model=list[ClientGroupOut])
def list_groups(ctx: Ctx = staff("client_groups.read")) -> list[ClientGroupOut]:
    return [ClientGroupOut.model_validate(g) for g in groups.list_groups(ctx)]


@router.post("/client-groups", response_model=ClientGroupOut, status_code=201)
def create_group(body: ClientGroupIn, ctx: Ctx = staff("client_groups.manage")) -> ClientGroupOut:
    return ClientGroupOut.model_validate(groups.create_group(ctx, body))


@router.get("/client-groups/{group_id}", response_model=ClientGroupOut)
def get_group(group_id: PathId, ctx: Ctx = staff("client_groups.read")) -> ClientGroupOut:
    return ClientGroupOut.model_validate(groups.get_group(ctx, group_id))


@router.patch("/client-groups/{group_id}", response_model=ClientGroupOut)
def update_group(
    group_id: PathId, body: ClientGroupUpdate, ctx: Ctx = staff("client_groups.manage")
) -> ClientGroupOut:
    return ClientGroupOut.model_validate(groups.update_group(ctx, group_id, body))


@router.delete(
    "/client-groups/{group_id}", status_code=204, description="Clients of the group stay, without a group."
)
def delete_group(group_id: PathId, ctx: Ctx = staff("client_groups.manage")) -> Response:
    groups.delete_group(ctx, group_id)
    return Response(status_code=204)


@router.get(
    "/segments",
    response_model=list[SegmentOut],
    description="Audiences of clients the company's modules offer, to target as a whole by key "
    "(`<module>:<key>`), as client groups are.",
)
def list_segments(ctx: Ctx = staff("clients.read")) -> list[SegmentOut]:
    return [SegmentOut.model_validate(s) for s in segments.list_segments(ctx)]
