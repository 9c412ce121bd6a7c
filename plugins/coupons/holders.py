"""Who holds a coupon or promo code, for the statistics: one pipeline for both (the query, a page
of it, or all of it streamed in batches for the CSV export), each holder with their state and the
challenges they paid for with it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, String, case, literal, null, select
from sqlalchemy.orm import InstrumentedAttribute

from core.sdk import (
    Client,
    Ctx,
    PageRequest,
    PageResult,
    PropChallenge,
    count,
    scope_clients,
    utcnow,
)
from plugins.coupons.coupons import get_coupon
from plugins.coupons.models import CouponGrant, PromoUsage, Redemption, RedemptionStatus, Terms
from plugins.coupons.promo_codes import get_promo_code
from plugins.coupons.terms import has_expired

EXPORT_BATCH = 2000  # holders read (and their challenges looked up) at a time while exporting


@dataclass
class HolderRow:
    """One client in a coupon's or promo code's holder list."""

    client_id: int
    client_name: str
    client_email: str
    uses: int
    state: str
    challenges: list[str]
    granted_at: datetime | None = None


@dataclass(frozen=True)
class Holding:
    """Where one kind of discount counts each client's uses, and how its redemptions name it."""

    owner: InstrumentedAttribute[int]  # the usage row's column naming the coupon or code
    client_id: InstrumentedAttribute[int]
    uses: InstrumentedAttribute[int]
    granted_at: InstrumentedAttribute[datetime] | None
    redeemed_with: InstrumentedAttribute[int | None]  # the redemption's column naming it
    users_only: bool  # list only clients who used it (a promo code has no holders before that)


COUPON_HOLDERS = Holding(
    CouponGrant.coupon_id,
    CouponGrant.client_id,
    CouponGrant.uses,
    CouponGrant.granted_at,
    Redemption.coupon_id,
    users_only=False,
)
PROMO_USERS = Holding(
    PromoUsage.promo_code_id,
    PromoUsage.client_id,
    PromoUsage.uses,
    None,
    Redemption.promo_code_id,
    users_only=True,
)


def _state(terms: Terms, uses: ColumnElement[int], now: datetime) -> ColumnElement[str]:
    """A holder's state as SQL (so lists filter and page on it): revoked, expired, used up,
    partly used or unused. Own uses at the limit show as used up whatever else happened."""
    limit, cap = terms.uses_per_client, terms.total_cap
    used_up = uses >= limit if limit is not None else literal(False)
    if terms.withdrawn:
        return case((used_up, "used_up"), else_="revoked")
    if has_expired(terms, now):
        return case((used_up, "used_up"), else_="expired")
    if cap is not None and terms.redeemed >= cap:
        return literal("used_up", String)
    return case((used_up, "used_up"), (uses > 0, "partly_used"), else_="unused")


def holders_query(
    ctx: Ctx, holding: Holding, terms: Any, *, state: str | None = None, client_id: int | None = None
) -> Select[Any]:
    """The holders of ``terms`` (a coupon or promo code) the user may see, by client."""
    state_expr = _state(terms, holding.uses, utcnow())
    granted_at = holding.granted_at if holding.granted_at is not None else null()
    stmt = (
        select(Client.id, Client.name, Client.email, holding.uses, state_expr, granted_at)
        .join(Client, Client.id == holding.client_id)
        .where(holding.owner == terms.id)
    )
    if holding.users_only:
        stmt = stmt.where(holding.uses > 0)
    stmt = scope_clients(stmt, ctx.principal)
    if state is not None:
        stmt = stmt.where(state_expr == state)
    if client_id is not None:
        stmt = stmt.where(Client.id == client_id)
    return stmt.order_by(Client.id)


def _with_challenges(ctx: Ctx, holding: Holding, terms: Any, rows: Sequence[Row[Any]]) -> list[HolderRow]:
    """The rows as holders, each with the names of the challenges paid for with the discount."""
    paid_for: dict[int, list[str]] = {}
    if rows:
        found = ctx.session.execute(
            select(Redemption.client_id, PropChallenge.name)
            .join(PropChallenge, PropChallenge.id == Redemption.challenge_id)
            .where(
                holding.redeemed_with == terms.id,
                Redemption.client_id.in_([r[0] for r in rows]),
                Redemption.status == RedemptionStatus.CONFIRMED,
            )
            .distinct()
        )
        for client_id, name in found:
            paid_for.setdefault(client_id, []).append(name)
    return [HolderRow(*r[:5], sorted(paid_for.get(r[0], [])), r[5]) for r in rows]


def holders_page(
    ctx: Ctx, holding: Holding, terms: Any, page: PageRequest, *, state: str | None, client_id: int | None
) -> PageResult[HolderRow]:
    stmt = holders_query(ctx, holding, terms, state=state, client_id=client_id)
    rows = ctx.session.execute(stmt.limit(page.per_page).offset(page.offset)).all()
    items = _with_challenges(ctx, holding, terms, rows)
    return PageResult(items=items, total=count(ctx.session, stmt), page=page.page, per_page=page.per_page)


def iter_holders(ctx: Ctx, holding: Holding, terms: Any, *, state: str | None) -> Iterator[HolderRow]:
    """Every holder, read in batches (an export may list a whole client base)."""
    stmt = holders_query(ctx, holding, terms, state=state)
    result = ctx.session.execute(stmt.execution_options(yield_per=EXPORT_BATCH))
    for batch in result.partitions():
        yield from _with_challenges(ctx, holding, terms, batch)


def coupon_holders(
    ctx: Ctx, coupon_id: int, page: PageRequest, *, state: str | None = None, client_id: int | None = None
) -> PageResult[HolderRow]:
    coupon = get_coupon(ctx, coupon_id)
    return holders_page(ctx, COUPON_HOLDERS, coupon, page, state=state, client_id=client_id)


def iter_coupon_holders(ctx: Ctx, coupon_id: int, *, state: str | None = None) -> Iterator[HolderRow]:
    return iter_holders(ctx, COUPON_HOLDERS, get_coupon(ctx, coupon_id), state=state)


def promo_users(
    ctx: Ctx, promo_id: int, page: PageRequest, *, state: str | None = None, client_id: int | None = None
) -> PageResult[HolderRow]:
    promo = get_promo_code(ctx, promo_id)
    return holders_page(ctx, PROMO_USERS, promo, page, state=state, client_id=client_id)


def iter_promo_users(ctx: Ctx, promo_id: int, *, state: str | None = None) -> Iterator[HolderRow]:
    return iter_holders(ctx, PROMO_USERS, get_promo_code(ctx, promo_id), state=state)
