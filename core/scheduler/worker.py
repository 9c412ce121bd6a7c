"""The job worker: any number of them, on any number of machines, share one database.

Each pass:

1. **Claim**, in one short committed transaction (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's
   write lock): runs whose lease expired (their worker died) are taken over, and due schedules
   get a run row for their period — unique per (schedule, period), so no period is claimed
   twice — and their next time.
2. **Execute** each claimed run. A short job writes through ``job.ctx``, one transaction that also
   marks the run succeeded; a long one reads in read-only snapshots and writes in short batches
   (``job.batch()``), each committed only while this worker holds the run (see ``jobs``). Either
   way the run is marked succeeded only if this worker still holds it, so a worker that lost its
   lease commits nothing more. While a job runs, a side thread extends its lease; if the worker
   is killed, the lease runs out and another worker runs the period again (a long job resumes
   after its last committed batch).

Runs never start for a tenant where the plugin is disabled, uninstalled or out of licence.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.background import BackgroundLoop
from core.context import Ctx, bind
from core.contract import JobContext, LostLease, NoProgress, Progress
from core.db.base import utcnow
from core.db.columns import sqlite_shared_snapshot
from core.db.session import CrmSession
from core.errors import Conflict, DomainError, NotFound
from core.scheduler import cron as cronspec
from core.scheduler.models import JobRun, JobSchedule, RunStatus, RunTrigger
from core.tenancy.models import Tenant

if TYPE_CHECKING:
    from core.runtime import Runtime  # the composition root, passed in; annotations only

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
        run = _Run(self, claim)
        stop = threading.Event()
        beat = threading.Thread(target=self._keep_lease, args=(run, stop), daemon=True)
        beat.start()
        started = time.monotonic()
        try:
            with self.runtime.db.session(tenant_id=claim.tenant_id) as session:
                active = self._active(session, claim.tenant_id, claim.plugin, claim.job_type)
            if not active:
                raise Conflict(f"the {claim.plugin} module is not enabled for this tenant")
            handler = self.runtime.plugins.plugins[claim.plugin].job_handlers[claim.job_type]
            handler(
                JobContext(
                    access=run,
                    run_id=claim.run_id,
                    plugin=claim.plugin,
                    job_type=claim.job_type,
                    key=claim.key,
                    period=claim.period,
                    trigger=claim.trigger,
                    args=dict(args or {}),
                    progress=progress or NoProgress(),
                )
            )
            run.succeed(int((time.monotonic() - started) * 1000))
        except LostLease as error:
            log.warning("%s", error)
            return None
        except Exception as error:
            run.close()  # first: on SQLite its unit of work holds the write lock the failure needs
            self._fail(claim, error, started)
        finally:
            stop.set()
            run.close()
        with self.runtime.db.session(all_tenants=True) as session:
            return session.get(JobRun, claim.run_id)

    def hold(self, session: CrmSession, run_id: int, **values: Any) -> None:
        """In ``session``'s transaction: check that this worker still holds the run, renewing its
        lease (or writing ``values``); ``LostLease`` if another worker has taken it over. The row
        stays locked until that transaction ends, so no takeover can slip in before it commits."""
        held = session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, JobRun.worker == self.name, JobRun.status == RunStatus.RUNNING)
            .values(**(values or {"lease_until": utcnow() + self.lease}))
        )
        if held.rowcount != 1:
            raise LostLease(f"run {run_id} was taken over by another worker")

    def _renew(self, run_id: int) -> None:
        with self.runtime.db.transaction(all_tenants=True) as session:
            session.execute(
                update(JobRun)
                .where(JobRun.id == run_id, JobRun.worker == self.name, JobRun.status == RunStatus.RUNNING)
                .values(lease_until=utcnow() + self.lease)
            )

    def _keep_lease(self, run: _Run, stop: threading.Event) -> None:
        while not stop.wait(self.lease.total_seconds() / 3):
            if run.holds_write_lock:  # SQLite: no other worker can take the run over meanwhile
                continue
            try:
                self._renew(run.claim.run_id)
            except Exception:  # the lease is long: the next beat will do
                log.debug("could not renew the lease of run %s this time", run.claim.run_id, exc_info=True)

    def _fail(self, claim: Claim, error: BaseException, started: float) -> None:
        with self.runtime.db.transaction(all_tenants=True, write=True) as session:
            session.execute(
                update(JobRun)
                .where(
                    JobRun.id == claim.run_id, JobRun.worker == self.name, JobRun.status == RunStatus.RUNNING
                )
                .values(
                    status=RunStatus.FAILED,
                    finished_at=utcnow(),
                    lease_until=None,
                    duration_ms=int((time.monotonic() - started) * 1000),
                    error=failure_message(claim, error),
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


# SQLite does not hand its write lock over in turn: a writer waiting for it polls (every 100 ms at
# most: sqlite3_busy_timeout), and a job's next batch, begun right after its previous commit, would
# win the lock again and again. So while other connections write or wait to, a job's next batch on
# SQLite waits for them, up to this long after its last (core.db.turns).
SQLITE_BATCH_GAP_S = 0.1


class _Run:
    """A claimed run's ways to the database (``core.scheduler.jobs.RunAccess``)."""

    def __init__(self, worker: Worker, claim: Claim) -> None:
        self.worker = worker
        self.claim = claim
        self.db = worker.runtime.db
        self._unit: Ctx | None = None
        self._last_batch: float | None = None  # when the last batch ended
        self.last_batch_seconds = 0.0

    def _bind(self, session: CrmSession) -> Ctx:
        session.info["actor_label"] = f"job:{self.claim.job_type}"
        return bind(session, None, self.worker.runtime, f"job {self.claim.job_type}")

    def unit(self) -> Ctx:
        if self._unit is None:
            # Write transaction from the start: on SQLite a deferred one could not upgrade to write
            # once another connection committed; on PostgreSQL it changes nothing.
            self._unit = self._bind(self.db.session(tenant_id=self.claim.tenant_id, write=True))
        return self._unit

    @property
    def holds_write_lock(self) -> bool:
        return self._unit is not None and self.db.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Ctx]:
        session = self.db.session(tenant_id=self.claim.tenant_id)
        try:
            # A sibling for read_columns_later, unless this run holds the write lock itself (then
            # nobody commits meanwhile, and a guard would wait for this very run).
            with read_only_snapshot(session, siblings=0 if self.holds_write_lock else 1):
                yield self._bind(session)
        finally:
            session.close()

    @contextmanager
    def batch(self) -> Iterator[Ctx]:
        if self._unit is not None:
            raise RuntimeError("a job writes through job.ctx or through job.batch(), not both")
        if self._last_batch is not None:  # a no-op but on SQLite
            self.db.give_way(until=self._last_batch + SQLITE_BATCH_GAP_S)
        started = time.monotonic()
        try:
            with self.db.transaction(tenant_id=self.claim.tenant_id, write=True) as session:
                self.worker.hold(session, self.claim.run_id)
                yield self._bind(session)
        finally:
            self._last_batch = time.monotonic()
            self.last_batch_seconds = self._last_batch - started

    def heartbeat(self) -> None:
        if not self.holds_write_lock:
            self.worker._renew(self.claim.run_id)

    def succeed(self, duration_ms: int) -> None:
        """Mark the run succeeded, with the lease check, in the unit of work's transaction (which
        commits with it) or in a short one of its own."""
        unit = self._unit
        session = (
            unit.session if unit is not None else self.db.session(tenant_id=self.claim.tenant_id, write=True)
        )
        try:
            self.worker.hold(
                session,
                self.claim.run_id,
                status=RunStatus.SUCCEEDED,
                finished_at=utcnow(),
                lease_until=None,
                duration_ms=duration_ms,
                error="",
            )
            session.commit()
        finally:
            session.close()
            self._unit = None

    def close(self) -> None:
        """Roll back an unfinished unit of work."""
        if self._unit is not None:
            self._unit.session.rollback()
            self._unit.session.close()
            self._unit = None


@contextmanager
def read_only_snapshot(session: CrmSession, siblings: int = 0) -> Iterator[None]:
    """Make ``session``'s next transaction a read-only snapshot for the block, rolled back after:
    REPEATABLE READ, READ ONLY on PostgreSQL (other connections can import it); on SQLite a
    deferred read transaction (in WAL mode it blocks no writer) on a connection in ``query_only``
    mode, its snapshot shared with ``siblings`` other connections (``sqlite_shared_snapshot``),
    or else taken at its first read."""
    if session.dialect_name == "postgresql":
        session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
        try:
            yield
        finally:
            session.rollback()
        return
    connection = session.connection()
    connection.exec_driver_sql("PRAGMA query_only = ON")
    try:
        if siblings:
            with sqlite_shared_snapshot(session, siblings):
                yield
        else:
            yield
    finally:
        try:
            connection.exec_driver_sql("PRAGMA query_only = OFF")
        except BaseException:
            connection.invalidate()  # never hand a read-only connection back to the pool
            raise
        session.rollback()


def failure_message(claim: Claim, error: BaseException) -> str:
    """What the run history shows of a failure: a domain error's or a ``ValueError``'s message;
    for anything else a reference to the traceback, which only the server log keeps."""
    if isinstance(error, DomainError | ValueError):
        message = error.message if isinstance(error, DomainError) else str(error)
        log.warning(
            "job %s for tenant %s failed: %s", claim.job_type, claim.tenant_id, message, exc_info=error
        )
        return message[:2000] or type(error).__name__
    reference = uuid.uuid4().hex[:12]
    log.error(
        "job %s for tenant %s failed (reference %s)",
        claim.job_type,
        claim.tenant_id,
        reference,
        exc_info=error,
    )
    return f"internal error (reference {reference}): the details are in the server log"


class WorkerThread:
    """A worker running passes in the background of ``crm serve``."""

    def __init__(self, runtime: Runtime, interval_s: float = 5.0) -> None:
        self.worker = Worker(runtime)
        self._loop = BackgroundLoop(
            "crm-jobs", interval_s, self.worker.tick, failure="scheduler pass failed", logger=log
        )

    def start(self) -> WorkerThread:
        self._loop.start()
        return self

    def stop(self) -> None:
        self._loop.stop()
