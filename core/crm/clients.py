"""Clients: traders and IBs, their referral tree, assignment and suspension."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, RowMapping, Select, func, literal, select, union_all, update
from sqlalchemy.orm import aliased

from core.access.auth import normalize_email, revoke_tokens, set_password
from core.access.credentials import check_password_strength
from core.access.models import PrincipalKind
from core.access.service import assigned_user, check_team
from core.audit.recorder import LogEntry, record_actions
from core.context import Ctx
from core.crm.client_events import announce_changes, watched_values
from core.crm.data_permissions import scope_clients
from core.crm.groups import get_group
from core.crm.models import Client, ClientGroup, ClientType, KycStatus, PromotionLink, Rank
from core.crm.ranks import resolve_rank_and_tier
from core.crm.schemas.clients import ClientIn, ClientUpdate
from core.db.base import utcnow
from core.db.bulk import key_chunks, one_of
from core.db.paging import PageRequest, PageResult, count, paginate_rows
from core.db.session import serialize_on
from core.errors import Conflict, FieldError, InvalidInput, NotFound
from core.plugins.dispatch import fire, listening
from core.schemas import apply_changes

# A referral chain longer than this is treated as corrupt rather than walked forever.
MAX_TREE_DEPTH = 10_000


@dataclass(frozen=True)
class ClientFilter:
    q: str | None = None  # name or e-mail contains
    client_type: ClientType | None = None
    group_id: int | None = None
    rank_id: int | None = None
    tier_id: int | None = None
    referrer_id: int | None = None
    assigned_user_id: int | None = None
    team_id: int | None = None
    promotion_link_id: int | None = None
    kyc_status: KycStatus | None = None
    country: str | None = None
    suspended: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def _filtered(ctx: Ctx, filters: ClientFilter) -> Select[Any]:
    stmt = scope_clients(select(Client), ctx.principal)
    for name in (
        "client_type",
        "group_id",
        "rank_id",
        "tier_id",
        "referrer_id",
        "assigned_user_id",
        "team_id",
        "promotion_link_id",
        "kyc_status",
        "country",
        "suspended",
    ):
        value = getattr(filters, name)
        if value is not None:
            stmt = stmt.where(getattr(Client, name) == value)
    if filters.q:
        like = f"%{filters.q.lower()}%"
        stmt = stmt.where(func.lower(Client.name).like(like) | func.lower(Client.email).like(like))
    if filters.created_from is not None:
        stmt = stmt.where(Client.created_at >= filters.created_from)
    if filters.created_to is not None:
        stmt = stmt.where(Client.created_at < filters.created_to)
    return stmt


# Every column of a client, selected as plain rows: a list page reads 50 of them and needs no
# ORM object (identity map, change tracking), which cost a quarter of the request.
CLIENT_COLUMNS = tuple(getattr(Client, column.key) for column in Client.__mapper__.column_attrs)


def list_clients(ctx: Ctx, filters: ClientFilter, page: PageRequest) -> PageResult[Row[Any]]:
    """One page of the clients the caller may see, as rows with every column of a client."""
    stmt = _filtered(ctx, filters).with_only_columns(*CLIENT_COLUMNS).order_by(Client.id)
    return paginate_rows(ctx.session, stmt, page)


def iter_clients(ctx: Ctx, filters: ClientFilter) -> Iterator[RowMapping]:
    """Every matching client with every column, streamed in batches (the CSV export). Plain rows
    here too: a report of ten thousand clients spent half its time building objects."""
    stmt = _filtered(ctx, filters).with_only_columns(*CLIENT_COLUMNS).order_by(Client.id)
    yield from ctx.session.execute(stmt.execution_options(yield_per=1000)).mappings()


def get_client(ctx: Ctx, client_id: int, *, field: str | None = None, for_update: bool = False) -> Client:
    """A client the caller may see; otherwise 404 (or 422 naming ``field`` for a reference)."""
    stmt = scope_clients(select(Client).where(Client.id == client_id), ctx.principal)
    if for_update:
        # FOR NO KEY UPDATE: other transactions' foreign-key checks against this row (KEY SHARE)
        # need not wait for us, which would otherwise deadlock two re-parentings.
        stmt = stmt.with_for_update(key_share=True)
    client = ctx.session.scalar(stmt)
    if client is None:
        if field is not None:
            raise InvalidInput(field, f"no client {client_id}")
        raise NotFound("client not found")
    return client


def _check_email_free(ctx: Ctx, email: str, exclude_id: int | None = None) -> None:
    stmt = select(Client.id).where(Client.email == email)
    if exclude_id is not None:
        stmt = stmt.where(Client.id != exclude_id)
    if ctx.session.scalar(stmt) is not None:
        raise Conflict("a client with this email exists", fields=[FieldError("email", "already in use")])


def ancestor_ids(ctx: Ctx, client_id: int) -> list[int]:
    """The client's uplines, nearest first."""
    up = (
        select(Client.referrer_id.label("id"), literal(1).label("hop"))
        .where(Client.id == client_id)
        .cte("uplines", recursive=True)
    )
    parent = aliased(Client)
    up = up.union_all(
        select(parent.referrer_id, up.c.hop + 1)
        .join(up, parent.id == up.c.id)
        .where(up.c.hop < MAX_TREE_DEPTH)
    )
    return list(ctx.session.scalars(select(up.c.id).where(up.c.id.is_not(None)).order_by(up.c.hop)))


def _check_referrer(ctx: Ctx, client_id: int | None, referrer_id: int | None) -> None:
    if referrer_id is None:
        return
    get_client(ctx, referrer_id, field="referrer_id")
    if client_id is None:
        return
    if referrer_id == client_id or client_id in ancestor_ids(ctx, referrer_id):
        raise InvalidInput("referrer_id", "would make a cycle in the referral tree")


def new_client(
    ctx: Ctx,
    data: ClientIn,
    *,
    promotion_link: PromotionLink | None = None,
    default_assignee: int | None = None,
) -> Client:
    """Validate and add a client; shared by staff creation and portal self-registration."""
    email = normalize_email(str(data.email))
    _check_email_free(ctx, email)
    if data.group_id is not None:
        get_group(ctx, data.group_id, field="group_id")
    rank_id, tier_id = resolve_rank_and_tier(ctx, data.rank_id, data.tier_id)
    _check_referrer(ctx, None, data.referrer_id)
    assignee = assigned_user(ctx, data.assigned_user_id or default_assignee, "assigned_user_id")
    team_id = data.team_id if data.team_id is not None else (assignee.team_id if assignee else None)
    check_team(ctx, team_id)
    client = Client(
        client_type=data.client_type,
        name=data.name,
        email=email,
        phone=data.phone,
        country=data.country,
        language=data.language,
        group_id=data.group_id,
        rank_id=rank_id,
        tier_id=tier_id,
        referrer_id=data.referrer_id,
        assigned_user_id=assignee.id if assignee else None,
        team_id=team_id,
        promotion_link_id=promotion_link.id if promotion_link else None,
        tenant_id=ctx.tenant_id,
    )
    if data.portal_password is not None:
        check_password_strength(data.portal_password, email=email, field="portal_password")
        set_password(ctx.session, client, data.portal_password)
    ctx.session.add(client)
    ctx.session.flush()
    return client


def create_client(ctx: Ctx, data: ClientIn) -> Client:
    """A client created by staff or a module: announced as a registration without a link."""
    ctx.require("clients.create")
    creator = ctx.principal.user_id if ctx.principal is not None else None
    client = new_client(ctx, data, default_assignee=creator)
    fire(ctx, "crm_client_registered", client=client, promotion_link=None)
    return client


def update_client(ctx: Ctx, client_id: int, data: ClientUpdate) -> Client:
    ctx.require("clients.update")
    if "referrer_id" in data.model_fields_set:
        # Two concurrent re-parentings could each pass the cycle check and together close a
        # loop; serialize them per tenant, before taking any row lock.
        serialize_on(ctx.session, f"referral-tree:{ctx.tenant_id}")
    client = get_client(ctx, client_id, for_update=True)
    before = watched_values(client)
    changes = data.changes()
    if "email" in changes:
        changes["email"] = normalize_email(str(changes["email"]))
        _check_email_free(ctx, changes["email"], exclude_id=client.id)
    if changes.get("group_id") is not None:
        get_group(ctx, changes["group_id"], field="group_id")
    if "rank_id" in changes or "tier_id" in changes:
        rank_id = changes.get("rank_id", client.rank_id)
        tier_id = changes.get("tier_id")
        if "tier_id" not in changes and rank_id == client.rank_id:
            tier_id = client.tier_id
        changes["rank_id"], changes["tier_id"] = resolve_rank_and_tier(ctx, rank_id, tier_id)
    if changes.get("referrer_id", client.referrer_id) != client.referrer_id:
        _check_referrer(ctx, client.id, changes["referrer_id"])
    if "team_id" in changes:
        check_team(ctx, changes["team_id"])
    if "assigned_user_id" in changes:
        assignee = assigned_user(ctx, changes["assigned_user_id"], "assigned_user_id")
        changes["assigned_user_id"] = assignee.id if assignee else None
        if "team_id" not in changes and assignee is not None:
            changes["team_id"] = assignee.team_id  # the client follows its new assignee's team
    suspending = changes.get("suspended") is True and not client.suspended
    apply_changes(client, changes)
    if suspending:
        revoke_tokens(ctx.session, PrincipalKind.CLIENT, client.id)
    ctx.session.flush()
    announce_changes(ctx, client, before)
    return client


def set_client_group(ctx: Ctx, client_id: int, group_id: int | None) -> bool:
    """Move a client into a client group (None: out of any), as a module does for its own reasons
    (a status that carries a group): logged and announced (``crm_client_updated``) like staff's
    change. The caller has checked its own permission. Returns whether the client moved."""
    client = get_client(ctx, client_id, for_update=True)
    if group_id is not None:
        get_group(ctx, group_id, field="group_id")
    if client.group_id == group_id:
        return False
    before = watched_values(client)
    client.group_id = group_id
    ctx.session.flush()
    announce_changes(ctx, client, before)
    return True


@dataclass(frozen=True)
class TierMove:
    """Move ``client_id`` to ``new_tier_id`` if they still hold ``rank_id`` and ``expected_tier_id``."""

    client_id: int
    rank_id: int
    expected_tier_id: int | None
    new_tier_id: int


def change_tiers_if(ctx: Ctx, moves: Iterable[TierMove]) -> set[int]:
    """Compare-and-set tier changes, set-based (one UPDATE per kind of move and thousand clients):
    safe against concurrent changes, each announced to modules (``crm_client_updated``) and
    written to the operation log. Returns the clients moved. The caller has checked its own
    permission; each new tier must belong to its rank."""
    groups: dict[tuple[int, int | None, int], list[int]] = {}
    for move in moves:
        groups.setdefault((move.rank_id, move.expected_tier_id, move.new_tier_id), []).append(move.client_id)
    moved: dict[int, tuple[int | None, int]] = {}
    for (rank_id, expected, new), client_ids in groups.items():
        for chunk in key_chunks(ctx.session, client_ids):
            statement = (
                update(Client)
                .where(
                    one_of(ctx.session, Client.id, chunk),
                    Client.rank_id == rank_id,
                    Client.tier_id.is_not_distinct_from(expected),
                )
                .values(tier_id=new, updated_at=utcnow())
                .returning(Client.id)
                .execution_options(synchronize_session=False)
            )
            for client_id in ctx.session.scalars(statement):
                moved[client_id] = (expected, new)
    record_actions(
        ctx.session,
        entity="clients",
        action="update",
        entries=[
            LogEntry(str(c), {"tier_id": before}, {"tier_id": after}, client_id=c)
            for c, (before, after) in moved.items()
        ],
    )
    if not listening(ctx, "crm_client_updated"):
        return set(moved)  # no module would hear of the moves: the clients need not be read
    for chunk in key_chunks(ctx.session, sorted(moved)):
        read = select(Client).where(one_of(ctx.session, Client.id, chunk))
        for client in ctx.session.scalars(read.execution_options(populate_existing=True)):
            announce_changes(ctx, client, {"tier_id": moved[client.id][0]})
    return set(moved)


def change_tier_if(
    ctx: Ctx, client_id: int, *, rank_id: int, expected_tier_id: int | None, new_tier_id: int
) -> bool:
    """One client's compare-and-set tier change (see ``change_tiers_if``)."""
    return bool(change_tiers_if(ctx, [TierMove(client_id, rank_id, expected_tier_id, new_tier_id)]))


def downlines(
    ctx: Ctx, client_id: int, page: PageRequest, *, max_depth: int | None = None
) -> PageResult[Any]:
    """Direct (depth 1) and indirect downlines of a client the caller may see, limited to the
    downlines the caller may see too. Rows are ``(Client, depth)``."""
    root = get_client(ctx, client_id)
    limit = min(max_depth or MAX_TREE_DEPTH, MAX_TREE_DEPTH)
    tree = (
        select(Client.id.label("id"), literal(1).label("depth"))
        .where(Client.referrer_id == root.id)
        .cte("downlines", recursive=True)
    )
    child = aliased(Client)
    tree = tree.union_all(
        select(child.id, tree.c.depth + 1)
        .join(tree, child.referrer_id == tree.c.id)
        .where(tree.c.depth < limit)
    )
    stmt = scope_clients(select(Client, tree.c.depth).join(tree, Client.id == tree.c.id), ctx.principal)
    total = count(ctx.session, stmt)
    rows = ctx.session.execute(
        stmt.order_by(tree.c.depth, Client.id).limit(page.per_page).offset(page.offset)
    ).all()
    return PageResult(
        items=[(row[0], row[1]) for row in rows], total=total, page=page.page, per_page=page.per_page
    )


def uplines(ctx: Ctx, client_id: int) -> list[Client]:
    """The referral chain above a client, nearest first (only uplines the caller may see)."""
    get_client(ctx, client_id)
    ids = ancestor_ids(ctx, client_id)
    if not ids:
        return []
    found = {
        c.id: c
        for c in ctx.session.scalars(scope_clients(select(Client).where(Client.id.in_(ids)), ctx.principal))
    }
    return [found[i] for i in ids if i in found]


def client_names(ctx: Ctx, client_ids: Iterable[int]) -> dict[int, str]:
    """The names of those of these clients the caller may see (lists of deposits, documents)."""
    ids = sorted(set(client_ids))
    if not ids:
        return {}
    stmt = scope_clients(select(Client.id, Client.name).where(Client.id.in_(ids)), ctx.principal)
    return {client_id: name for client_id, name in ctx.session.execute(stmt)}


def direct_referral_counts(ctx: Ctx, client_ids: Iterable[int]) -> dict[int, int]:
    """How many direct referrals (that the caller may see) each of these clients has."""
    ids = sorted(set(client_ids))
    if not ids:
        return {}
    stmt = scope_clients(
        select(Client.referrer_id, func.count()).where(Client.referrer_id.in_(ids)), ctx.principal
    ).group_by(Client.referrer_id)
    return {referrer_id: n for referrer_id, n in ctx.session.execute(stmt)}


@dataclass(frozen=True)
class FilterChoices:
    """What a clients filter offers to choose from: the company's groups and ranks, by name."""

    groups: list[tuple[int, str]]
    ranks: list[tuple[int, str]]


def filter_choices(ctx: Ctx) -> FilterChoices:
    """The groups and ranks, as (id, name), in one query (a list page shows them on every load)."""
    groups = select(literal("g").label("kind"), ClientGroup.id, ClientGroup.name, literal(0).label("sort"))
    ranks = select(literal("r").label("kind"), Rank.id, Rank.name, Rank.sort_order.label("sort"))
    rows = ctx.session.execute(union_all(groups, ranks).order_by("kind", "sort", "name")).all()
    return FilterChoices(
        groups=[(row.id, row.name) for row in rows if row.kind == "g"],
        ranks=[(row.id, row.name) for row in rows if row.kind == "r"],
    )
