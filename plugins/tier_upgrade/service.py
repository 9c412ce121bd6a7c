"""Tier upgrade rules (one per rank, with criteria per tier), the upgrade reports, and the
Upgrade / Reject actions on their records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from core.sdk import (
    Client,
    Conflict,
    Ctx,
    FieldError,
    InvalidInput,
    NotFound,
    PageRequest,
    PageResult,
    Rank,
    Tenant,
    Tier,
    apply_changes,
    change_tier_if,
    check_precision,
    company_currencies,
    count,
    display_amount,
    ensure_schedule,
    ensure_unique,
    fetch,
    get_rank,
    is_running,
    list_schedules,
    record_action,
    remove_schedule,
    scope_clients,
    utcnow,
)
from plugins.tier_upgrade.models import (
    RecordStatus,
    TierAmount,
    TierCriterion,
    TierRule,
    UpgradeRecord,
)
from plugins.tier_upgrade.schemas import RuleIn, RuleUpdate, TierCriteriaIn

PLUGIN, JOB = "tier_upgrade", "tier_upgrade.settlement"
READ_SETTINGS, UPDATE_SETTINGS = "tier_upgrade.settings.read", "tier_upgrade.settings.update"
READ_REPORT, ACT = "tier_upgrade.report.read", "tier_upgrade.upgrade"
ACTIONABLE = (RecordStatus.PENDING, RecordStatus.FAIL)


# --- rules -----------------------------------------------------------------------------------------


def list_rules(ctx: Ctx) -> list[TierRule]:
    ctx.require(READ_SETTINGS)
    return list(ctx.session.scalars(select(TierRule).order_by(TierRule.id)))


def get_rule(ctx: Ctx, rule_id: int) -> TierRule:
    ctx.require(READ_SETTINGS)
    return fetch(ctx.session, TierRule, rule_id, label="tier upgrade rule")


def tiers_by_id(ctx: Ctx, rank_id: int) -> dict[int, Tier]:
    return {t.id: t for t in ctx.session.scalars(select(Tier).where(Tier.rank_id == rank_id))}


def _criteria(ctx: Ctx, rank_id: int, tiers: list[TierCriteriaIn]) -> list[TierCriterion]:
    """Criteria rows from the request, checked against the rank and the company's currencies."""
    tenant = ctx.session.get(Tenant, ctx.tenant_id)
    assert tenant is not None
    currencies = set(tenant.base_currencies)
    of_rank = tiers_by_id(ctx, rank_id)
    seen: set[int] = set()
    rows = []
    for n, item in enumerate(tiers):
        field = f"tiers.{n}"
        if item.tier_id not in of_rank:
            raise InvalidInput(f"{field}.tier_id", "is not a tier of the rule's rank")
        if item.tier_id in seen:
            raise InvalidInput(f"{field}.tier_id", "appears twice")
        seen.add(item.tier_id)
        amounts = []
        for currency, amount in sorted(item.currencies.items()):
            where = f"{field}.currencies.{currency}"
            if currency not in currencies:
                raise InvalidInput(
                    where, f"is not one of the company's base currencies ({', '.join(sorted(currencies))})"
                )
            check_precision(amount.downline_total, currency, field=f"{where}.downline_total")
            check_precision(amount.branch_minimum, currency, field=f"{where}.branch_minimum")
            if amount.branch_minimum > amount.downline_total:
                raise InvalidInput(f"{where}.branch_minimum", "cannot exceed the downline total deposits")
            amounts.append(
                TierAmount(
                    currency=currency,
                    downline_total=amount.downline_total,
                    branch_minimum=amount.branch_minimum,
                    tenant_id=ctx.tenant_id,
                )
            )
        rows.append(
            TierCriterion(
                tier_id=item.tier_id,
                branches_required=item.branches_required,
                amounts=amounts,
                tenant_id=ctx.tenant_id,
            )
        )
    return rows


def _schedule(ctx: Ctx, rule: TierRule) -> None:
    hour, minute = rule.settlement_time.split(":")
    ensure_schedule(
        ctx,
        PLUGIN,
        JOB,
        cron=f"{int(minute)} {int(hour)} * * 0",
        key=str(rule.id),
        timezone=rule.timezone,
        enabled=rule.enabled,
    )


def _rank_taken(ctx: Ctx, rank_id: int) -> Conflict:
    return Conflict(
        "this rank already has a tier upgrade rule (one rule per rank): edit that one",
        fields=[FieldError("rank_id", "already has a rule")],
    )


def _criteria_terms(criteria: list[TierCriterion]) -> set[tuple[Any, ...]]:
    """What a rule's criteria require, to tell whether an edit changed them."""
    return {
        (
            c.tier_id,
            c.branches_required,
            frozenset((a.currency, a.downline_total, a.branch_minimum) for a in c.amounts),
        )
        for c in criteria
    }


def create_rule(ctx: Ctx, data: RuleIn) -> TierRule:
    ctx.require(UPDATE_SETTINGS)
    get_rank(ctx, data.rank_id, field="rank_id")
    if ctx.session.scalar(select(TierRule.id).where(TierRule.rank_id == data.rank_id)) is not None:
        raise _rank_taken(ctx, data.rank_id)
    ensure_unique(ctx.session, TierRule.name, data.name, label="tier upgrade rule")
    rule = TierRule(
        name=data.name,
        method=data.method,
        target=data.target,
        rank_id=data.rank_id,
        currency_relation=data.currency_relation,
        deposit_type=data.deposit_type,
        timezone=data.timezone,
        settlement_time=data.settlement_time,
        enabled=data.enabled,
        criteria=_criteria(ctx, data.rank_id, data.tiers),
        tenant_id=ctx.tenant_id,
    )
    try:
        with ctx.session.begin_nested():
            ctx.session.add(rule)
            ctx.session.flush()
    except IntegrityError:
        raise _rank_taken(ctx, data.rank_id) from None
    _schedule(ctx, rule)
    return rule


def _not_settling(ctx: Ctx, rule: TierRule) -> None:
    if is_running(ctx, PLUGIN, JOB, key=str(rule.id)):
        raise Conflict("this rule's settlement is in progress: make your changes once it has finished")


def _locked(ctx: Ctx, rule_id: int) -> TierRule:
    ctx.require(UPDATE_SETTINGS)
    rule = fetch(ctx.session, TierRule, rule_id, label="tier upgrade rule")
    ctx.session.refresh(rule, with_for_update={"key_share": True})
    _not_settling(ctx, rule)
    return rule


def update_rule(ctx: Ctx, rule_id: int, data: RuleUpdate) -> TierRule:
    """Changes apply from the next settlement; clients already upgraded keep their tier."""
    rule = _locked(ctx, rule_id)
    changes = data.changes()
    tiers = changes.pop("tiers", None)  # criteria are rows of their own, replaced below
    if "name" in changes:
        ensure_unique(
            ctx.session, TierRule.name, changes["name"], label="tier upgrade rule", exclude_id=rule.id
        )
    apply_changes(rule, changes)
    if tiers is not None:
        before = _criteria_terms(rule.criteria)
        new_criteria = _criteria(ctx, rule.rank_id, tiers)
        rule.criteria = []
        ctx.session.flush()  # the old rows go before the new ones take their (rule, tier) keys
        rule.criteria = new_criteria
        if _criteria_terms(new_criteria) != before:
            # The criteria are rows of their own: the rule's row would not change, nor its onupdate.
            rule.updated_at = utcnow()
    ctx.session.flush()
    _schedule(ctx, rule)
    return rule


def set_enabled(ctx: Ctx, rule_id: int, enabled: bool) -> TierRule:
    """A disabled rule is not settled; its records stay in the reports, and stay actionable."""
    rule = _locked(ctx, rule_id)
    rule.enabled = enabled
    ctx.session.flush()
    _schedule(ctx, rule)
    return rule


def delete_rule(ctx: Ctx, rule_id: int) -> None:
    """The rule's records stay in the reports, as they were."""
    rule = _locked(ctx, rule_id)
    remove_schedule(ctx, PLUGIN, JOB, key=str(rule.id))
    ctx.session.delete(rule)
    ctx.session.flush()


def next_settlement(ctx: Ctx, rule: TierRule) -> datetime | None:
    schedule = next((s for s in list_schedules(ctx, plugin=PLUGIN) if s.key == str(rule.id)), None)
    return schedule.next_run_at if schedule is not None and schedule.enabled else None


def describe(ctx: Ctx, rule: TierRule) -> dict[str, Any]:
    """The rule as the settings page shows it: tiers ascending, names resolved."""
    rank = ctx.session.get(Rank, rule.rank_id)
    tiers = tiers_by_id(ctx, rule.rank_id)
    rows = sorted((c for c in rule.criteria if c.tier_id in tiers), key=lambda c: tiers[c.tier_id].level)
    return {
        **{c: getattr(rule, c) for c in ("id", "name", "method", "target", "rank_id", "currency_relation")},
        **{c: getattr(rule, c) for c in ("deposit_type", "timezone", "settlement_time", "enabled")},
        "rank_name": rank.name if rank is not None else "",
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
        "next_settlement_at": next_settlement(ctx, rule),
        "tiers": [
            {
                "tier_id": c.tier_id,
                "tier_name": tiers[c.tier_id].name,
                "level": tiers[c.tier_id].level,
                "branches_required": c.branches_required,
                "currencies": {
                    a.currency: {
                        "downline_total": _shown(a.downline_total, a.currency),
                        "branch_minimum": _shown(a.branch_minimum, a.currency),
                    }
                    for a in c.amounts
                },
            }
            for c in rows
        ],
    }


def _shown(amount: Decimal, currency: str) -> Decimal:
    return display_amount(amount, currency)


def settling(ctx: Ctx, rule: TierRule) -> bool:
    """Whether the rule's settlement is running now (its settings cannot change meanwhile)."""
    return is_running(ctx, PLUGIN, JOB, key=str(rule.id))


def rank_choices(ctx: Ctx) -> list[tuple[Rank, int | None]]:
    """The company's ranks for a new rule's form, each with the id of the rule it already has."""
    ctx.require(UPDATE_SETTINGS)
    taken = {
        rank_id: rule_id for rank_id, rule_id in ctx.session.execute(select(TierRule.rank_id, TierRule.id))
    }
    return [(rank, taken.get(rank.id)) for rank in ctx.session.scalars(select(Rank).order_by(Rank.name))]


def rank_tiers(ctx: Ctx, rank_id: int) -> list[Tier]:
    """The rank's tiers, lowest first: the rows of a rule's criteria table."""
    ctx.require(UPDATE_SETTINGS)
    get_rank(ctx, rank_id, field="rank_id")
    return sorted(tiers_by_id(ctx, rank_id).values(), key=lambda t: t.level)


def base_currencies(ctx: Ctx) -> list[str]:
    """The company's base currencies: a criterion may be set in each."""
    return company_currencies(ctx)


def currency_uses(ctx: Ctx, currency: str) -> list[str]:
    """Each rule's tiers with a requirement in ``currency`` (the ``crm_currency_in_use`` hook);
    disabled rules count, as they can be enabled again."""
    rows = ctx.session.execute(
        select(TierRule.name, Tier.name)
        .join(TierCriterion, TierCriterion.rule_id == TierRule.id)
        .join(Tier, Tier.id == TierCriterion.tier_id)
        .join(TierAmount, TierAmount.criterion_id == TierCriterion.id)
        .where(TierAmount.currency == currency)
        .order_by(TierRule.name, Tier.level)
    )
    return [f"tier upgrade rule {rule!r} (tier {tier})" for rule, tier in rows]


# --- reports ---------------------------------------------------------------------------------------


def _records(ctx: Ctx, **filters: Any) -> Select[Any]:
    stmt = select(UpgradeRecord, Client.name).join(Client, Client.id == UpgradeRecord.client_id)
    stmt = scope_clients(stmt, ctx.principal)
    if filters.get("method") is not None:
        stmt = stmt.where(UpgradeRecord.method == filters["method"])
    for name, column in (
        ("status", UpgradeRecord.status),
        ("settlement_date", UpgradeRecord.settlement_date),
        ("tier_id", UpgradeRecord.to_tier_id),
        ("client_id", UpgradeRecord.client_id),
        ("rule_id", UpgradeRecord.rule_id),
    ):
        if filters.get(name) is not None:
            stmt = stmt.where(column == filters[name])
    return stmt.order_by(UpgradeRecord.settlement_at.desc(), UpgradeRecord.id.desc())


def _row(record: UpgradeRecord, client_name: str) -> dict[str, Any]:
    row = {c.key: getattr(record, c.key) for c in UpgradeRecord.__table__.columns if c.key != "tenant_id"}
    row["client_name"] = client_name
    return row


def list_records(ctx: Ctx, page: PageRequest, **filters: Any) -> PageResult[dict[str, Any]]:
    """One of the two reports (``method``), within the user's data permissions."""
    ctx.require(READ_REPORT)
    stmt = _records(ctx, **filters)
    rows = ctx.session.execute(stmt.limit(page.per_page).offset(page.offset)).all()
    return PageResult(
        items=[_row(r, name) for r, name in rows],
        total=count(ctx.session, stmt),
        page=page.page,
        per_page=page.per_page,
    )


def iter_records(ctx: Ctx, **filters: Any) -> Iterator[dict[str, Any]]:
    ctx.require(READ_REPORT)
    for record, name in ctx.session.execute(_records(ctx, **filters).execution_options(yield_per=2000)):
        yield _row(record, name)


def get_record(ctx: Ctx, record_id: int) -> dict[str, Any]:
    ctx.require(READ_REPORT)
    found = ctx.session.execute(_records(ctx).where(UpgradeRecord.id == record_id)).first()
    if found is None:
        raise NotFound("tier upgrade record not found")
    return _row(found[0], found[1])


# --- actions ---------------------------------------------------------------------------------------


def _selection(ctx: Ctx, record_ids: list[int]) -> list[UpgradeRecord]:
    """The chosen records, locked, all visible to the user and all actionable — or nothing done."""
    ctx.require(ACT)
    ids = sorted(set(record_ids))
    stmt = scope_clients(
        select(UpgradeRecord)
        .join(Client, Client.id == UpgradeRecord.client_id)
        .where(UpgradeRecord.id.in_(ids))
        .order_by(UpgradeRecord.id),
        ctx.principal,
    ).with_for_update(of=UpgradeRecord)
    records = list(ctx.session.scalars(stmt))
    missing = sorted(set(ids) - {r.id for r in records})
    if missing:
        raise InvalidInput("record_ids", f"no tier upgrade record {missing[0]}")
    closed = [r for r in records if r.status not in ACTIONABLE]
    if closed:
        raise Conflict(
            f"record {closed[0].id} is {closed[0].status.value}: only pending and failed records can be "
            "upgraded or rejected",
            fields=[FieldError("record_ids", f"{r.id} is {r.status.value}") for r in closed],
        )
    return records


def _acted(ctx: Ctx, record: UpgradeRecord, action: str, status: RecordStatus, reason: str = "") -> None:
    before = record.status
    record.status, record.fail_reason = status, reason
    record.acted_at = utcnow()
    if ctx.principal is not None:
        record.acted_by_user_id, record.acted_by_name = ctx.principal.user_id, ctx.principal.label
    record_action(
        ctx.session,
        entity=UpgradeRecord.__tablename__,
        entity_id=str(record.id),
        action=action,
        before={"status": before.value},
        after={"status": status.value, "fail_reason": reason, "client_id": record.client_id},
        client_id=record.client_id,
    )


def upgrade_records(ctx: Ctx, record_ids: list[int]) -> list[UpgradeRecord]:
    """Upgrade each chosen client now, if their rank and tier still allow it (one compare-and-set
    each); otherwise the record becomes Fail with the reason."""
    records = _selection(ctx, record_ids)
    for record in records:
        status, reason = apply_upgrade(ctx, record)
        _acted(ctx, record, "upgrade", status, reason)
    ctx.session.flush()
    return records


def apply_upgrade(ctx: Ctx, record: UpgradeRecord) -> tuple[RecordStatus, str]:
    """Move the record's client to its tier, or say why not (the settlement's auto upgrades too)."""
    client = ctx.session.get(Client, record.client_id)
    if client is None or record.rank_id is None or client.rank_id != record.rank_id:
        return RecordStatus.FAIL, "the client's rank has changed"
    if record.to_tier_id is None:
        return RecordStatus.FAIL, "the tier no longer exists"
    current = ctx.session.get(Tier, client.tier_id) if client.tier_id is not None else None
    level = current.level if current is not None else 0
    if level >= record.to_level:
        return (
            RecordStatus.FAIL,
            "the client's current tier is already the same as or higher than the new tier",
        )
    if record.status is RecordStatus.PENDING and client.tier_id != record.from_tier_id:
        return RecordStatus.FAIL, "the client's tier changed since the settlement"
    moved = change_tier_if(
        ctx, client.id, rank_id=record.rank_id, expected_tier_id=client.tier_id, new_tier_id=record.to_tier_id
    )
    if not moved:
        return RecordStatus.FAIL, "the client's rank or tier changed at the same moment"
    return RecordStatus.SUCCESS, ""


def reject_records(ctx: Ctx, record_ids: list[int]) -> list[UpgradeRecord]:
    records = _selection(ctx, record_ids)
    for record in records:
        _acted(ctx, record, "reject", RecordStatus.REJECTED)
    ctx.session.flush()
    return records


def reschedule_all(ctx: Ctx) -> None:
    for rule in ctx.session.scalars(select(TierRule)):
        _schedule(ctx, rule)
