"""A rule's weekly settlement: who, among the clients of the rule's rank and target, now qualifies
for a higher tier — from approved deposit requests up to the cut-off, over the whole referral tree
in one pass (``metrics``).

Exactly once per (rule, Sunday): the scheduler runs a (schedule, period) once across workers, and
the settlement row written in the same transaction as the records makes a re-run or a retry after
a crash a no-op. Auto rules upgrade at once (compare-and-set on the client's rank and tier).
"""

from __future__ import annotations

import time as clock
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update

from core import reference
from core.context import Ctx
from core.crm.clients import TierMove, change_tiers_if
from core.crm.models import Client, ClientType, Deposit, DepositKind, DepositStatus, Rank, Tier
from core.db.types import money_units
from core.scheduler.jobs import JobContext, NoProgress, Progress
from core.scheduler.models import RunTrigger
from core.tenancy.models import Tenant
from plugins.tier_upgrade import metrics as tree
from plugins.tier_upgrade.models import (
    CurrencyRelation,
    RecordStatus,
    Settlement,
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
    Sunday; a run by hand (``crm jobs run``) settles as of now, or as of ``--arg at=ISO-TIME``."""
    if not job.key.isdigit():
        raise ValueError("name the rule: --rule RULE_ID")
    rule = job.ctx.session.get(TierRule, int(job.key))
    if rule is None:
        return
    if job.trigger == RunTrigger.SCHEDULE:
        moment = settlement_moment(rule, job.period)
    elif "at" in job.args:
        moment = datetime.fromisoformat(str(job.args["at"]))
        if moment.tzinfo is None:
            raise ValueError("at: give a time-zone offset")
    else:
        moment = job.period.replace(microsecond=0)
    settle(job.ctx, rule.id, moment.astimezone(UTC), progress=job.progress, heartbeat=job.heartbeat)


def _deposit_sums(ctx: Ctx, cutoff: datetime, currencies: list[str]) -> Any:
    """Approved deposit requests decided up to the cut-off, per client and currency: the one
    aggregate every settlement pays for."""
    return ctx.session.execute(
        select(Deposit.client_id, Deposit.currency, money_units(func.sum(Deposit.amount)))
        .where(
            Deposit.status == DepositStatus.APPROVED,
            Deposit.kind == DepositKind.REQUEST,
            Deposit.decided_at <= cutoff,
            Deposit.currency.in_(currencies),
        )
        .group_by(Deposit.client_id, Deposit.currency)
        .execution_options(yield_per=20_000)
    )


def _qualifies(
    criterion: TierCriterion, relation: CurrencyRelation, metrics: tree.TreeMetrics, client_id: int
) -> bool:
    for amount in criterion.amounts:
        met = metrics.downline_total(client_id, amount.currency) >= tree.to_units(amount.downline_total)
        if met and criterion.branches_required:
            minimum = tree.to_units(amount.branch_minimum)
            reached = sum(1 for b in metrics.branch_totals(client_id, amount.currency) if b >= minimum)
            met = reached >= criterion.branches_required
        if met and relation is CurrencyRelation.OR:
            return True
        if not met and relation is CurrencyRelation.AND:
            return False
    return relation is CurrencyRelation.AND


def _snapshot(
    criterion: TierCriterion, metrics: tree.TreeMetrics, client_id: int, currencies: list[str]
) -> dict[str, Any]:
    """The figures that justified the record: totals per currency, and how many branches reached
    the new tier's branch minimum."""
    minimums = {a.currency: tree.to_units(a.branch_minimum) for a in criterion.amounts}
    return {
        "downline_totals": {
            c: str(reference.display_amount(tree.from_units(metrics.downline_total(client_id, c)), c))
            for c in currencies
        },
        "qualifying_branches": {
            c: sum(1 for b in metrics.branch_totals(client_id, c) if b >= minimums[c])
            for c in sorted(minimums)
        },
        "branches": metrics.branch_count(client_id),
    }


def settle(
    ctx: Ctx,
    rule_id: int,
    at: datetime,
    *,
    progress: Progress | None = None,
    heartbeat: Any = None,
) -> Settlement | None:
    """Settle ``rule_id`` as of ``at`` (the deposits' cut-off and the settlement's time). None when
    the rule is gone or disabled; the existing settlement when that time was settled already."""
    progress = progress or NoProgress()
    started = clock.perf_counter()
    rule = ctx.session.get(TierRule, rule_id)
    if rule is None or not rule.enabled:
        return None
    moment = at
    done = ctx.session.scalar(
        select(Settlement).where(Settlement.rule_id == rule.id, Settlement.settlement_at == moment)
    )
    if done is not None:
        return done
    tenant = ctx.session.get(Tenant, ctx.tenant_id)
    assert tenant is not None
    currencies = sorted(tenant.base_currencies)
    tiers = {t.id: t for t in ctx.session.scalars(select(Tier).where(Tier.rank_id == rule.rank_id))}
    ladder = sorted((c for c in rule.criteria if c.tier_id in tiers), key=lambda c: -tiers[c.tier_id].level)
    rank = ctx.session.get(Rank, rule.rank_id)
    assert rank is not None

    progress.start(4, f"Settling {rule.name}")
    nodes = ctx.session.execute(select(Client.id, Client.referrer_id)).all()
    progress.advance()
    metrics = tree.compute(nodes, _deposit_sums(ctx, moment, currencies), currencies)
    del nodes
    progress.advance()
    if heartbeat is not None:
        heartbeat()

    candidates = ctx.session.execute(
        select(Client.id, Client.client_type, Client.tier_id).where(
            Client.rank_id == rule.rank_id, Client.client_type.in_(TARGET_TYPES[rule.target])
        )
    ).all()
    local_date = moment.astimezone(ZoneInfo(rule.timezone)).date()
    records: list[UpgradeRecord] = []
    for client_id, client_type, tier_id in candidates:
        current = tiers.get(tier_id) if tier_id is not None else None
        level = current.level if current is not None else 0
        best = next((c for c in ladder if _qualifies(c, rule.currency_relation, metrics, client_id)), None)
        if best is None or tiers[best.tier_id].level <= level:
            continue
        target = tiers[best.tier_id]
        records.append(
            UpgradeRecord(
                rule_id=rule.id,
                rule_name=rule.name,
                method=rule.method,
                client_id=client_id,
                client_type=client_type.value,
                rank_id=rank.id,
                rank_name=rank.name,
                from_tier_id=tier_id,
                from_tier_name=current.name if current is not None else None,
                from_level=level,
                to_tier_id=target.id,
                to_tier_name=target.name,
                to_level=target.level,
                metrics=_snapshot(best, metrics, client_id, currencies),
                settlement_at=moment,
                settlement_date=local_date,
                status=RecordStatus.PENDING,
                tenant_id=ctx.tenant_id,
            )
        )
    progress.advance()

    # A client's earlier open records are superseded by the new one.
    chosen = [r.client_id for r in records]
    for first in range(0, len(chosen), 5_000):
        ctx.session.execute(
            update(UpgradeRecord)
            .where(
                UpgradeRecord.client_id.in_(chosen[first : first + 5_000]),
                UpgradeRecord.status.in_([RecordStatus.PENDING, RecordStatus.FAIL]),
            )
            .values(status=RecordStatus.EXPIRED)
            .execution_options(synchronize_session=False)
        )
    upgraded = 0
    if rule.method is UpgradeMethod.AUTO:
        moved = change_tiers_if(
            ctx,
            [TierMove(r.client_id, rank.id, r.from_tier_id, r.to_tier_id) for r in records if r.to_tier_id],
        )
        for record in records:
            if record.client_id in moved:
                record.status = RecordStatus.SUCCESS
            else:  # changed since it was read: say how
                record.status, record.fail_reason = apply_upgrade(ctx, record)
            upgraded += record.status is RecordStatus.SUCCESS
    # One bulk INSERT without fetching ids back (the ORM's unit of work would ask for them).
    columns = [c.key for c in UpgradeRecord.__table__.columns if c.key != "id"]
    for first in range(0, len(records), 5_000):
        rows = [
            {k: v for k in columns if (v := getattr(r, k)) is not None}
            for r in records[first : first + 5_000]
        ]
        ctx.session.execute(insert(UpgradeRecord), rows)
    settlement = Settlement(
        rule_id=rule.id,
        settlement_at=moment,
        clients_checked=len(candidates),
        records=len(records),
        upgraded=upgraded,
        duration_ms=int((clock.perf_counter() - started) * 1000),
        tenant_id=ctx.tenant_id,
    )
    ctx.session.add(settlement)
    ctx.session.flush()
    progress.advance()
    return settlement
