"""Client metrics: the facts about clients that rules test (a status's criteria), core's own and
those of enabled plugins (``crm_client_metrics``), in one registry.

Every metric answers for many clients in one query (``MetricQuery.client_ids`` None means every
client of the tenant), so a batch over a million clients costs a few GROUP BYs, and one client's
re-evaluation a few indexed lookups. Rows leave out clients at the default (see
``core.contract.MetricMeasure``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any

import pycountry
from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import aliased

from core.context import Ctx
from core.contract import ClientMetric, MetricQuery
from core.crm.models import (
    Client,
    ClientGroup,
    ClientType,
    Deposit,
    DepositStatus,
    KycDocument,
    KycDocumentStatus,
    KycDocumentType,
    KycStatus,
    TradingAccount,
)
from core.db.types import money_sum
from core.plugins.dispatch import enabled_plugins

# Clients asked about at once in one statement's IN list (SQLite allows 32,766 parameters).
CHUNK = 5000


def _for_clients(stmt: Select[Any], column: Any, query: MetricQuery) -> Iterator[Select[Any]]:
    """The statement for every client, or once per chunk of the clients asked about."""
    if query.client_ids is None:
        yield stmt
        return
    ids = list(query.client_ids)
    for first in range(0, len(ids), CHUNK):
        yield stmt.where(column.in_(ids[first : first + CHUNK]))


def _rows(ctx: Ctx, stmt: Select[Any], column: Any, query: MetricQuery) -> Iterator[tuple[int, Any]]:
    for chunk in _for_clients(stmt, column, query):
        yield from ctx.session.execute(chunk)


def counted_deposit(currency: Any = None, since: Any = None, until: Any = None) -> Any:
    """The condition a deposit meets to count for the deposit metrics: approved, in ``currency``
    (any when None), decided between ``since`` and ``until`` (a window; either end may be None).
    The bounds are values or SQL expressions (a plugin measuring in one statement passes bound
    parameters), so every reader of these metrics counts the same deposits."""
    condition = Deposit.status == DepositStatus.APPROVED
    narrower = counted_among_approved(currency, since, until)
    return condition if narrower is None else condition & narrower


def counted_among_approved(currency: Any = None, since: Any = None, until: Any = None) -> Any:
    """``counted_deposit`` without its first part, for a statement whose rows are the approved
    deposits already (``WHERE counted_deposit()``) and that aggregates several metrics at once:
    each aggregate then tests only what sets its deposits apart. None when nothing does (every
    approved deposit counts)."""
    parts = []
    if currency is not None:
        parts.append(Deposit.currency == currency)
    if since is not None:
        parts.append(Deposit.decided_at >= since)
    if until is not None:
        parts.append(Deposit.decided_at <= until)
    return and_(*parts) if parts else None


def _approved_deposits(query: MetricQuery, currency: str | None = None) -> Any:
    if query.window_days is None:
        return counted_deposit(currency)
    return counted_deposit(currency, query.now - timedelta(days=query.window_days), query.now)


def _deposits_sum(ctx: Ctx, query: MetricQuery) -> Iterable[tuple[int, Any]]:
    stmt = (
        select(Deposit.client_id, money_sum(Deposit.amount))
        .where(_approved_deposits(query, query.currency))
        .group_by(Deposit.client_id)
    )
    return _rows(ctx, stmt, Deposit.client_id, query)


def _deposits_count(ctx: Ctx, query: MetricQuery) -> Iterable[tuple[int, Any]]:
    stmt = (
        select(Deposit.client_id, func.count()).where(_approved_deposits(query)).group_by(Deposit.client_id)
    )
    return _rows(ctx, stmt, Deposit.client_id, query)


def _column(attribute: Any) -> Any:
    def measure(ctx: Ctx, query: MetricQuery) -> Iterable[tuple[int, Any]]:
        stmt = select(Client.id, attribute).where(attribute.is_not(None))
        return ((client_id, str(value)) for client_id, value in _rows(ctx, stmt, Client.id, query))

    return measure


def _kyc_documents(ctx: Ctx, query: MetricQuery) -> Iterable[tuple[int, Any]]:
    stmt = (
        select(KycDocument.client_id, KycDocument.doc_type)
        .where(KycDocument.status == KycDocumentStatus.VERIFIED)
        .distinct()
    )
    return ((client_id, str(doc)) for client_id, doc in _rows(ctx, stmt, KycDocument.client_id, query))


def _account_types(ctx: Ctx, query: MetricQuery) -> Iterable[tuple[int, Any]]:
    stmt = (
        select(TradingAccount.client_id, TradingAccount.account_type)
        .where(TradingAccount.archived.is_(False))
        .distinct()
    )
    return _rows(ctx, stmt, TradingAccount.client_id, query)


def _days_registered(ctx: Ctx, query: MetricQuery) -> Iterable[tuple[int, Any]]:
    stmt = select(Client.id, Client.created_at)
    for client_id, created in _rows(ctx, stmt, Client.id, query):
        yield client_id, max((query.now - created).days, 0)


def _direct_downlines(ctx: Ctx, query: MetricQuery) -> Iterable[tuple[int, Any]]:
    stmt = (
        select(Client.referrer_id, func.count())
        .where(Client.referrer_id.is_not(None))
        .group_by(Client.referrer_id)
    )
    return _rows(ctx, stmt, Client.referrer_id, query)


def _all_downlines(ctx: Ctx, query: MetricQuery) -> Iterable[tuple[int, Any]]:
    if query.client_ids is not None and len(query.client_ids) <= CHUNK:
        return _downlines_below(ctx, query.client_ids)
    return _downlines_of_everyone(ctx, query.client_ids)


def _downlines_below(ctx: Ctx, roots: Sequence[int]) -> Iterable[tuple[int, Any]]:
    """Each root's downlines at every depth: one recursive query walking down from the roots."""
    if not roots:
        return []
    tree = (
        select(Client.id.label("root"), Client.id.label("id"), func.cast(0, Client.id.type).label("hop"))
        .where(Client.id.in_(list(roots)))
        .cte("downline_tree", recursive=True)
    )
    child = aliased(Client)
    tree = tree.union_all(
        select(tree.c.root, child.id, tree.c.hop + 1)
        .join(child, child.referrer_id == tree.c.id)
        .where(tree.c.hop < 10_000)
    )
    stmt = select(tree.c.root, func.count()).where(tree.c.hop > 0).group_by(tree.c.root)
    return ctx.session.execute(stmt)


def _downlines_of_everyone(ctx: Ctx, wanted: Sequence[int] | None) -> Iterable[tuple[int, Any]]:
    """Subtree sizes for the whole referral forest in one pass, children before parents."""
    ids: list[int] = []
    parents: list[int | None] = []
    for client_id, referrer_id in ctx.session.execute(select(Client.id, Client.referrer_id)):
        ids.append(client_id)
        parents.append(referrer_id)
    index = {client_id: i for i, client_id in enumerate(ids)}
    parent = [-1 if p is None else index.get(p, -1) for p in parents]
    children: list[list[int]] = [[] for _ in ids]
    for i, p in enumerate(parent):
        if p >= 0:
            children[p].append(i)
    order = [i for i, p in enumerate(parent) if p < 0]
    for i in order:  # breadth first from the roots; the list grows as it is walked
        order.extend(children[i])
    size = [0] * len(ids)
    for i in reversed(order):
        p = parent[i]
        if p >= 0:
            size[p] += size[i] + 1
    keep = None if wanted is None else set(wanted)
    return ((ids[i], n) for i, n in enumerate(size) if n and (keep is None or ids[i] in keep))


@functools.cache
def _countries() -> tuple[tuple[str, str], ...]:
    # Worked out once per process: a checklist that names countries is written at every change.
    return tuple(sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda pair: pair[1]))


def _country_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return list(_countries())


def _language_choices(ctx: Ctx) -> list[tuple[str, str]]:
    used = ctx.session.scalars(select(Client.language).distinct().limit(200))
    choices = {code: (pycountry.languages.get(alpha_2=code) or code) for code in {"en", *used}}
    return sorted(((code, getattr(lang, "name", code)) for code, lang in choices.items()), key=lambda p: p[1])


def _group_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [
        (str(group_id), name)
        for group_id, name in ctx.session.execute(
            select(ClientGroup.id, ClientGroup.name).order_by(ClientGroup.name)
        )
    ]


def _account_type_choices(ctx: Ctx) -> list[tuple[str, str]]:
    types = ctx.session.scalars(
        select(TradingAccount.account_type).distinct().order_by(TradingAccount.account_type).limit(500)
    )
    return [(t, t) for t in types]


def _enum_choices(enum: Any) -> Any:
    return lambda ctx: [(member.value, member.value.replace("_", " ").capitalize()) for member in enum]


CORE_METRICS: tuple[ClientMetric, ...] = (
    ClientMetric(
        name="deposits_sum",
        label="Approved deposits",
        kind="amount",
        measure=_deposits_sum,
        description="The sum of the client's approved deposits in one currency.",
        per_currency=True,
        windowed=True,
    ),
    ClientMetric(
        name="deposits_count",
        label="Number of approved deposits",
        kind="number",
        measure=_deposits_count,
        description="How many deposits of the client were approved, in any currency.",
        windowed=True,
    ),
    ClientMetric(
        name="kyc_status",
        label="KYC status",
        kind="choice",
        measure=_column(Client.kyc_status),
        choices=_enum_choices(KycStatus),
    ),
    ClientMetric(
        name="kyc_documents_verified",
        label="Verified documents",
        kind="set",
        measure=_kyc_documents,
        description="The types of the client's KYC documents that were verified.",
        choices=_enum_choices(KycDocumentType),
    ),
    ClientMetric(
        name="country",
        label="Country",
        kind="choice",
        measure=_column(Client.country),
        choices=_country_choices,
    ),
    ClientMetric(
        name="language",
        label="Language",
        kind="choice",
        measure=_column(Client.language),
        choices=_language_choices,
    ),
    ClientMetric(
        name="trading_account_types",
        label="Trading account types held",
        kind="set",
        measure=_account_types,
        description="The types of the client's open (not archived) trading accounts.",
        choices=_account_type_choices,
    ),
    ClientMetric(
        name="client_type",
        label="Client type",
        kind="choice",
        measure=_column(Client.client_type),
        choices=lambda ctx: [(ClientType.TRADER.value, "Trader"), (ClientType.IB.value, "IB")],
    ),
    ClientMetric(
        name="client_group",
        label="Client group",
        kind="choice",
        measure=_column(Client.group_id),
        choices=_group_choices,
    ),
    ClientMetric(
        name="days_registered",
        label="Days since registration",
        kind="number",
        measure=_days_registered,
        unit="days",
    ),
    ClientMetric(
        name="direct_downlines",
        label="Direct downlines",
        kind="number",
        measure=_direct_downlines,
        description="Clients who signed up under this IB directly.",
    ),
    ClientMetric(
        name="all_downlines",
        label="Downlines at every level",
        kind="number",
        measure=_all_downlines,
        description="Direct and indirect downlines together: the IB's whole referral tree below them.",
    ),
)


def available_metrics(ctx: Ctx) -> dict[str, ClientMetric]:
    """Core's metrics and those of the plugins enabled for the tenant, by name."""
    metrics = {metric.name: metric for metric in CORE_METRICS}
    host = getattr(ctx.runtime, "plugins", None)
    if host is not None:
        for name in sorted(enabled_plugins(ctx)):
            plugin = host.plugins.get(name)
            for metric in plugin.metrics if plugin is not None else ():
                metrics[metric.name] = metric
    return metrics
