"""Schedules for plugins' jobs, and their run history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.context import Ctx
from core.db.base import utcnow
from core.db.filters import where_equal
from core.db.paging import PageRequest, PageResult, paginate
from core.errors import NotFound
from core.scheduler import cron as cronspec
from core.scheduler.deferred import Backlog, backlog
from core.scheduler.models import JobRun, JobSchedule, RunStatus
from core.tenancy.models import Tenant


def _declared(ctx: Ctx, plugin: str, job_type: str) -> None:
    loaded = ctx.runtime.plugins.plugins.get(plugin)
    if loaded is None or job_type not in loaded.manifest.job_names():
        raise ValueError(f"plugin {plugin!r} declares no job type {job_type!r} in its manifest")


def ensure_schedule(
    ctx: Ctx,
    plugin: str,
    job_type: str,
    *,
    cron: str,
    key: str = "",
    timezone: str | None = None,
    enabled: bool = True,
) -> JobSchedule:
    """Create or update the schedule of (plugin, job type, key) for the tenant. The time zone
    defaults to the tenant's. Changing the spec recomputes the next run."""
    _declared(ctx, plugin, job_type)
    if timezone is None:
        tenant = ctx.session.get(Tenant, ctx.tenant_id)
        assert tenant is not None
        timezone = tenant.timezone
    cronspec.validate(cron, timezone)
    schedule = ctx.session.scalar(
        select(JobSchedule).where(
            JobSchedule.plugin == plugin, JobSchedule.job_type == job_type, JobSchedule.key == key
        )
    )
    if schedule is None:
        schedule = JobSchedule(plugin=plugin, job_type=job_type, key=key, tenant_id=ctx.tenant_id)
        ctx.session.add(schedule)
    if schedule.cron != cron or schedule.timezone != timezone or schedule.next_run_at is None:
        schedule.next_run_at = cronspec.next_after(cron, timezone, utcnow())
    schedule.cron, schedule.timezone, schedule.enabled = cron, timezone, enabled
    ctx.session.flush()
    return schedule


def remove_schedule(ctx: Ctx, plugin: str, job_type: str, *, key: str = "") -> None:
    """Stop a schedule; its run history stays."""
    schedule = ctx.session.scalar(
        select(JobSchedule).where(
            JobSchedule.plugin == plugin, JobSchedule.job_type == job_type, JobSchedule.key == key
        )
    )
    if schedule is not None:
        ctx.session.delete(schedule)
        ctx.session.flush()


def list_schedules(ctx: Ctx, *, plugin: str | None = None) -> list[JobSchedule]:
    stmt = where_equal(select(JobSchedule), JobSchedule, plugin=plugin)
    return list(ctx.session.scalars(stmt.order_by(JobSchedule.plugin, JobSchedule.job_type, JobSchedule.key)))


def is_running(ctx: Ctx, plugin: str, job_type: str, *, key: str = "") -> bool:
    """Whether a run of (plugin, job type, key) holds a live lease for the tenant right now: a
    module refuses edits that would change a job's input under its feet."""
    return (
        ctx.session.scalar(
            select(JobRun.id)
            .where(
                JobRun.plugin == plugin,
                JobRun.job_type == job_type,
                JobRun.key == key,
                JobRun.status == RunStatus.RUNNING,
                JobRun.lease_until > utcnow(),
            )
            .limit(1)
        )
        is not None
    )


def holds_lease(ctx: Ctx, run_id: int) -> bool:
    """Whether run ``run_id`` is running with a live lease: its worker is at it right now (a job
    that finds another run's unfinished work can tell a live run from a dead one)."""
    return (
        ctx.session.scalar(
            select(JobRun.id).where(
                JobRun.id == run_id, JobRun.status == RunStatus.RUNNING, JobRun.lease_until > utcnow()
            )
        )
        is not None
    )


def list_runs(ctx: Ctx, page: PageRequest, **filters: Any) -> PageResult[JobRun]:
    """Filters: plugin, job_type, key, status, trigger."""
    stmt = where_equal(select(JobRun), JobRun, **filters).order_by(JobRun.id.desc())
    return paginate(ctx.session, stmt, page)


def get_run(ctx: Ctx, run_id: int) -> JobRun:
    run = ctx.session.get(JobRun, run_id)
    if run is None:
        raise NotFound("run not found")
    return run


def deferred_backlog(ctx: Ctx) -> list[Backlog]:
    """The company's deferred work waiting (``core.sdk.defer``), by module and task: how much,
    how much of it failed its last try, since when, and the latest error. Work that keeps failing
    is tried again every ``RETRY_S`` until its module is fixed or disabled."""
    return backlog(ctx.session)
