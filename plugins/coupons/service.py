"""Coupons and promo codes: their terms, a coupon's life (undistributed → distributed → revoked),
distribution, statistics, and what a client holds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, String, case, func, insert, literal, select
from sqlalchemy.exc import IntegrityError

from core.sdk import (
    Client,
    Conflict,
    Ctx,
    InvalidInput,
    PageRequest,
    PageResult,
    PromotionLink,
    PropChallenge,
    UTCDateTime,
    audience_query,
    check_company_currency,
    check_precision,
    count,
    create_popup,
    ensure_unique,
    enum_type,
    fetch,
    paginate,
    popup_each,
    record_action,
    scope_clients,
    tenant_insert,
    utcnow,
)
from plugins.coupons.designs import DESIGN_IDS, DESIGNS
from plugins.coupons.models import (
    Coupon,
    CouponGrant,
    CouponStatus,
    DiscountMethod,
    DistributionMethod,
    PromoCode,
    PromoUsage,
    Redemption,
    RedemptionStatus,
)
from plugins.coupons.schemas import CouponIn, CouponUpdate, DistributeIn, PromoCodeIn, PromoCodeUpdate

TERM_FIELDS = (
    "discount_method",
    "discount_value",
    "discount_currency",
    "valid_from",
    "valid_until",
    "uses_per_client",
    "total_cap",
    "minimum_fee",
    "minimum_fee_currency",
    "challenge_ids",
)


def check_terms(ctx: Ctx, terms: Any) -> None:
    """The rules across a discount's fields, on the terms as they will be saved."""
    if terms.discount_method is DiscountMethod.PERCENTAGE:
        if terms.discount_value > 100:
            raise InvalidInput("discount_value", "a percentage is at most 100")
        if terms.discount_currency is not None:
            raise InvalidInput("discount_currency", "a percentage discount has no currency")
    elif terms.discount_currency is None:
        raise InvalidInput("discount_currency", "a fixed amount needs its currency")
    else:
        check_company_currency(ctx, terms.discount_currency, field="discount_currency")
        check_precision(terms.discount_value, terms.discount_currency, field="discount_value")
    if (terms.valid_from is None) != (terms.valid_until is None):
        raise InvalidInput("valid_until", "give both ends of the validity period, or neither for unlimited")
    if terms.valid_from is not None and terms.valid_from >= terms.valid_until:
        raise InvalidInput("valid_until", "must be after valid_from")
    if (terms.minimum_fee is None) != (terms.minimum_fee_currency is None):
        raise InvalidInput(
            "minimum_fee_currency", "a minimum fee needs its currency, and the other way round"
        )
    if terms.minimum_fee is not None:
        check_company_currency(ctx, terms.minimum_fee_currency, field="minimum_fee_currency")
        check_precision(terms.minimum_fee, terms.minimum_fee_currency, field="minimum_fee")
    if terms.challenge_ids:
        known = set(
            ctx.session.scalars(select(PropChallenge.id).where(PropChallenge.id.in_(terms.challenge_ids)))
        )
        missing = [i for i in terms.challenge_ids if i not in known]
        if missing:
            raise InvalidInput("challenge_ids", f"no prop challenge {missing[0]}")


def _check_links(ctx: Ctx, method: DistributionMethod, link_ids: list[int]) -> None:
    if method is DistributionMethod.MANUAL:
        if link_ids:
            raise InvalidInput(
                "promotion_link_ids", "only coupons distributed through promotion links have links"
            )
        return
    if not link_ids:
        raise InvalidInput(
            "promotion_link_ids", "choose the promotion links whose sign-ups receive the coupon"
        )
    known = set(ctx.session.scalars(select(PromotionLink.id).where(PromotionLink.id.in_(link_ids))))
    missing = [i for i in link_ids if i not in known]
    if missing:
        raise InvalidInput("promotion_link_ids", f"no promotion link {missing[0]}")


def designs() -> tuple[dict[str, object], ...]:
    return DESIGNS


# --- coupons -------------------------------------------------------------------------------------


def list_coupons(
    ctx: Ctx,
    page: PageRequest,
    *,
    status: CouponStatus | None = None,
    distribution_method: DistributionMethod | None = None,
    q: str | None = None,
) -> PageResult[Coupon]:
    stmt = select(Coupon).order_by(Coupon.id.desc())
    if status is not None:
        stmt = stmt.where(Coupon.status == status)
    if distribution_method is not None:
        stmt = stmt.where(Coupon.distribution_method == distribution_method)
    if q:
        stmt = stmt.where(func.lower(Coupon.name).like(f"%{q.lower()}%"))
    return paginate(ctx.session, stmt, page)


def get_coupon(ctx: Ctx, coupon_id: int, *, lock: bool = False) -> Coupon:
    coupon = fetch(ctx.session, Coupon, coupon_id, label="coupon")
    if lock:
        ctx.session.refresh(coupon, with_for_update={"key_share": True})
    return coupon


def create_coupon(ctx: Ctx, data: CouponIn) -> Coupon:
    ctx.require("coupons.update")
    check_terms(ctx, data)
    _check_links(ctx, data.distribution_method, data.promotion_link_ids)
    ensure_unique(ctx.session, Coupon.name, data.name, label="coupon")
    coupon = Coupon(
        name=data.name,
        use_case=data.use_case,
        distribution_method=data.distribution_method,
        promotion_link_ids=list(data.promotion_link_ids),
        allow_with_promo_codes=data.allow_with_promo_codes,
        tenant_id=ctx.tenant_id,
        **{f: getattr(data, f) for f in TERM_FIELDS},
    )
    ctx.session.add(coupon)
    ctx.session.flush()
    return coupon


def _editable(coupon: Coupon) -> None:
    if coupon.status is not CouponStatus.UNDISTRIBUTED:
        raise Conflict(f"the coupon was {coupon.status.value}: it can only be viewed now")


def update_coupon(ctx: Ctx, coupon_id: int, data: CouponUpdate) -> Coupon:
    """Change an undistributed coupon; a distributed one can only be viewed."""
    ctx.require("coupons.update")
    coupon = get_coupon(ctx, coupon_id, lock=True)
    _editable(coupon)
    for name in data.model_fields_set:
        value = getattr(data, name)
        if value is None and name in (
            "name",
            "discount_method",
            "discount_value",
            "distribution_method",
            "allow_with_promo_codes",
        ):
            raise InvalidInput(name, "cannot be empty")
        setattr(coupon, name, list(value) if isinstance(value, list) else value)
    check_terms(ctx, coupon)
    _check_links(ctx, coupon.distribution_method, coupon.promotion_link_ids)
    if "name" in data.model_fields_set:
        ensure_unique(ctx.session, Coupon.name, coupon.name, label="coupon", exclude_id=coupon.id)
    ctx.session.flush()
    return coupon


def delete_coupon(ctx: Ctx, coupon_id: int) -> None:
    ctx.require("coupons.update")
    coupon = get_coupon(ctx, coupon_id, lock=True)
    if coupon.status is not CouponStatus.UNDISTRIBUTED:
        raise Conflict(f"a {coupon.status.value} coupon cannot be deleted; revoke it instead")
    ctx.session.delete(coupon)
    ctx.session.flush()


def _popup_data(coupon: Coupon) -> dict[str, Any]:
    return {"coupon_id": coupon.id, "design_id": coupon.design_id}


def distribute(ctx: Ctx, coupon_id: int, data: DistributeIn) -> tuple[Coupon, int]:
    """Manual: grant the coupon now to the chosen clients and the members of the chosen groups (each
    once, within the user's data permissions), each with the pop-up. Promotion links: from now on,
    each client who signs up through one of the coupon's links receives it."""
    ctx.require("coupons.update")
    coupon = get_coupon(ctx, coupon_id, lock=True)
    if coupon.status is not CouponStatus.UNDISTRIBUTED:
        raise Conflict(f"the coupon was already {coupon.status.value}")
    if data.design_id not in DESIGN_IDS:
        raise InvalidInput(
            "design_id", f"no design {data.design_id!r}; choose one of {', '.join(sorted(DESIGN_IDS))}"
        )
    coupon.popup_title, coupon.popup_text, coupon.design_id = (
        data.popup_title,
        data.popup_text,
        data.design_id,
    )
    recipients = 0
    if coupon.distribution_method is DistributionMethod.MANUAL:
        clients = audience_query(ctx, data.client_ids, data.group_ids)
        recipients = _grant_all(ctx, coupon, clients)
        if recipients == 0:
            raise InvalidInput("group_ids" if data.group_ids else "client_ids", "no client to distribute to")
        popup_each(
            ctx, clients, coupon.popup_title, coupon.popup_text, source="coupons", data=_popup_data(coupon)
        )
    elif data.client_ids or data.group_ids:
        raise InvalidInput("client_ids", "a promotion-link coupon goes to new sign-ups: choose no clients")
    coupon.status, coupon.distributed_at = CouponStatus.DISTRIBUTED, utcnow()
    ctx.session.flush()
    record_action(
        ctx.session,
        entity="coupons_coupons",
        entity_id=str(coupon.id),
        action="distribute",
        after={
            "recipients": recipients,
            "client_ids": data.client_ids,
            "group_ids": data.group_ids,
            "design_id": data.design_id,
        },
    )
    return coupon, recipients


def _grant_all(ctx: Ctx, coupon: Coupon, clients: Select[Any]) -> int:
    ids = clients.subquery()
    rows = select(
        literal(ctx.tenant_id),
        literal(coupon.id),
        ids.c.id,
        literal(0),
        literal(DistributionMethod.MANUAL.value, type_=enum_type(DistributionMethod)),
        literal(utcnow(), type_=UTCDateTime),
    )
    result = tenant_insert(
        ctx.session,
        insert(CouponGrant).from_select(
            ["tenant_id", "coupon_id", "client_id", "uses", "source", "granted_at"], rows
        ),
    )
    return result.rowcount or 0


def revoke(ctx: Ctx, coupon_id: int) -> Coupon:
    """Unused uses become invalid at once; redemptions already made stay on record.

    A placed, unpaid order keeps its price and its reserved use, like a placed order whose
    challenge fee changes: the client was offered that price and may already be paying. Payment
    confirms the use (``pricing.settle``); a failed payment or a cancellation releases it, and since
    the coupon is revoked the released use can never be taken again."""
    ctx.require("coupons.update")
    coupon = get_coupon(ctx, coupon_id, lock=True)
    if coupon.status is CouponStatus.REVOKED:
        return coupon
    if coupon.status is CouponStatus.UNDISTRIBUTED:
        raise Conflict("the coupon was never distributed: edit or delete it instead")
    coupon.status, coupon.revoked_at = CouponStatus.REVOKED, utcnow()
    ctx.session.flush()
    return coupon


def grant_on_registration(ctx: Ctx, client: Client, link: PromotionLink) -> int:
    """A client signed up through a link: grant every distributed coupon of that link, with its pop-up."""
    granted = 0
    coupons = ctx.session.scalars(
        select(Coupon).where(
            Coupon.status == CouponStatus.DISTRIBUTED,
            Coupon.distribution_method == DistributionMethod.PROMOTION_LINKS,
        )
    )
    for coupon in coupons:
        if link.id not in (coupon.promotion_link_ids or []):
            continue
        try:
            with ctx.session.begin_nested():
                ctx.session.add(
                    CouponGrant(
                        coupon_id=coupon.id,
                        client_id=client.id,
                        tenant_id=ctx.tenant_id,
                        source=DistributionMethod.PROMOTION_LINKS,
                    )
                )
                ctx.session.flush()
        except IntegrityError:
            continue  # already holds it
        create_popup(
            ctx,
            client.id,
            coupon.popup_title or coupon.name,
            coupon.popup_text or "",
            source="coupons",
            data=_popup_data(coupon),
        )
        granted += 1
    return granted


# --- promo codes ---------------------------------------------------------------------------------


def list_promo_codes(
    ctx: Ctx, page: PageRequest, *, enabled: bool | None = None, q: str | None = None
) -> PageResult[PromoCode]:
    stmt = select(PromoCode).order_by(PromoCode.id.desc())
    if enabled is not None:
        stmt = stmt.where(PromoCode.enabled == enabled)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(func.lower(PromoCode.code).like(like) | func.lower(PromoCode.name).like(like))
    return paginate(ctx.session, stmt, page)


def get_promo_code(ctx: Ctx, promo_id: int) -> PromoCode:
    return fetch(ctx.session, PromoCode, promo_id, label="promo code")


def promo_by_code(ctx: Ctx, code: str) -> PromoCode | None:
    return ctx.session.scalar(select(PromoCode).where(PromoCode.code_key == code.strip().upper()))


def create_promo_code(ctx: Ctx, data: PromoCodeIn) -> PromoCode:
    ctx.require("coupons.update")
    check_terms(ctx, data)
    ensure_unique(ctx.session, PromoCode.code, data.code, label="promo code")
    promo = PromoCode(
        code=data.code,
        code_key=data.code.upper(),
        name=data.name,
        allow_with_coupons=data.allow_with_coupons,
        enabled=data.enabled,
        tenant_id=ctx.tenant_id,
        **{f: getattr(data, f) for f in TERM_FIELDS},
    )
    ctx.session.add(promo)
    ctx.session.flush()
    return promo


def _used(ctx: Ctx, promo: PromoCode) -> bool:
    return (
        ctx.session.scalar(select(Redemption.id).where(Redemption.promo_code_id == promo.id).limit(1))
        is not None
    )


def update_promo_code(ctx: Ctx, promo_id: int, data: PromoCodeUpdate) -> PromoCode:
    """Name, combination, enabled, validity end and cap can change at any time; the discount itself
    only until the code is first used, so no two clients paid under different terms."""
    ctx.require("coupons.update")
    promo = get_promo_code(ctx, promo_id)
    ctx.session.refresh(promo, with_for_update={"key_share": True})
    locked_terms = {
        "discount_method",
        "discount_value",
        "discount_currency",
        "uses_per_client",
        "minimum_fee",
        "minimum_fee_currency",
        "challenge_ids",
        "valid_from",
    }
    if data.model_fields_set & locked_terms and _used(ctx, promo):
        raise Conflict("the code was used: its discount terms cannot change any more (create a new code)")
    for name in data.model_fields_set:
        value = getattr(data, name)
        if value is None and name in (
            "name",
            "discount_method",
            "discount_value",
            "allow_with_coupons",
            "enabled",
        ):
            raise InvalidInput(name, "cannot be empty")
        setattr(promo, name, list(value) if isinstance(value, list) else value)
    check_terms(ctx, promo)
    if promo.total_cap is not None and promo.total_cap < promo.redeemed:
        raise InvalidInput("total_cap", f"{promo.redeemed} uses are already taken")
    ctx.session.flush()
    return promo


def delete_promo_code(ctx: Ctx, promo_id: int) -> None:
    ctx.require("coupons.update")
    promo = get_promo_code(ctx, promo_id)
    if _used(ctx, promo):
        raise Conflict("the code was used: disable it instead (its redemptions stay on record)")
    ctx.session.delete(promo)
    ctx.session.flush()


# --- statistics ----------------------------------------------------------------------------------


def _state(
    coupon_or_promo: Any, uses: ColumnElement[int], now: datetime, *, revoked: bool
) -> ColumnElement[str]:
    """A holder's state as SQL (so lists filter and page on it): revoked, expired, used up,
    partly used or unused. Own uses at the limit show as used up whatever else happened."""
    limit, cap = coupon_or_promo.uses_per_client, coupon_or_promo.total_cap
    used_up = uses >= limit if limit is not None else literal(False)
    cap_reached = cap is not None and coupon_or_promo.redeemed >= cap
    expired = coupon_or_promo.valid_until is not None and coupon_or_promo.valid_until < now
    if revoked:
        return case((used_up, "used_up"), else_="revoked")
    if expired:
        return case((used_up, "used_up"), else_="expired")
    if cap_reached:
        return literal("used_up", String)
    return case((used_up, "used_up"), (uses > 0, "partly_used"), else_="unused")


@dataclass
class Holder:
    client_id: int
    client_name: str
    client_email: str
    uses: int
    state: str
    challenges: list[str]
    granted_at: datetime | None = None


def _challenges_by(ctx: Ctx, column: Any, keys: list[int]) -> dict[int, list[str]]:
    """Names of the challenges each grant (or client) paid with the discount."""
    if not keys:
        return {}
    rows = ctx.session.execute(
        select(column, PropChallenge.name)
        .join(PropChallenge, PropChallenge.id == Redemption.challenge_id)
        .where(column.in_(keys), Redemption.status == RedemptionStatus.CONFIRMED)
        .distinct()
    )
    found: dict[int, list[str]] = {}
    for key, name in rows:
        found.setdefault(key, []).append(name)
    return {k: sorted(v) for k, v in found.items()}


def _coupon_holders_query(
    ctx: Ctx, coupon: Coupon, *, state: str | None, client_id: int | None
) -> Select[Any]:
    state_expr = _state(coupon, CouponGrant.uses, utcnow(), revoked=coupon.status is CouponStatus.REVOKED)
    stmt = (
        select(
            CouponGrant.id,
            Client.id,
            Client.name,
            Client.email,
            CouponGrant.uses,
            state_expr,
            CouponGrant.granted_at,
        )
        .join(Client, Client.id == CouponGrant.client_id)
        .where(CouponGrant.coupon_id == coupon.id)
    )
    stmt = scope_clients(stmt, ctx.principal)
    if state is not None:
        stmt = stmt.where(state_expr == state)
    if client_id is not None:
        stmt = stmt.where(Client.id == client_id)
    return stmt.order_by(Client.id)


def coupon_holders(
    ctx: Ctx, coupon_id: int, page: PageRequest, *, state: str | None = None, client_id: int | None = None
) -> PageResult[Holder]:
    coupon = get_coupon(ctx, coupon_id)
    stmt = _coupon_holders_query(ctx, coupon, state=state, client_id=client_id)
    rows = ctx.session.execute(stmt.limit(page.per_page).offset(page.offset)).all()
    challenges = _challenges_by(ctx, Redemption.grant_id, [r[0] for r in rows])
    items = [Holder(r[1], r[2], r[3], r[4], r[5], challenges.get(r[0], []), r[6]) for r in rows]
    return PageResult(items=items, total=count(ctx.session, stmt), page=page.page, per_page=page.per_page)


def iter_coupon_holders(ctx: Ctx, coupon_id: int, *, state: str | None = None) -> Iterator[Holder]:
    coupon = get_coupon(ctx, coupon_id)
    stmt = _coupon_holders_query(ctx, coupon, state=state, client_id=None)
    batch: list[Any] = []
    for row in ctx.session.execute(stmt.execution_options(yield_per=2000)):
        batch.append(row)
        if len(batch) == 2000:
            yield from _holders(ctx, batch)
            batch = []
    yield from _holders(ctx, batch)


def _holders(ctx: Ctx, rows: list[Any]) -> Iterator[Holder]:
    challenges = _challenges_by(ctx, Redemption.grant_id, [r[0] for r in rows])
    for r in rows:
        yield Holder(r[1], r[2], r[3], r[4], r[5], challenges.get(r[0], []), r[6])


def _redemption_counts(ctx: Ctx, *conditions: Any) -> dict[RedemptionStatus, int]:
    stmt = scope_clients(
        select(Redemption.status, func.count())
        .join(Client, Client.id == Redemption.client_id)
        .where(*conditions),
        ctx.principal,
    ).group_by(Redemption.status)
    return dict(ctx.session.execute(stmt).all())


UNLIMITED = "unlimited"


def _at_most(*limits: int | None) -> int | str:
    """The smallest of the limits that exist (None: no limit), or "unlimited"."""
    bounded = [limit for limit in limits if limit is not None]
    return min(bounded) if bounded else UNLIMITED


def coupon_statistics(ctx: Ctx, coupon_id: int) -> dict[str, Any]:
    """Over the clients the user may see (data permissions); the total cap counts every client.

    ``total_available`` is what the coupon allows in all: its holders' uses (manual coupons), at
    most the total cap; a promotion-link coupon has no fixed holders, so only its cap (None
    without one). ``remaining`` is what can still be taken: the holders' uses left, at most what
    the cap leaves; 0 once the coupon is revoked or expired."""
    coupon = get_coupon(ctx, coupon_id)
    limit = coupon.uses_per_client
    grants = scope_clients(
        select(CouponGrant.uses)
        .join(Client, Client.id == CouponGrant.client_id)
        .where(CouponGrant.coupon_id == coupon.id),
        ctx.principal,
    ).subquery()
    uses_left = (
        literal(0)
        if limit is None
        else func.coalesce(func.sum(case((grants.c.uses < limit, limit - grants.c.uses), else_=0)), 0)
    )
    holders, own_left = ctx.session.execute(select(func.count(), uses_left).select_from(grants)).one()
    cap_left = None if coupon.total_cap is None else max(coupon.total_cap - coupon.redeemed, 0)
    available: int | str | None = coupon.total_cap
    remaining: int | str = _at_most(cap_left)
    if coupon.distribution_method is DistributionMethod.MANUAL:
        available = _at_most(None if limit is None else holders * limit, coupon.total_cap)
        remaining = _at_most(None if limit is None else int(own_left), cap_left)
    expired = coupon.valid_until is not None and coupon.valid_until < utcnow()
    if coupon.status is CouponStatus.REVOKED or expired:
        remaining = 0
    redeemed = _redemption_counts(ctx, Redemption.coupon_id == coupon.id)
    return {
        "coupon_id": coupon.id,
        "status": coupon.status,
        "distribution_method": coupon.distribution_method,
        "clients_with_coupon": holders,
        "total_cap": coupon.total_cap,
        "total_available": available,
        "remaining": remaining,
        "total_redeemed": redeemed.get(RedemptionStatus.CONFIRMED, 0),
        "reserved": redeemed.get(RedemptionStatus.RESERVED, 0),
    }


def _promo_users_query(
    ctx: Ctx, promo: PromoCode, *, state: str | None, client_id: int | None
) -> Select[Any]:
    state_expr = _state(promo, PromoUsage.uses, utcnow(), revoked=not promo.enabled)
    stmt = (
        select(PromoUsage.id, Client.id, Client.name, Client.email, PromoUsage.uses, state_expr)
        .join(Client, Client.id == PromoUsage.client_id)
        .where(PromoUsage.promo_code_id == promo.id, PromoUsage.uses > 0)
    )
    stmt = scope_clients(stmt, ctx.principal)
    if state is not None:
        stmt = stmt.where(state_expr == state)
    if client_id is not None:
        stmt = stmt.where(Client.id == client_id)
    return stmt.order_by(Client.id)


def promo_users(
    ctx: Ctx, promo_id: int, page: PageRequest, *, state: str | None = None, client_id: int | None = None
) -> PageResult[Holder]:
    promo = get_promo_code(ctx, promo_id)
    stmt = _promo_users_query(ctx, promo, state=state, client_id=client_id)
    rows = ctx.session.execute(stmt.limit(page.per_page).offset(page.offset)).all()
    challenges = _promo_challenges(ctx, promo, [r[1] for r in rows])
    items = [Holder(r[1], r[2], r[3], r[4], r[5], challenges.get(r[1], [])) for r in rows]
    return PageResult(items=items, total=count(ctx.session, stmt), page=page.page, per_page=page.per_page)


def iter_promo_users(ctx: Ctx, promo_id: int, *, state: str | None = None) -> Iterator[Holder]:
    promo = get_promo_code(ctx, promo_id)
    rows = ctx.session.execute(_promo_users_query(ctx, promo, state=state, client_id=None)).all()
    challenges = _promo_challenges(ctx, promo, [r[1] for r in rows])
    for r in rows:
        yield Holder(r[1], r[2], r[3], r[4], r[5], challenges.get(r[1], []))


def _promo_challenges(ctx: Ctx, promo: PromoCode, client_ids: list[int]) -> dict[int, list[str]]:
    if not client_ids:
        return {}
    rows = ctx.session.execute(
        select(Redemption.client_id, PropChallenge.name)
        .join(PropChallenge, PropChallenge.id == Redemption.challenge_id)
        .where(
            Redemption.promo_code_id == promo.id,
            Redemption.client_id.in_(client_ids),
            Redemption.status == RedemptionStatus.CONFIRMED,
        )
        .distinct()
    )
    found: dict[int, list[str]] = {}
    for client_id, name in rows:
        found.setdefault(client_id, []).append(name)
    return {k: sorted(v) for k, v in found.items()}


def promo_statistics(ctx: Ctx, promo_id: int) -> dict[str, Any]:
    """Over the clients the user may see; ``remaining`` is what the total cap leaves (None without
    a cap), 0 while the code is disabled or once it has expired."""
    promo = get_promo_code(ctx, promo_id)
    users = count(ctx.session, _promo_users_query(ctx, promo, state=None, client_id=None))
    redeemed = _redemption_counts(ctx, Redemption.promo_code_id == promo.id)
    remaining = None if promo.total_cap is None else max(promo.total_cap - promo.redeemed, 0)
    if not promo.enabled or (promo.valid_until is not None and promo.valid_until < utcnow()):
        remaining = 0
    return {
        "promo_code_id": promo.id,
        "code": promo.code,
        "clients_who_used": users,
        "total_redeemed": redeemed.get(RedemptionStatus.CONFIRMED, 0),
        "reserved": redeemed.get(RedemptionStatus.RESERVED, 0),
        "total_cap": promo.total_cap,
        "remaining": remaining,
    }


# --- the client's own coupons ----------------------------------------------------------------------


@dataclass
class Held:
    coupon: Coupon
    grant: CouponGrant
    reason: str | None  # None when usable now

    @property
    def uses_left(self) -> int | None:
        limit = self.coupon.uses_per_client
        return None if limit is None else max(limit - self.grant.uses, 0)


def unusable_reason(coupon: Coupon, grant: CouponGrant, now: datetime) -> str | None:
    """Why a held coupon cannot be used now, or None."""
    if coupon.status is CouponStatus.REVOKED:
        return "revoked"
    if coupon.valid_from is not None and now < coupon.valid_from:
        return "not_started"
    if coupon.valid_until is not None and now > coupon.valid_until:
        return "expired"
    if coupon.uses_per_client is not None and grant.uses >= coupon.uses_per_client:
        return "used_up"
    if coupon.total_cap is not None and coupon.redeemed >= coupon.total_cap:
        return "used_up"
    return None


def held_by(ctx: Ctx, client_id: int) -> list[Held]:
    now = utcnow()
    rows = ctx.session.execute(
        select(Coupon, CouponGrant)
        .join(CouponGrant, CouponGrant.coupon_id == Coupon.id)
        .where(CouponGrant.client_id == client_id, Coupon.status != CouponStatus.UNDISTRIBUTED)
        .order_by(CouponGrant.granted_at.desc(), Coupon.id.desc())
    ).all()
    return [Held(coupon, grant, unusable_reason(coupon, grant, now)) for coupon, grant in rows]


# --- currencies ----------------------------------------------------------------------------------


def _currency_roles(terms: Any, currency: str) -> list[str]:
    roles = []
    if terms.discount_currency == currency:
        roles.append(f"discount in {currency}")
    if terms.minimum_fee_currency == currency:
        roles.append(f"minimum fee in {currency}")
    return roles


def currency_uses(ctx: Ctx, currency: str) -> list[str]:
    """Coupons and promo codes that can still apply to an order and name ``currency`` (the
    ``crm_currency_in_use`` hook): not revoked or expired; disabled codes count, as they can be
    enabled again."""
    now = utcnow()
    uses: list[str] = []
    for model, label in ((Coupon, "coupon"), (PromoCode, "promo code")):
        stmt = (
            select(model)
            .where((model.discount_currency == currency) | (model.minimum_fee_currency == currency))
            .where(model.valid_until.is_(None) | (model.valid_until >= now))
            .order_by(model.id)
        )
        if model is Coupon:
            stmt = stmt.where(Coupon.status != CouponStatus.REVOKED)
        for row in ctx.session.scalars(stmt):
            shown = row.name if model is Coupon else row.code
            uses.append(f"{label} {shown!r} ({', '.join(_currency_roles(row, currency))})")
    return uses


# --- the demo broker -----------------------------------------------------------------------------


def seed_demo(ctx: Ctx) -> None:
    """A welcome coupon sent to the first clients (the demo portal client among them), a sign-up
    coupon on the first promotion link, and a promo code."""
    first_clients = list(ctx.session.scalars(select(Client.id).order_by(Client.id).limit(25)))
    welcome = create_coupon(
        ctx,
        CouponIn(
            name="Welcome 10% off",
            discount_method=DiscountMethod.PERCENTAGE,
            discount_value=Decimal(10),
            distribution_method=DistributionMethod.MANUAL,
            uses_per_client=1,
            allow_with_promo_codes=True,
        ),
    )
    distribute(
        ctx,
        welcome.id,
        DistributeIn(
            client_ids=first_clients,
            popup_title="A welcome gift",
            popup_text="10% off your first prop challenge.",
            design_id="gold",
        ),
    )
    link_id = ctx.session.scalar(select(PromotionLink.id).order_by(PromotionLink.id).limit(1))
    if link_id is not None:
        sign_up = create_coupon(
            ctx,
            CouponIn(
                name="50 USD off Pro and Elite",
                discount_method=DiscountMethod.FIXED_AMOUNT,
                discount_value=Decimal(50),
                discount_currency="USD",
                distribution_method=DistributionMethod.PROMOTION_LINKS,
                promotion_link_ids=[link_id],
                uses_per_client=1,
                minimum_fee=Decimal(200),
                minimum_fee_currency="USD",
            ),
        )
        distribute(
            ctx,
            sign_up.id,
            DistributeIn(
                popup_title="Thanks for joining",
                popup_text="50 USD off a Pro or Elite challenge.",
                design_id="neon",
            ),
        )
    create_promo_code(
        ctx,
        PromoCodeIn(
            code="DEMO20",
            name="Demo 20%",
            discount_method=DiscountMethod.PERCENTAGE,
            discount_value=Decimal(20),
            uses_per_client=1,
            total_cap=100,
            allow_with_coupons=True,
        ),
    )
