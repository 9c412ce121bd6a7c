"""Pop-ups and the email outbox (back office)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from core.api.deps import PathId, staff
from core.context import Ctx
from core.notify import service
from core.notify.models import EmailStatus
from core.notify.schemas import EmailIn, EmailOut, PopupIn, PopupOut, SentOut
from core.schemas import Id, ListQuery, Page

router = APIRouter(tags=["notifications"])


class PopupQuery(ListQuery):
    client_id: Id | None = None
    source: str | None = Field(default=None, max_length=64)
    unread: bool | None = None


class EmailQuery(ListQuery):
    status: EmailStatus | None = None
    client_id: Id | None = None


@router.post(
    "/popups",
    response_model=SentOut,
    status_code=201,
    summary="Send a pop-up to clients and/or client groups",
    description="Groups are resolved now; a client in two chosen groups receives one pop-up. Clients "
    "see it at their next login.",
)
def send_popups(body: PopupIn, ctx: Ctx = staff("notifications.send")) -> SentOut:
    return SentOut(recipients=service.send_popups(ctx, body))


@router.get(
    "/popups", response_model=Page[PopupOut], summary="Pop-ups sent to clients within my data permissions"
)
def list_popups(
    query: Annotated[PopupQuery, Query()], ctx: Ctx = staff("notifications.read")
) -> Page[PopupOut]:
    return Page.of(service.list_popups(ctx, query.paging, **query.filters()), PopupOut)


@router.post(
    "/emails",
    response_model=SentOut,
    status_code=201,
    summary="Email clients and/or client groups",
    description="Messages are queued in the outbox and sent over SMTP by the delivery worker.",
)
def send_emails(body: EmailIn, ctx: Ctx = staff("notifications.send")) -> SentOut:
    return SentOut(recipients=service.send_emails(ctx, body))


@router.get("/emails", response_model=Page[EmailOut], summary="The email outbox, with each message's status")
def list_emails(
    query: Annotated[EmailQuery, Query()], ctx: Ctx = staff("notifications.read")
) -> Page[EmailOut]:
    return Page.of(service.list_emails(ctx, query.paging, **query.filters()), EmailOut)


@router.get("/emails/{email_id}", response_model=EmailOut)
def get_email(email_id: PathId, ctx: Ctx = staff("notifications.read")) -> EmailOut:
    return EmailOut.model_validate(service.get_email(ctx, email_id))


@router.post(
    "/emails/{email_id}/retry", response_model=EmailOut, summary="Queue a failed or uncertain message again"
)
def retry_email(email_id: PathId, ctx: Ctx = staff("notifications.send")) -> EmailOut:
    return EmailOut.model_validate(service.retry_email(ctx, email_id))
