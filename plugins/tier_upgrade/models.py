from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.sdk import Base, IdType, Money, TenantOwned, UTCDateTime, enum_type, utcnow


class UpgradeMethod(enum.StrEnum):
    AUTO = "auto"  # upgraded at settlement
    MANUAL = "manual"  # listed as pending for staff to upgrade or reject


class UpgradeTarget(enum.StrEnum):
    TRADERS = "traders"
    IBS = "ibs"
    BOTH = "both"


class CurrencyRelation(enum.StrEnum):
    AND = "and"  # every currency's requirement
    OR = "or"  # any one currency's requirement


class DepositType(enum.StrEnum):
    DEPOSIT_REQUEST = "deposit_request"  # approved client requests; staff's manual entries never count


class RecordStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    FAIL = "fail"
    REJECTED = "rejected"
    EXPIRED = "expired"


class TierRule(TenantOwned, Base):
    __tablename__ = "tier_upgrade_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "rank_id"),)  # one rule per rank

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    method: Mapped[UpgradeMethod] = mapped_column(enum_type(UpgradeMethod))
    target: Mapped[UpgradeTarget] = mapped_column(enum_type(UpgradeTarget))
    rank_id: Mapped[int] = mapped_column(ForeignKey("ranks.id", ondelete="CASCADE"))
    currency_relation: Mapped[CurrencyRelation] = mapped_column(enum_type(CurrencyRelation))
    deposit_type: Mapped[DepositType] = mapped_column(
        enum_type(DepositType), default=DepositType.DEPOSIT_REQUEST
    )
    timezone: Mapped[str] = mapped_column(String(64))
    settlement_time: Mapped[str] = mapped_column(String(5))  # HH:MM on Sundays, in ``timezone``
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    criteria: Mapped[list[TierCriterion]] = relationship(
        back_populates="rule", cascade="all, delete-orphan", order_by="TierCriterion.id"
    )


class TierCriterion(TenantOwned, Base):
    """What one tier of the rule's rank requires."""

    __tablename__ = "tier_upgrade_criteria"
    __table_args__ = (UniqueConstraint("rule_id", "tier_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("tier_upgrade_rules.id", ondelete="CASCADE"), index=True)
    tier_id: Mapped[int] = mapped_column(ForeignKey("tiers.id", ondelete="CASCADE"))
    branches_required: Mapped[int] = mapped_column(default=0)

    rule: Mapped[TierRule] = relationship(back_populates="criteria")
    amounts: Mapped[list[TierAmount]] = relationship(
        back_populates="criterion", cascade="all, delete-orphan", order_by="TierAmount.currency"
    )


class TierAmount(TenantOwned, Base):
    """One currency's requirement of a tier: the downline total, and each qualifying branch's."""

    __tablename__ = "tier_upgrade_amounts"
    __table_args__ = (UniqueConstraint("criterion_id", "currency"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    criterion_id: Mapped[int] = mapped_column(
        ForeignKey("tier_upgrade_criteria.id", ondelete="CASCADE"), index=True
    )
    currency: Mapped[str] = mapped_column(String(3))
    downline_total: Mapped[Decimal] = mapped_column(Money)
    branch_minimum: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))

    criterion: Mapped[TierCriterion] = relationship(back_populates="amounts")


class SettlementState(enum.StrEnum):
    RUNNING = "running"  # records being written, batch after batch
    FINISHED = "finished"


class Settlement(TenantOwned, Base):
    """One rule's settlement for one Sunday (or a time chosen by hand). Created when it starts, it
    is written in batches, in client-id order: ``last_client_id`` is how far the committed batches
    went, advanced in each batch's own transaction, so a settlement whose worker died resumes
    after it. Finished, it makes a re-run a no-op."""

    __tablename__ = "tier_upgrade_settlements"
    __table_args__ = (UniqueConstraint("rule_id", "settlement_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("tier_upgrade_rules.id", ondelete="SET NULL"))
    settlement_at: Mapped[datetime] = mapped_column(UTCDateTime)  # also the deposits' cut-off
    state: Mapped[SettlementState] = mapped_column(
        enum_type(SettlementState), default=SettlementState.RUNNING
    )
    run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id", ondelete="SET NULL"))  # writing it
    last_client_id: Mapped[int | None] = mapped_column(IdType)  # candidates up to this id are written
    clients_checked: Mapped[int] = mapped_column(default=0)
    records: Mapped[int] = mapped_column(default=0)
    upgraded: Mapped[int] = mapped_column(default=0)
    duration_ms: Mapped[int] = mapped_column(default=0)  # time spent settling, over every attempt
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UpgradeRecord(TenantOwned, Base):
    """A client found to qualify for a higher tier at a settlement, and what became of it. Names
    are kept as they were, so the record reads the same after the rule or tier is gone."""

    __tablename__ = "tier_upgrade_records"
    # A settlement writes thousands; the operation log gets the settlement, and each Upgrade or
    # Reject explicitly (service._acted).
    __audited__ = False
    __table_args__ = (
        UniqueConstraint("rule_id", "settlement_at", "client_id"),
        Index("ix_tier_upgrade_records_report", "tenant_id", "method", "status"),
        Index("ix_tier_upgrade_records_client", "tenant_id", "client_id", "status"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("tier_upgrade_rules.id", ondelete="SET NULL"))
    rule_name: Mapped[str] = mapped_column(String(100))
    method: Mapped[UpgradeMethod] = mapped_column(enum_type(UpgradeMethod))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    client_type: Mapped[str] = mapped_column(String(16))
    rank_id: Mapped[int | None] = mapped_column(ForeignKey("ranks.id", ondelete="SET NULL"))
    rank_name: Mapped[str] = mapped_column(String(100))
    from_tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="SET NULL"))
    from_tier_name: Mapped[str | None] = mapped_column(String(100))
    from_level: Mapped[int] = mapped_column(default=0)  # 0: no tier yet
    to_tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="SET NULL"))
    to_tier_name: Mapped[str] = mapped_column(String(100))
    to_level: Mapped[int]
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    settlement_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settlement_date: Mapped[date] = mapped_column(Date)  # the Sunday, in the rule's time zone
    status: Mapped[RecordStatus] = mapped_column(enum_type(RecordStatus))
    fail_reason: Mapped[str] = mapped_column(String(200), default="")
    acted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acted_by_name: Mapped[str | None] = mapped_column(String(200))
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
