"""Request and response bodies of the tier upgrade module."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from core.sdk import (
    CurrencyCode,
    Id,
    Input,
    ListQuery,
    MoneyOut,
    NonNegativeAmount,
    Output,
    Patch,
    TimeZoneName,
    display_amount,
    id_list,
)
from plugins.tier_upgrade.models import (
    CurrencyRelation,
    DepositType,
    RecordStatus,
    UpgradeMethod,
    UpgradeTarget,
)

Ids1000 = id_list(1000, min_items=1)  # a selection of at least one record


SETTLEMENT_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class AmountIn(Input):
    downline_total: NonNegativeAmount = Field(
        description="The downline's total deposits, indirect ones included"
    )
    branch_minimum: NonNegativeAmount = Field(
        default=Decimal(0), description="What each qualifying branch must reach (at most the downline total)"
    )


class TierCriteriaIn(Input):
    tier_id: Id
    branches_required: int = Field(
        default=0, ge=0, le=10_000, description="How many branches must reach the branch minimum"
    )
    currencies: dict[CurrencyCode, AmountIn] = Field(
        min_length=1, max_length=20, description='Per base currency, e.g. {"USD": {...}}'
    )


class RuleIn(Input):
    name: str = Field(min_length=1, max_length=100)
    method: UpgradeMethod
    target: UpgradeTarget
    rank_id: Id
    currency_relation: CurrencyRelation = CurrencyRelation.AND
    deposit_type: DepositType = DepositType.DEPOSIT_REQUEST
    timezone: TimeZoneName
    settlement_time: str = Field(
        max_length=5, pattern=SETTLEMENT_TIME, description="HH:MM; settlement is weekly, on Sunday"
    )
    tiers: list[TierCriteriaIn] = Field(min_length=1, max_length=100)
    enabled: bool = True


class RuleUpdate(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    method: UpgradeMethod | None = None
    target: UpgradeTarget | None = None
    currency_relation: CurrencyRelation | None = None
    timezone: TimeZoneName | None = None
    settlement_time: str | None = Field(default=None, max_length=5, pattern=SETTLEMENT_TIME)
    tiers: list[TierCriteriaIn] | None = Field(default=None, min_length=1, max_length=100)


class AmountOut(Output):
    downline_total: MoneyOut
    branch_minimum: MoneyOut


class TierCriteriaOut(Output):
    tier_id: int
    tier_name: str
    level: int
    branches_required: int
    currencies: dict[str, AmountOut]


class RuleOut(Output):
    id: int
    name: str
    method: UpgradeMethod
    target: UpgradeTarget
    rank_id: int
    rank_name: str
    currency_relation: CurrencyRelation
    deposit_type: DepositType
    timezone: str
    settlement_time: str
    enabled: bool
    tiers: list[TierCriteriaOut] = Field(description="Ascending: the lowest tier first")
    next_settlement_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SettlementOut(Output):
    id: int
    rule_id: int | None
    settlement_at: datetime
    clients_checked: int
    records: int
    upgraded: int
    duration_ms: int
    finished_at: datetime


class RecordQuery(ListQuery):
    method: UpgradeMethod = Field(default=UpgradeMethod.AUTO, description="Which report: auto or manual")
    status: RecordStatus | None = None
    settlement_date: date | None = Field(default=None, description="The Sunday, in the rule's time zone")
    tier_id: Id | None = Field(default=None, description="The tier upgraded to")
    client_id: Id | None = None
    rule_id: Id | None = None


class RecordOut(Output):
    id: int
    rule_id: int | None
    rule_name: str
    method: UpgradeMethod
    client_id: int
    client_name: str
    client_type: str
    rank_id: int | None
    rank_name: str
    from_tier_id: int | None
    from_tier_name: str | None
    to_tier_id: int | None
    to_tier_name: str
    metrics: dict[str, Any] = Field(
        description="downline_totals and qualifying_branches per currency, and branches, at settlement"
    )
    settlement_at: datetime
    settlement_date: date
    status: RecordStatus
    fail_reason: str
    acted_by_user_id: int | None
    acted_by_name: str | None
    acted_at: datetime | None


class SelectionIn(Input):
    record_ids: Ids1000


def display(amount: Decimal, currency: str) -> Decimal:
    return display_amount(amount, currency)
