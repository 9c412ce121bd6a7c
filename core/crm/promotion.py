"""Promotion links: a code that registers clients of a given type under a given referrer."""

from __future__ import annotations

import secrets
import string
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, func, select

from core.context import Ctx
from core.crm.clients import get_client
from core.crm.models import Client, ClientType, PromotionLink
from core.crm.schemas.promotion import PromotionLinkIn, PromotionLinkUpdate
from core.db.lookup import fetch
from core.db.paging import PageRequest, PageResult, paginate
from core.errors import Conflict, FieldError
from core.schemas import apply_changes
from core.tenancy.models import Tenant

_CODE_ALPHABET = string.ascii_uppercase + string.digits


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


def _code_taken(ctx: Ctx, code: str, exclude_id: int | None = None) -> bool:
    stmt = select(PromotionLink.id).where(func.lower(PromotionLink.code) == code.lower())
    if exclude_id is not None:
        stmt = stmt.where(PromotionLink.id != exclude_id)
    return ctx.session.scalar(stmt) is not None


def registrations(ctx: Ctx, link_ids: list[int]) -> dict[int, int]:
    """How many clients registered through each link."""
    if not link_ids:
        return {}
    rows = ctx.session.execute(
        select(Client.promotion_link_id, func.count())
        .where(Client.promotion_link_id.in_(link_ids))
        .group_by(Client.promotion_link_id)
    )
    return {link_id: n for link_id, n in rows}


def _query(
    ctx: Ctx, *, enabled: bool | None = None, client_type: ClientType | None = None, q: str | None = None
) -> Select[Any]:
    stmt = select(PromotionLink).order_by(PromotionLink.id.desc())
    if enabled is not None:
        stmt = stmt.where(PromotionLink.enabled == enabled)
    if client_type is not None:
        stmt = stmt.where(PromotionLink.client_type == client_type)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(
            func.lower(PromotionLink.name).like(like) | func.lower(PromotionLink.code).like(like)
        )
    return stmt


def list_links(ctx: Ctx, page: PageRequest, **filters: Any) -> PageResult[PromotionLink]:
    """Filters: enabled, client_type, q (name or code contains)."""
    return paginate(ctx.session, _query(ctx, **filters), page)


def get_link(ctx: Ctx, link_id: int) -> PromotionLink:
    return fetch(ctx.session, PromotionLink, link_id, label="promotion link")


def enabled_link_by_code(ctx: Ctx, code: str) -> PromotionLink | None:
    """The enabled link with this code (codes are case-insensitive)."""
    return ctx.session.scalar(
        select(PromotionLink).where(func.lower(PromotionLink.code) == code.lower(), PromotionLink.enabled)
    )


SIGNUP_PAGE = "/portal/register"


def signup_url(ctx: Ctx, link: PromotionLink) -> str:
    """The link's URL to share: the portal's registration page with the company and the link's
    code filled in (the page names the link; the client gets its type and referrer)."""
    tenant = ctx.session.get(Tenant, link.tenant_id)
    slug = tenant.slug if tenant is not None else ""
    query = urlencode({"company": slug, "ref": link.code})
    return f"{ctx.runtime.settings.public_url}{SIGNUP_PAGE}?{query}"


def create_link(ctx: Ctx, data: PromotionLinkIn) -> PromotionLink:
    ctx.require("promotion_links.manage")
    if data.referrer_id is not None:
        get_client(ctx, data.referrer_id, field="referrer_id")
    code = data.code or _new_code()
    while data.code is None and _code_taken(ctx, code):
        code = _new_code()
    if _code_taken(ctx, code):
        raise Conflict(
            "a promotion link with this code exists", fields=[FieldError("code", "already in use")]
        )
    link = PromotionLink(
        code=code,
        name=data.name,
        client_type=data.client_type,
        referrer_id=data.referrer_id,
        enabled=data.enabled,
        tenant_id=ctx.tenant_id,
    )
    ctx.session.add(link)
    ctx.session.flush()
    return link


def update_link(ctx: Ctx, link_id: int, data: PromotionLinkUpdate) -> PromotionLink:
    ctx.require("promotion_links.manage")
    link = get_link(ctx, link_id)
    changes = data.changes()
    if changes.get("referrer_id") is not None:
        get_client(ctx, changes["referrer_id"], field="referrer_id")
    apply_changes(link, changes)
    ctx.session.flush()
    return link


def delete_link(ctx: Ctx, link_id: int) -> None:
    """Only a link nobody registered through can be deleted: it is their registration source."""
    ctx.require("promotion_links.manage")
    link = get_link(ctx, link_id)
    if registrations(ctx, [link.id]).get(link.id):
        raise Conflict("clients registered through this link; disable it instead")
    ctx.session.delete(link)
    ctx.session.flush()
