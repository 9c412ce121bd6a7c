"""Modules' scheduled jobs and their run history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from core.api.deps import staff
from core.context import Ctx
from core.scheduler import service
from core.scheduler.models import RunStatus, RunTrigger
from core.schemas import ListQuery, Output, Page

router = APIRouter(tags=["jobs"])


class ScheduleOut(Output):
    id: int
    plugin: str
    job_type: str
    key: str
    cron: str
    timezone: str
    enabled: bool
    next_run_at: datetime


class RunOut(Output):
    id: int
    schedule_id: int | None
    plugin: str
    job_type: str
    key: str
    period: datetime
    trigger: RunTrigger
    status: RunStatus
    attempt: int
    worker: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    error: str


class DeferredOut(Output):
    """Deferred work of one module's task, waiting to be done."""

    plugin: str
    task: str
    waiting: int = Field(description="Keys waiting or under way")
    failing: int = Field(description="Of which the last try failed (tried again later)")
    oldest: datetime = Field(description="When the longest-waiting key was deferred")
    last_error: str | None = Field(description="The latest failure's error")


class RunQuery(ListQuery):
    plugin: str | None = Field(default=None, max_length=40)
    job_type: str | None = Field(default=None, max_length=100)
    key: str | None = Field(default=None, max_length=100)
    status: RunStatus | None = None
    trigger: RunTrigger | None = None


@router.get("/jobs/schedules", response_model=list[ScheduleOut], summary="Modules' schedules for my company")
def schedules(
    plugin: Annotated[str | None, Query(max_length=40)] = None, ctx: Ctx = staff("jobs.read")
) -> list[ScheduleOut]:
    return [ScheduleOut.model_validate(s) for s in service.list_schedules(ctx, plugin=plugin)]


@router.get("/jobs/runs", response_model=Page[RunOut], summary="Run history: status, duration and error")
def runs(query: Annotated[RunQuery, Query()], ctx: Ctx = staff("jobs.read")) -> Page[RunOut]:
    return Page.of(service.list_runs(ctx, query.paging, **query.filters()), RunOut)


@router.get(
    "/jobs/deferred",
    response_model=list[DeferredOut],
    summary="Deferred work waiting, by module and task: what keeps failing, and why",
)
def deferred(ctx: Ctx = staff("jobs.read")) -> list[DeferredOut]:
    return [DeferredOut.model_validate(group) for group in service.deferred_backlog(ctx)]
