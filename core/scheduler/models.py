from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, IdType, TenantOwned, Timestamped, utcnow
from core.db.types import UTCDateTime, enum_type


class JobSchedule(TenantOwned, Timestamped, Base):
    """A recurring job of a plugin for a tenant: a cron spec evaluated in an IANA time zone.
    ``key`` tells a plugin's schedules of one job type apart (for example one per rule)."""

    __tablename__ = "job_schedules"
    __audited__ = False  # the run history is the record of what the scheduler did
    __table_args__ = (
        UniqueConstraint("tenant_id", "plugin", "job_type", "key"),
        Index("ix_job_schedules_due", "enabled", "next_run_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    plugin: Mapped[str] = mapped_column(String(40))
    job_type: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100), default="")
    cron: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RunTrigger(enum.StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"


class JobRun(TenantOwned, Base):
    """One execution of a job for one period. The unique (schedule, period) key means a second
    claim of the same period — a late or duplicate worker — cannot even be recorded."""

    __tablename__ = "job_runs"
    __audited__ = False
    __table_args__ = (
        UniqueConstraint("schedule_id", "period"),
        Index("ix_job_runs_lease", "status", "lease_until"),
        Index("ix_job_runs_tenant_job", "tenant_id", "plugin", "job_type", "started_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("job_schedules.id", ondelete="SET NULL"))
    plugin: Mapped[str] = mapped_column(String(40))
    job_type: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100), default="")
    period: Mapped[datetime] = mapped_column(UTCDateTime)  # the scheduled time this run is for (UTC)
    trigger: Mapped[RunTrigger] = mapped_column(enum_type(RunTrigger))
    status: Mapped[RunStatus] = mapped_column(enum_type(RunStatus), default=RunStatus.RUNNING)
    attempt: Mapped[int] = mapped_column(default=1)
    worker: Mapped[str] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None]
    error: Mapped[str] = mapped_column(Text, default="")


class DeferredWork(TenantOwned, Base):
    """Work a plugin asked for in a unit of work, to be done after it commits (``core.sdk.defer``):
    one row per (tenant, plugin, task, key), so an event delivered twice, or twenty events for one
    client before the work is done, are one piece of work. Written with the unit of work that
    asked (nothing is lost if the process dies after the commit), deleted by the transaction
    that does it."""

    __tablename__ = "deferred_work"
    __audited__ = False  # bookkeeping: the work's own writes are what the operation log records
    __table_args__ = (
        UniqueConstraint("tenant_id", "plugin", "task", "key"),
        Index("ix_deferred_work_due", "run_after"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    plugin: Mapped[str] = mapped_column(String(40))
    task: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # later after a failure
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
