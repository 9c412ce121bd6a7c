"""Client portal: my pop-ups and notification count."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from core.api.deps import PathId, portal
from core.context import Ctx
from core.crm.clients import get_client
from core.notify import service
from core.notify.schemas import NotificationCountOut, PopupOut
from core.schemas import ListQuery, Page

router = APIRouter(tags=["portal"])


class MyPopupQuery(ListQuery):
    unread: bool | None = None


@router.get(
    "/popups", response_model=Page[PopupOut], summary="My pop-ups (unread ones are shown after login)"
)
def my_popups(query: Annotated[MyPopupQuery, Query()], ctx: Ctx = portal()) -> Page[PopupOut]:
    return Page.of(service.list_popups(ctx, query.paging, **query.filters()), PopupOut)


@router.post("/popups/{popup_id}/read", response_model=PopupOut, summary="Dismiss a pop-up")
def read_popup(popup_id: PathId, ctx: Ctx = portal()) -> PopupOut:
    return PopupOut.model_validate(service.mark_read(ctx, popup_id))


@router.get(
    "/notifications/count",
    response_model=NotificationCountOut,
    summary="The notification badge: unread pop-ups, plus counts modules contribute",
)
def count(ctx: Ctx = portal()) -> NotificationCountOut:
    assert ctx.principal is not None
    client = get_client(ctx, ctx.principal.id)
    return NotificationCountOut(
        unread_popups=service.unread_count(ctx), by_module=service.module_counts(ctx, client)
    )
