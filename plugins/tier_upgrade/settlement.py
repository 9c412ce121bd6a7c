"""A rule's weekly settlement: who, among the clients of the rule's rank and target, now qualifies
for a higher tier — from approved deposit requests up to the cut-off, over the whole referral tree
in one pass (``metrics``). Auto rules upgrade at once (compare-and-set on the client's rank and
tier); manual rules record Pending.

A settlement never holds the database for its whole run, so other tenants' writes go on while it
works: one short transaction creates its ``Settlement`` row (state running), the tree, the deposit
sums and the candidates are read and computed in a read-only snapshot, and the records, tier
moves and expiries of older open records are written in batches (sized by the time each takes,
``BatchSize``), one short transaction each, in client-id order, each advancing the row's cursor in
the same transaction and the last one marking it finished. Exactly once per (rule, settlement
time) and client: a re-run of a finished settlement is a no-op; a run whose worker died is taken
over by the next worker (the scheduler's lease), which computes again and goes on after the
cursor, with the same counters a clean run has. Every batch commits only while its worker holds
the run's lease, and only while its run owns the settlement.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError

from core.sdk import (
    BatchSize,
    Client,
    ClientType,
    Conflict,
    Ctx,
    Deposit,
    DepositKind,
    DepositStatus,
    InvalidInput,
    JobContext,
    NotFound,
    Progress,
    Rank,
    Tenant,
    Tier,
    TierMove,
    change_tiers_if,
    display_amount,
    holds_lease,
    id_in_range,
    insert_rows,
    money_sum,
    money_units,
    money_units_int64,
    one_of,
    read_columns,
    read_columns_later,
    read_columns_together,
    record_action,
    utcnow,
)
from core.sdk.testing import RunTrigger
from plugins.tier_upgrade import metrics as tree
from plugins.tier_upgrade.models import (
    CurrencyRelation,
    RecordStatus,
    Settlement,
    SettlementState,
    TierCriterion,
    TierRule,
    UpgradeMethod,
    UpgradeRecord,
    UpgradeTarget,
)
from plugins.tier_upgrade.service import apply_upgrade

SUNDAY = 6
TARGET_TYPES = {
    UpgradeTarget.TRADERS: [ClientType.TRADER],
    UpgradeTarget.IBS: [ClientType.IB],
    UpgradeTarget.BOTH: [ClientType.TRADER, ClientType.IB],
}


def settlement_moment(rule: TierRule, at: datetime) -> datetime:
    """The rule's latest Sunday settlement time at or before ``at`` (UTC)."""
    zone = ZoneInfo(rule.timezone)
    local = at.astimezone(zone)
    hour, minute = (int(part) for part in rule.settlement_time.split(":"))
    day = local.date() - timedelta(days=(local.weekday() - SUNDAY) % 7)
    moment = datetime.combine(day, time(hour, minute), tzinfo=zone)
    if moment > local:
        moment = datetime.combine(day - timedelta(days=7), time(hour, minute), tzinfo=zone)
    return moment.astimezone(UTC)


def run_job(job: JobContext) -> None:
    """The scheduler's entry point; the schedule's key is the rule id. A scheduled run settles its
    Sunday; a run by hand (``crm jobs run``) settles as of now, or as of ``--arg at=ISO-TIME`` (not
    in the future: a settlement counts what has happened, and must not take the slot of a Sunday
    still to come)."""
    rule_id = _rule_id(job.key)
    at = None  # the rule's Sunday of the scheduled period
    if job.trigger == RunTrigger.MANUAL:
        at = _as_of(job.args["at"]) if "at" in job.args else job.period.replace(microsecond=0)
    settle(job, rule_id, at)


def _rule_id(key: str) -> int:
    if not key:
        raise ValueError("name the rule: --rule RULE_ID")
    if not (key.isascii() and key.isdigit()):
        raise ValueError(f"{key[:40]!r} is not a rule id: name the rule with --rule RULE_ID")
    if not id_in_range(int(key)):
        raise NotFound(f"no tier upgrade rule {key}")
    return int(key)


def _as_of(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            raise InvalidInput("at", "give a time-zone offset, e.g. 2026-11-22T18:00:00+00:00")
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput("at", f"{str(value)[:40]!r} is not an ISO 8601 time") from None
    if moment > utcnow():
        raise InvalidInput(
            "at",
            f"{moment.isoformat()} is in the future: a settlement counts the deposits decided up to "
            "its time, so it can be as of now or earlier",
        )
    return moment


def _approved_requests(cutoff: datetime, currencies: list[str]) -> Any:
    """The deposits every settlement adds up: approved requests decided up to the cut-off, in the
    tenant's base currencies."""
    return (
        Deposit.status == DepositStatus.APPROVED,
        Deposit.kind == DepositKind.REQUEST,
        Deposit.decided_at <= cutoff,
        Deposit.currency.in_(currencies),
    )


def _deposit_sums_later(
    ctx: Ctx, cutoff: datetime, currencies: list[str]
) -> Callable[[], list[Sequence[Any]]]:
    """Start reading the deposit sums per client and currency — the one aggregate every
    settlement pays for — from the snapshot, and return a function that waits for them as
    columns: clients, currency positions and units. Meanwhile the settlement builds its tree (the
    sums are read on another connection at the same snapshot: ``read_columns_later``).

    They travel as 64-bit integers (``money_units_int64``, binary on PostgreSQL), one row per client
    with a column of units per currency (a GROUP BY over the client alone costs PostgreSQL's server
    a third less than over client and currency). A sum out of ``[0, EXACT_INT64)`` (a negative one,
    or one too large to add up safely as 64-bit integers) has all of them read again exactly, as
    Python integers."""
    columns = [money_units_int64(Deposit.amount, Deposit.currency == currency) for currency in currencies]
    sums = select(Deposit.client_id, *columns).where(*_approved_requests(cutoff, currencies))
    later = read_columns_later(ctx.session, [(sums.group_by(Deposit.client_id), None)], integers={0})

    def read() -> list[Sequence[Any]]:
        [(clients, *units)] = later()
        if all(not len(column) or 0 <= column.min() <= column.max() < tree.EXACT_INT64 for column in units):
            return _by_currency(clients, units)
        return _exact_sums(ctx, cutoff, currencies)

    return read


def _exact_sums(ctx: Ctx, cutoff: datetime, currencies: list[str]) -> list[Sequence[Any]]:
    """The deposit sums exact at any size: the server writes each sum's units as text. All rows at
    once (a server-side cursor makes PostgreSQL plan for the first rows), as columns."""
    position = case({c: at for at, c in enumerate(currencies)}, value=Deposit.currency)
    clients, positions, units = read_columns(
        ctx.session,
        select(Deposit.client_id, position, money_units(money_sum(Deposit.amount)))
        .where(*_approved_requests(cutoff, currencies))
        .group_by(Deposit.client_id, Deposit.currency),
    )
    return [clients, np.asarray(positions, dtype=np.int64), units]


def _by_currency(clients: np.ndarray, units: list[np.ndarray]) -> list[np.ndarray]:
    """A column of units per currency (0: none) as (clients, currency positions, units) rows."""
    held = [np.flatnonzero(column) for column in units]
    if not held:  # a broker without base currencies counts nothing
        return [np.zeros(0, dtype=np.int64)] * 3
    return [
        np.concatenate([clients[rows] for rows in held]),
        np.concatenate([np.full(len(rows), at, dtype=np.int64) for at, rows in enumerate(held)]),
        np.concatenate([column[rows] for column, rows in zip(units, held, strict=True)]),
    ]


def _met(
    criterion: TierCriterion, relation: CurrencyRelation, metrics: tree.TreeMetrics, positions: np.ndarray
) -> np.ndarray:
    """Which of the clients at ``positions`` meet the criterion (all at once)."""
    result = np.full(len(positions), relation is CurrencyRelation.AND)
    for amount in criterion.amounts:
        met = metrics.downline_totals(positions, amount.currency) >= tree.to_units(amount.downline_total)
        if criterion.branches_required:
            reached = metrics.qualifying_branches(amount.currency, tree.to_units(amount.branch_minimum))
            met &= reached[positions] >= criterion.branches_required
        result = result & met if relation is CurrencyRelation.AND else result | met
    return result


def _snapshot(
    criterion: TierCriterion, metrics: tree.TreeMetrics, at: int, currencies: list[str]
) -> dict[str, Any]:
    """The figures that justified the record: totals per currency, and how many branches reached
    the new tier's branch minimum."""
    minimums = {a.currency: tree.to_units(a.branch_minimum) for a in criterion.amounts}
    return {
        "downline_totals": {
            c: str(display_amount(tree.from_units(metrics.downline_total(at, c)), c)) for c in currencies
        },
        "qualifying_branches": {
            c: int(metrics.qualifying_branches(c, minimums[c])[at]) for c in sorted(minimums)
        },
        "branches": metrics.branch_count(at),
    }


@dataclass
class _Batch:
    """Consecutive candidates (in client-id order) written in one transaction."""

    last_client_id: int | None
    checked: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)  # UpgradeRecord rows, as inserted
    final: bool = False  # the settlement's last: it finishes it


@dataclass
class _Plan:
    """What a settlement works from, read in one snapshot (the rows detached from its session):
    the rule, its rank's tiers, the tree's metrics and the candidates after the cursor."""

    rule: TierRule
    rank: Rank
    tiers: dict[int, Tier]
    ladder: list[TierCriterion]  # highest tier first
    metrics: tree.TreeMetrics
    currencies: list[str]
    candidates: list[Any]  # (client id, client type, tier id), by client id
    positions: list[int]  # per candidate: its position in the tree's metrics
    best: list[int]  # per candidate: the ladder's index of the highest criterion met, -1 if none
    settlement_at: datetime
    cursor: int | None
    batch_size: BatchSize  # records per batch, measured as it goes

    @property
    def settlement_date(self) -> date:
        """The settlement's Sunday in the rule's time zone."""
        return self.settlement_at.astimezone(ZoneInfo(self.rule.timezone)).date()

    def batches(self) -> Iterator[_Batch]:
        """The candidates' records, batch after batch: computed while no transaction is open, so
        that on SQLite other writers get the lock between two batches."""
        batch = _Batch(self.cursor)
        for (client_id, client_type, tier_id), at, best in zip(
            self.candidates, self.positions, self.best, strict=True
        ):
            if len(batch.records) >= self.batch_size.size:
                yield batch
                batch = _Batch(batch.last_client_id)
            batch.checked += 1
            batch.last_client_id = client_id
            record = self._record(client_id, client_type, tier_id, at, best) if best >= 0 else None
            if record is not None:
                batch.records.append(record)
        batch.final = True
        yield batch

    def _record(
        self, client_id: int, client_type: ClientType, tier_id: int | None, at: int, best_index: int
    ) -> dict[str, Any] | None:
        """The client's record (a row, not an ORM object: thousands are written at once) if the
        highest criterion they meet is a tier above their own."""
        current = self.tiers.get(tier_id) if tier_id is not None else None
        level = current.level if current is not None else 0
        best, metrics = self.ladder[best_index], self.metrics
        if self.tiers[best.tier_id].level <= level:
            return None
        target = self.tiers[best.tier_id]
        return {
            "rule_id": self.rule.id,
            "rule_name": self.rule.name,
            "method": self.rule.method,
            "client_id": client_id,
            "client_type": client_type.value,
            "rank_id": self.rank.id,
            "rank_name": self.rank.name,
            "from_tier_id": tier_id,
            "from_tier_name": current.name if current is not None else None,
            "from_level": level,
            "to_tier_id": target.id,
            "to_tier_name": target.name,
            "to_level": target.level,
            "metrics": _snapshot(best, metrics, at, self.currencies),
            "settlement_at": self.settlement_at,
            "settlement_date": self.settlement_date,
            "status": RecordStatus.PENDING,
            "fail_reason": "",
            "tenant_id": self.rule.tenant_id,
        }


def settle(job: JobContext, rule_id: int, at: datetime | None = None) -> Settlement:
    """Settle ``rule_id`` as of ``at`` (the deposits' cut-off and the settlement's time; None: the
    rule's Sunday of the run's scheduled period), or finish the settlement of that time that a dead
    worker left. Returns it finished; a finished one as it was. Refused (``NotFound``,
    ``Conflict``) when the rule does not exist or is disabled."""
    watch = _Stopwatch()
    with job.batch() as ctx:
        settlement = _begin(ctx, job, rule_id, at)
    if settlement.state is SettlementState.FINISHED:
        return settlement
    with job.read() as ctx:
        plan = _plan(ctx, rule_id, settlement, job.progress)
    job.progress.start(len(plan.candidates), f"Writing {plan.rule.name}")
    cursor, written = settlement.last_client_id, settlement
    for batch in plan.batches():  # each computed outside any transaction, then written in one
        with job.batch() as ctx:
            written = _write(ctx, job.run_id, settlement.id, plan, batch, cursor, watch)
        plan.batch_size.took(job.last_batch_seconds)
        cursor = batch.last_client_id
        job.progress.advance(batch.checked)
    return written


class _Stopwatch:
    """Time spent settling, handed out in laps (each batch adds its lap to the settlement's)."""

    def __init__(self) -> None:
        self.mark = clock.perf_counter()

    def lap_ms(self) -> int:
        now = clock.perf_counter()
        spent, self.mark = int((now - self.mark) * 1000), now
        return spent


def _begin(ctx: Ctx, job: JobContext, rule_id: int, at: datetime | None) -> Settlement:
    """The settlement this run writes: its own unfinished one (a takeover after a crash), or the
    one of (rule, time), created, taken over from a dead run, or found finished."""
    # FOR SHARE: an edit of the rule in flight commits first; a later one sees this run and is
    # refused (SQLite's write lock serializes the same way).
    rule = ctx.session.scalar(select(TierRule).where(TierRule.id == rule_id).with_for_update(read=True))
    _check(rule, rule_id)
    assert rule is not None
    own = ctx.session.scalar(
        select(Settlement).where(
            Settlement.run_id == job.run_id,
            Settlement.rule_id == rule_id,
            Settlement.state == SettlementState.RUNNING,
        )
    )
    if own is not None:
        return own
    moment = at if at is not None else settlement_moment(rule, job.period)
    slot = select(Settlement).where(Settlement.rule_id == rule.id, Settlement.settlement_at == moment)
    settlement = ctx.session.scalar(slot)
    if settlement is None:
        try:
            with ctx.session.begin_nested():
                settlement = Settlement(
                    rule_id=rule.id,
                    settlement_at=moment,
                    state=SettlementState.RUNNING,
                    run_id=job.run_id,
                    tenant_id=ctx.tenant_id,
                )
                ctx.session.add(settlement)
                ctx.session.flush()
            return settlement
        except IntegrityError:  # another run created it at the same moment
            settlement = ctx.session.scalar(slot)
            assert settlement is not None
    if settlement.state is SettlementState.FINISHED:
        return settlement
    if settlement.run_id != job.run_id:
        if settlement.run_id is not None and holds_lease(ctx, settlement.run_id):
            raise Conflict(f"this settlement is being written by run {settlement.run_id}")
        settlement.run_id = job.run_id  # its run died (or failed): finish its work
        ctx.session.flush()
    return settlement


def _check(rule: TierRule | None, rule_id: int) -> None:
    if rule is None:
        raise NotFound(f"no tier upgrade rule {rule_id}")
    if not rule.enabled:
        raise Conflict(f"rule {rule_id} is disabled: enable it to settle it")


def _plan(ctx: Ctx, rule_id: int, settlement: Settlement, progress: Progress) -> _Plan:
    """Everything the batches need, from one snapshot: the rule, the tree's metrics as of the
    settlement's cut-off, and the candidates after its cursor, in client-id order."""
    rule = ctx.session.get(TierRule, rule_id)
    _check(rule, rule_id)
    assert rule is not None
    tenant = ctx.session.get(Tenant, ctx.tenant_id)
    assert tenant is not None
    currencies = sorted(tenant.base_currencies)
    tiers = {t.id: t for t in ctx.session.scalars(select(Tier).where(Tier.rank_id == rule.rank_id))}
    ladder = sorted((c for c in rule.criteria if c.tier_id in tiers), key=lambda c: -tiers[c.tier_id].level)
    for criterion in ladder:
        criterion.amounts  # noqa: B018  (loaded now: the plan outlives the snapshot's session)
    rank = ctx.session.get(Rank, rule.rank_id)
    assert rank is not None

    progress.start(3, f"Settling {rule.name}")
    sums = _deposit_sums_later(ctx, settlement.settlement_at, currencies)
    nodes = select(Client.id, func.coalesce(Client.referrer_id, -1))
    [(ids, referrers)] = read_columns_together(ctx.session, [(nodes, None)], integers={0})
    shape = tree.Shape.of(ids, referrers)
    del ids, referrers
    progress.advance()
    candidate_ids, types, tier_ids = read_columns(
        ctx.session,
        select(Client.id, Client.client_type, Client.tier_id)
        .where(
            Client.rank_id == rule.rank_id,
            Client.client_type.in_(TARGET_TYPES[rule.target]),
            Client.id > (settlement.last_client_id or 0),
        )
        .order_by(Client.id),
    )
    candidates = list(zip(candidate_ids, types, tier_ids, strict=True))
    progress.advance()
    metrics = shape.add_deposits(*sums(), currencies)
    del shape
    positions = metrics.positions(candidate_ids)
    best = np.full(len(candidates), -1)
    for index in reversed(range(len(ladder))):  # the highest tier met wins: it is written last
        best[_met(ladder[index], rule.currency_relation, metrics, positions)] = index
    progress.advance()
    ctx.session.expunge_all()
    return _Plan(
        rule,
        rank,
        tiers,
        ladder,
        metrics,
        currencies,
        candidates,
        positions.tolist(),
        best.tolist(),
        settlement.settlement_at,
        settlement.last_client_id,
        BatchSize.for_engine(ctx.session.get_bind().dialect.name),
    )


def _write(
    ctx: Ctx,
    run_id: int,
    settlement_id: int,
    plan: _Plan,
    batch: _Batch,
    cursor: int | None,
    watch: _Stopwatch,
) -> Settlement:
    """One batch, in one transaction: the cursor moves on (only from where this run left it), a
    client's earlier open records are superseded, auto rules move tiers, the records are written."""
    moved_on = ctx.session.execute(
        update(Settlement)
        .where(
            Settlement.id == settlement_id,
            Settlement.run_id == run_id,
            Settlement.state == SettlementState.RUNNING,
            Settlement.last_client_id.is_not_distinct_from(cursor),
        )
        .values(
            last_client_id=batch.last_client_id,
            clients_checked=Settlement.clients_checked + batch.checked,
            records=Settlement.records + len(batch.records),
        )
        .execution_options(synchronize_session=False)
    )
    if moved_on.rowcount != 1:
        raise Conflict("this settlement was taken over by another run")
    records = batch.records
    chosen = [r["client_id"] for r in records]
    if chosen:
        ctx.session.execute(
            update(UpgradeRecord)
            .where(
                one_of(ctx.session, UpgradeRecord.client_id, chosen),
                UpgradeRecord.status.in_([RecordStatus.PENDING, RecordStatus.FAIL]),
            )
            .values(status=RecordStatus.EXPIRED)
            .execution_options(synchronize_session=False)
        )
    upgraded = 0
    if plan.rule.method is UpgradeMethod.AUTO and records:
        moved = change_tiers_if(
            ctx,
            [
                TierMove(r["client_id"], plan.rank.id, r["from_tier_id"], r["to_tier_id"])
                for r in records
                if r["to_tier_id"]
            ],
        )
        for record in records:
            if record["client_id"] in moved:
                record["status"] = RecordStatus.SUCCESS
            else:  # changed since it was read: say how
                record["status"], record["fail_reason"] = apply_upgrade(ctx, UpgradeRecord(**record))
            upgraded += record["status"] is RecordStatus.SUCCESS
    # Without fetching ids back (the ORM's unit of work would ask for them); by COPY on PostgreSQL.
    insert_rows(ctx.session, UpgradeRecord, records)
    done: dict[str, Any] = {"state": SettlementState.FINISHED, "finished_at": utcnow()} if batch.final else {}
    ctx.session.execute(
        update(Settlement)
        .where(Settlement.id == settlement_id)
        .values(
            upgraded=Settlement.upgraded + upgraded,
            duration_ms=Settlement.duration_ms + watch.lap_ms(),
            **done,
        )
        .execution_options(synchronize_session=False)
    )
    settlement = ctx.session.get(Settlement, settlement_id, populate_existing=True)
    assert settlement is not None
    if batch.final:
        record_action(
            ctx.session,
            entity=Settlement.__tablename__,
            entity_id=str(settlement_id),
            action="update",
            before={"state": SettlementState.RUNNING.value},
            after={
                "state": SettlementState.FINISHED.value,
                **{c: getattr(settlement, c) for c in ("clients_checked", "records", "upgraded")},
            },
        )
    return settlement
