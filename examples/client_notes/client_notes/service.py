"""Client Notes' rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from client_notes.models import Digest, Note
from core.sdk import (
    Client,
    Ctx,
    InvalidInput,
    JobContext,
    PageRequest,
    PageResult,
    PromotionLink,
    get_client,
    paginate_rows,
    scope_client_owned,
    settings_of,
)


def add_note(ctx: Ctx, client_id: int, text: str) -> Note:
    ctx.require("client_notes.write")
    client = get_client(ctx, client_id)  # 404 for a client outside the user's data permissions
    limit = max_length(ctx)
    if len(text) > limit:
        raise InvalidInput("text", f"at most {limit} characters")
    note = Note(
        client_id=client.id,
        text=text,
        author=ctx.principal.label if ctx.principal else "system",
        tenant_id=ctx.tenant_id,
    )
    ctx.session.add(note)
    ctx.session.flush()
    return note


def notes_of(ctx: Ctx, client_id: int) -> list[Note]:
    get_client(ctx, client_id)
    return list(ctx.session.scalars(select(Note).where(Note.client_id == client_id).order_by(Note.id)))


def recent_notes(ctx: Ctx, paging: PageRequest) -> PageResult[Any]:
    """The tenant's notes, newest first, on the clients the caller may see, with each client's
    name (plain rows: ``id``, ``client_id``, ``client_name``, ``author``, ``text``, ``created_at``)."""
    stmt = (
        select(
            Note.id,
            Note.client_id,
            Client.name.label("client_name"),
            Note.author,
            Note.text,
            Note.created_at,
        )
        .join(Client, Client.id == Note.client_id)
        .order_by(Note.id.desc())
    )
    return paginate_rows(ctx.session, scope_client_owned(stmt, ctx.principal, Note.client_id), paging)


def max_length(ctx: Ctx) -> int:
    """The longest note the tenant accepts (the module's ``max_length`` setting)."""
    return int(settings_of(ctx, "client_notes")["max_length"])


def note_registration(ctx: Ctx, client: Client, link: PromotionLink) -> None:
    ctx.session.add(
        Note(
            client_id=client.id,
            author="client_notes",
            tenant_id=ctx.tenant_id,
            text=f"Registered through promotion link {link.code} ({link.name}).",
        )
    )
    ctx.session.flush()


def digests(ctx: Ctx) -> list[Digest]:
    return list(ctx.session.scalars(select(Digest).order_by(Digest.week_start.desc())))


def weekly_digest(job: JobContext) -> None:
    """Count the notes of the week before the run. One digest per week: a re-run finds it."""
    week_start = (job.period - timedelta(days=7)).date()
    if job.ctx.session.scalar(select(Digest.id).where(Digest.week_start == week_start)) is not None:
        return
    start = job.period - timedelta(days=7)
    written = (
        job.ctx.session.scalar(
            select(func.count())
            .select_from(Note)
            .where(Note.created_at >= start, Note.created_at < job.period)
        )
        or 0
    )
    job.ctx.session.add(Digest(week_start=week_start, notes=written, tenant_id=job.ctx.tenant_id))
