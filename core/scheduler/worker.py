"""The job worker: any number of them, on any number of machines, share one database.

Each pass:

1. **Claim**, in one short committed transaction (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's
   write lock): runs whose lease expired (their worker died) are taken over, and due schedules
   get a run row for their period — unique per (schedule, period), so no period is claimed
   twice — and their next time.
2. **Execute** each claimed run in one transaction with the job's own writes. The run is marked
   succeeded in that same transaction, only if this worker still holds it: a worker that lost
   its lease cannot commit anything, so a period's effects are committed exactly once. While a job
   runs, a side thread extends its lease; if the worker is killed, the lease runs out and another
   worker runs the period again from scratch.

Runs never start for a tenant where the plugin is disabled, uninstalled or out of licence.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.context import bind
from core.db.base import utcnow
from core.db.session import CrmSession
from core.errors import Conflict, NotFound
from core.runtime import Runtime
from core.scheduler import cron as cronspec
from core.scheduler.jobs import JobContext, NoProgress, Progress
from core.scheduler.models import JobRun, JobSchedule, RunStatus, RunTrigger
from core.tenancy.models import Tenant

log = logging.getLogger("crm.scheduler")


@dataclass(frozen=True)
class Claim:
    run_id: int
    tenant_id: int
    plugin: str
    job_type: str
    key: str
    period: datetime
    trigger: str


class LostLease(Exception):
    """Another worker took the run over; this one's work must not commit."""


class Worker:
    def __init__(
        self,
        runtime: Runtime,
        *,
        name: str | None = None,
        lease: timedelta = timedelta(minutes=5),
        batch: int = 10,
    ) -> None:
        self.runtime = runtime
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease = lease
        self.batch = batch

    # --- one pass ----------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> list[JobRun]:
        """Claim what is due and run it; returns the runs this pass finished (either way)."""
        finished = []
        for claim in self.claim(now or utcnow()):
            run = self.execute(claim)
            if run is not None:
                finished.append(run)
        return finished

    def _active(self, session: CrmSession, tenant_id: int, plugin: str, job_type: str) -> bool:
        loaded = self.runtime.plugins.plugins.get(plugin)
        return (
            loaded is not None
            and job_type in loaded.job_handlers
            and plugin in self.runtime.plugin_state.enabled(session, tenant_id)
        )

    def claim(self, now: datetime) -> list[Claim]:
        claims: list[Claim] = []
        with self.runtime.db.transaction(all_tenants=True, write=True) as session:
            stale = session.scalars(
                select(JobRun)
                .where(JobRun.status == RunStatus.RUNNING, JobRun.lease_until < now)
                .order_by(JobRun.id)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            )
            for run in stale:
                run.worker, run.attempt, run.lease_until, run.started_at = (
                    self.name,
                    run.attempt + 1,
                    now + self.lease,
                    now,
                )
                claims.append(self._claim_of(run))
            due = session.scalars(
                select(JobSchedule)
                .where(JobSchedule.enabled, JobSchedule.next_run_at <= now)
                .order_by(JobSchedule.next_run_at)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            )
            for schedule in due:
                period, schedule.next_run_at = cronspec.latest_due(
                    schedule.cron, schedule.timezone, schedule.next_run_at, now
                )
                if not self._active(session, schedule.tenant_id, schedule.plugin, schedule.job_type):
                    continue  # the period passes without a run: the module is off for this tenant
                run = JobRun(
                    tenant_id=schedule.tenant_id,
                    schedule_id=schedule.id,
                    plugin=schedule.plugin,
                    job_type=schedule.job_type,
                    key=schedule.key,
                    period=period,
                    trigger=RunTrigger.SCHEDULE,
                    worker=self.name,
                    lease_until=now + self.lease,
                    started_at=now,
                )
                try:
                    with session.begin_nested():
                        session.add(run)
                        session.flush()
                except IntegrityError:
                    continue  # this period already has its run
                claims.append(self._claim_of(run))
        return claims

    @staticmethod
    def _claim_of(run: JobRun) -> Claim:
        return Claim(run.id, run.tenant_id, run.plugin, run.job_type, run.key, run.period, run.trigger.value)

    # --- executing a claimed run -------------------------------------------------------------------

    def execute(
        self, claim: Claim, *, progress: Progress | None = None, args: dict[str, Any] | None = None
    ) -> JobRun | None:
        stop = threading.Event()
        beat = threading.Thread(target=self._keep_lease, args=(claim.run_id, stop), daemon=True)
        beat.start()
        started = time.monotonic()
        try:
            # Write transaction from the start: on SQLite a deferred one could not upgrade to write
            # once another connection committed; on PostgreSQL it changes nothing.
            with self.runtime.db.transaction(tenant_id=claim.tenant_id, write=True) as session:
                session.info["actor_label"] = f"job:{claim.job_type}"
                ctx = bind(session, None, self.runtime, f"job {claim.job_type}")
                if not self._active(session, claim.tenant_id, claim.plugin, claim.job_type):
                    raise Conflict(f"the {claim.plugin} module is not enabled for this tenant")
                handler = self.runtime.plugins.plugins[claim.plugin].job_handlers[claim.job_type]
                handler(
                    JobContext(
                        ctx=ctx,
                        plugin=claim.plugin,
                        job_type=claim.job_type,
                        key=claim.key,
                        period=claim.period,
                        trigger=claim.trigger,
                        args=dict(args or {}),
                        progress=progress or NoProgress(),
                        heartbeat=self._heartbeat(claim.run_id),
                    )
                )
                done = session.execute(
                    update(JobRun)
                    .where(
                        JobRun.id == claim.run_id,
                        JobRun.worker == self.name,
                        JobRun.status == RunStatus.RUNNING,
                    )
                    .values(
                        status=RunStatus.SUCCEEDED,
                        finished_at=utcnow(),
                        lease_until=None,
                        duration_ms=int((time.monotonic() - started) * 1000),
                        error="",
                    )
                )
                if done.rowcount != 1:
                    raise LostLease(f"run {claim.run_id} was taken over by another worker")
        except LostLease as error:
            log.warning("%s", error)
            return None
        except Exception as error:
            log.exception("job %s for tenant %s failed", claim.job_type, claim.tenant_id)
            self._fail(claim.run_id, error, started)
        finally:
            stop.set()
        with self.runtime.db.session(all_tenants=True) as session:
            return session.get(JobRun, claim.run_id)

    def _heartbeat(self, run_id: int) -> Callable[[], None]:
        """What a job calls to say it is alive. On SQLite the job's own transaction holds the only
        write lock, so no other worker can take the run over meanwhile (and a renewal could only
        wait for that lock): nothing to do."""
        if self.runtime.db.engine.dialect.name == "sqlite":
            return lambda: None
        return lambda: self._renew(run_id)

    def _renew(self, run_id: int) -> None:
        with self.runtime.db.transaction(all_tenants=True) as session:
            session.execute(
                update(JobRun)
                .where(JobRun.id == run_id, JobRun.worker == self.name, JobRun.status == RunStatus.RUNNING)
                .values(lease_until=utcnow() + self.lease)
            )

    def _keep_lease(self, run_id: int, stop: threading.Event) -> None:
        while not stop.wait(self.lease.total_seconds() / 3):
            try:
                self._renew(run_id)
            except Exception:  # SQLite: the job itself holds the write lock; the lease is long
                log.debug("could not renew the lease of run %s this time", run_id, exc_info=True)

    def _fail(self, run_id: int, error: BaseException, started: float) -> None:
        with self.runtime.db.transaction(all_tenants=True, write=True) as session:
            session.execute(
                update(JobRun)
                .where(JobRun.id == run_id, JobRun.worker == self.name, JobRun.status == RunStatus.RUNNING)
                .values(
                    status=RunStatus.FAILED,
                    finished_at=utcnow(),
                    lease_until=None,
                    duration_ms=int((time.monotonic() - started) * 1000),
                    error="".join(traceback.format_exception(error))[-8000:],
                )
            )

    # --- manual runs ---------------------------------------------------------------------------

    def run_now(
        self,
        tenant_slug: str,
        job_type: str,
        *,
        key: str = "",
        args: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> JobRun:
        """Run one job for a tenant now (``crm jobs run``), recorded in the run history."""
        plugin = job_type.split(".", 1)[0]
        with self.runtime.db.transaction(all_tenants=True, write=True) as session:
            tenant = session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
            if tenant is None:
                raise NotFound(f"no tenant {tenant_slug!r}")
            if not self._active(session, tenant.id, plugin, job_type):
                raise Conflict(
                    f"{job_type} cannot run: the {plugin} module is not loaded or not enabled "
                    f"for {tenant_slug}"
                )
            now = utcnow()
            run = JobRun(
                tenant_id=tenant.id,
                plugin=plugin,
                job_type=job_type,
                key=key,
                period=now,
                trigger=RunTrigger.MANUAL,
                worker=self.name,
                lease_until=now + self.lease,
                started_at=now,
            )
            session.add(run)
            session.flush()
            claim = self._claim_of(run)
        result = self.execute(claim, progress=progress, args=args)
        assert result is not None
        return result


class WorkerThread:
    """A worker running passes in the background of ``crm serve``."""

    def __init__(self, runtime: Runtime, interval_s: float = 5.0) -> None:
        self.worker = Worker(runtime)
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crm-jobs", daemon=True)

    def start(self) -> WorkerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.worker.tick()
            except Exception:
                log.exception("scheduler pass failed; will try again")
            self._stop.wait(self.interval_s)
