"""Promotion links: registration links with a client type and a referrer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import Field

from core.api.deps import PathId, staff
from core.context import Ctx
from core.crm import promotion
from core.crm.models import ClientType, PromotionLink
from core.crm.schemas.promotion import PromotionLinkIn, PromotionLinkOut, PromotionLinkUpdate
from core.schemas import ListQuery, Page

router = APIRouter(tags=["promotion links"])


class LinkQuery(ListQuery):
    enabled: bool | None = None
    client_type: ClientType | None = None
    q: str | None = Field(default=None, max_length=100, description="Name or code contains")


def _out(ctx: Ctx, links: list[PromotionLink]) -> list[PromotionLinkOut]:
    counts = promotion.registrations(ctx, [link.id for link in links])
    return [
        PromotionLinkOut.model_validate(link).model_copy(update={"registrations": counts.get(link.id, 0)})
        for link in links
    ]


@router.get(
    "/promotion-links", response_model=Page[PromotionLinkOut], summary="Promotion links and their sign-ups"
)
def list_links(
    query: Annotated[LinkQuery, Query()], ctx: Ctx = staff("promotion_links.read")
) -> Page[PromotionLinkOut]:
    result = promotion.list_links(ctx, query.paging, **query.filters())
    return Page[PromotionLinkOut](
        items=_out(ctx, result.items), total=result.total, page=result.page, per_page=result.per_page
    )


@router.post(
    "/promotion-links",
    response_model=PromotionLinkOut,
    status_code=201,
    description="The code is generated when omitted; codes are unique per company, ignoring case.",
)
def create_link(body: PromotionLinkIn, ctx: Ctx = staff("promotion_links.manage")) -> PromotionLinkOut:
    return _out(ctx, [promotion.create_link(ctx, body)])[0]


@router.get("/promotion-links/{link_id}", response_model=PromotionLinkOut)
def get_link(link_id: PathId, ctx: Ctx = staff("promotion_links.read")) -> PromotionLinkOut:
    return _out(ctx, [promotion.get_link(ctx, link_id)])[0]


@router.patch(
    "/promotion-links/{link_id}", response_model=PromotionLinkOut, summary="Edit, enable or disable"
)
def update_link(
    link_id: PathId, body: PromotionLinkUpdate, ctx: Ctx = staff("promotion_links.manage")
) -> PromotionLinkOut:
    return _out(ctx, [promotion.update_link(ctx, link_id, body)])[0]


@router.delete(
    "/promotion-links/{link_id}",
    status_code=204,
    description="Refused once clients registered through the link: disable it instead.",
)
def delete_link(link_id: PathId, ctx: Ctx = staff("promotion_links.manage")) -> Response:
    promotion.delete_link(ctx, link_id)
    return Response(status_code=204)
