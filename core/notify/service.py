"""Pop-ups and the email outbox (queueing). Sending is in ``core.notify.delivery``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, func, insert, literal, select, update

from core.audit.recorder import record_action
from core.context import Ctx
from core.crm.audience import audience_query
from core.crm.data_permissions import client_condition, get_client_owned, scope_client_owned
from core.crm.models import Client
from core.db.base import utcnow
from core.db.bulk import insert_rows
from core.db.filters import where_equal
from core.db.paging import PageRequest, PageResult, paginate
from core.db.session import tenant_insert
from core.db.tenant_filter import add_platform_row
from core.db.types import UTCDateTime
from core.errors import Conflict, NotFound
from core.notify.models import EmailMessage, EmailStatus, JsonObjectText, Popup
from core.notify.schemas import Audience, EmailIn, PopupIn
from core.plugins.dispatch import collect


def resolve_audience(ctx: Ctx, audience: Audience) -> list[Client]:
    """The clients an audience names, once each, all within the sender's data permissions."""
    ids = audience_query(ctx, audience.client_ids, audience.group_ids, field_prefix="recipients.")
    return list(ctx.session.scalars(select(Client).where(Client.id.in_(ids)).order_by(Client.id)))


# --- pop-ups -----------------------------------------------------------------------------------


def _checked_data(data: dict[str, Any] | None) -> dict[str, Any] | None:
    # Fail in the caller's code, with a clear message, rather than in the flush.
    if data is not None and not isinstance(data, dict):
        raise TypeError(f"pop-up data must be a dict (a JSON object), not {type(data).__name__}")
    return data


def create_popup(
    ctx: Ctx,
    client_id: int,
    title: str,
    body: str,
    *,
    source: str = "core",
    data: dict[str, Any] | None = None,
    flush: bool = True,
) -> Popup:
    """A pop-up for one client (modules call this too, with their name as ``source``). ``data`` is
    a JSON object for the module's portal widget (the API shows it as an object). ``flush=False``
    leaves the row to the unit of work's next flush: many pop-ups are then written together."""
    popup = Popup(
        client_id=client_id,
        title=title,
        body=body,
        source=source,
        data=_checked_data(data),
        tenant_id=ctx.tenant_id,
    )
    ctx.session.add(popup)
    if flush:
        ctx.session.flush()
    return popup


def create_popups(ctx: Ctx, popups: Sequence[Mapping[str, Any]], *, source: str = "core") -> int:
    """Pop-ups for clients, each its own (``client_id``, ``title``, ``body``, optional ``data`` as in
    ``create_popup``), in one statement whatever their number: what a module decided for a few
    clients or a batch of them. Returns how many."""
    now = utcnow()
    rows = [
        {
            "client_id": int(popup["client_id"]),
            "title": popup["title"],
            "body": popup["body"],
            "source": source,
            "data": _checked_data(popup.get("data")),
            "created_at": now,
        }
        for popup in popups
    ]
    return insert_rows(ctx.session, Popup, rows)


def popup_each(
    ctx: Ctx,
    clients: Select[Any],
    title: str,
    body: str,
    *,
    source: str = "core",
    data: dict[str, Any] | None = None,
) -> int:
    """The same pop-up for every client of a query of client ids (``core.crm.audience``), in one
    statement; ``data`` as in ``create_popup``. Returns how many clients got it."""
    ids = clients.subquery()
    rows = select(
        literal(ctx.tenant_id),
        ids.c.id,
        literal(title),
        literal(body),
        literal(source),
        literal(_checked_data(data), type_=JsonObjectText()),
        literal(utcnow(), type_=UTCDateTime),
    )
    result = tenant_insert(
        ctx.session,
        insert(Popup).from_select(
            ["tenant_id", "client_id", "title", "body", "source", "data", "created_at"], rows
        ),
    )
    return result.rowcount or 0


def send_popups(ctx: Ctx, data: PopupIn) -> int:
    ctx.require("notifications.send")
    clients = audience_query(
        ctx, data.recipients.client_ids, data.recipients.group_ids, field_prefix="recipients."
    )
    sent = popup_each(ctx, clients, data.title, data.body)
    record_action(
        ctx.session,
        entity="popups",
        entity_id="-",
        action="send",
        after={"title": data.title, "recipients": sent},
    )
    return sent


def _popups(ctx: Ctx, *, unread: bool | None = None, **equal: Any) -> Select[Any]:
    stmt = where_equal(scope_client_owned(select(Popup), ctx.principal, Popup.client_id), Popup, **equal)
    if unread is not None:
        stmt = stmt.where(Popup.read_at.is_(None) if unread else Popup.read_at.is_not(None))
    return stmt.order_by(Popup.id.desc())


def list_popups(ctx: Ctx, page: PageRequest, **filters: Any) -> PageResult[Popup]:
    """Filters: client_id, source, unread."""
    return paginate(ctx.session, _popups(ctx, **filters), page)


def mark_read(ctx: Ctx, popup_id: int) -> Popup:
    popup: Popup = get_client_owned(ctx, Popup, popup_id, label="pop-up")
    if popup.read_at is None:
        popup.read_at = utcnow()
        ctx.session.flush()
    return popup


def unread_count(ctx: Ctx) -> int:
    stmt = (
        _popups(ctx, unread=True).with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
    )
    return int(ctx.session.scalar(stmt) or 0)


def module_counts(ctx: Ctx, client: Client) -> dict[str, int]:
    """What the client's modules add to the notification badge, e.g. {"coupons": 2}."""
    counts: dict[str, int] = {}
    for answer in collect(ctx, "crm_portal_notification_counts", client=client).values():
        for name, n in answer.items():
            counts[name] = counts.get(name, 0) + int(n)
    return counts


# --- email outbox ------------------------------------------------------------------------------


def _new_email(
    to_address: str,
    subject: str,
    body_text: str,
    body_html: str | None,
    *,
    tenant_id: int | None,
    client_id: int | None,
) -> EmailMessage:
    return EmailMessage(
        to_address=to_address,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        client_id=client_id,
        message_id=f"<{uuid.uuid4()}@crm-marketplace>",
        next_attempt_at=utcnow(),
        tenant_id=tenant_id,
    )


def queue_email(
    ctx: Ctx,
    to_address: str,
    subject: str,
    body_text: str,
    body_html: str | None = None,
    client_id: int | None = None,
) -> EmailMessage:
    """Store a message for sending; the delivery worker sends it when SMTP is configured."""
    message = _new_email(
        to_address, subject, body_text, body_html, tenant_id=ctx.tenant_id, client_id=client_id
    )
    ctx.session.add(message)
    ctx.session.flush()
    return message


def queue_platform_email(
    ctx: Ctx, to_address: str, subject: str, body_text: str, body_html: str | None = None
) -> EmailMessage:
    """Store platform mail (to a platform operator: it belongs to no tenant) for the same delivery
    worker, with the same retries and never-twice guarantee. No tenant ever lists it. Needs a
    session without a tenant: from a tenant's session this raises ``TenantScopeError``."""
    message = _new_email(to_address, subject, body_text, body_html, tenant_id=None, client_id=None)
    add_platform_row(ctx.session, message)
    return message


def send_emails(ctx: Ctx, data: EmailIn) -> int:
    ctx.require("notifications.send")
    clients = resolve_audience(ctx, data.recipients)
    for client in clients:
        queue_email(ctx, client.email, data.subject, data.body_text, data.body_html, client_id=client.id)
    record_action(
        ctx.session,
        entity="email_messages",
        entity_id="-",
        action="send",
        after={"subject": data.subject, "recipients": len(clients)},
    )
    return len(clients)


def _emails(ctx: Ctx, *, status: EmailStatus | None = None, client_id: int | None = None) -> Select[Any]:
    stmt = where_equal(select(EmailMessage), EmailMessage, status=status, client_id=client_id)
    if client_condition(ctx.principal) is not None:
        # Messages to clients outside the user's data permissions (or to no client) stay hidden.
        stmt = scope_client_owned(
            stmt.where(EmailMessage.client_id.is_not(None)), ctx.principal, EmailMessage.client_id
        )
    return stmt.order_by(EmailMessage.id.desc())


def list_emails(ctx: Ctx, page: PageRequest, **filters: Any) -> PageResult[EmailMessage]:
    """Filters: status, client_id."""
    return paginate(ctx.session, _emails(ctx, **filters), page)


def get_email(ctx: Ctx, email_id: int) -> EmailMessage:
    message = ctx.session.scalar(_emails(ctx).where(EmailMessage.id == email_id))
    if message is None:
        raise NotFound("email not found")
    return message


def retry_email(ctx: Ctx, email_id: int) -> EmailMessage:
    """Send a failed or uncertain message again — the one way an uncertain message (whose sender
    died mid-send, so it may have gone out) is ever re-sent."""
    ctx.require("notifications.send")
    message = get_email(ctx, email_id)
    retried = ctx.session.execute(
        update(EmailMessage)
        .where(
            EmailMessage.id == message.id,
            EmailMessage.status.in_([EmailStatus.FAILED, EmailStatus.UNCERTAIN]),
        )
        .values(status=EmailStatus.QUEUED, next_attempt_at=utcnow(), lease_until=None)
    )
    if retried.rowcount != 1:
        raise Conflict(
            f"only failed or uncertain messages can be retried (this one is {message.status.value})"
        )
    ctx.session.refresh(message)
    return message
