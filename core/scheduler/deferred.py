"""Deferred work: what a plugin's event handler asks for, done after the unit of work commits.

An action (a deposit approved) should not wait for every module's reaction to it. A handler that
calls ``defer(ctx, plugin, task, key)`` only notes the work in the unit of work — no statement, so
it needs no savepoint either. Just before the unit of work commits, what it noted is written in one
INSERT (one row per tenant, plugin, task and key: a key deferred twice, or by twenty events before
it is done, is one piece of work); the work commits, or rolls back, with the action that asked for
it, and nothing is lost if the process dies after the commit. Once committed, it is done:

* in the background, by the process's ``DeferredWorker`` (``crm serve`` runs one), woken by the
  commit and polling for work other processes left;
* by the job workers' (``crm worker``), which poll for it, when the process runs none and
  ``CRM_DEFERRED_WORK=workers`` (API workers under ``uvicorn --workers N``);
* otherwise at once, in the committing thread (the CLI, scripts, the tests): the caller then sees
  the work done when its commit returns.

Doing it: a short transaction claims a batch of due rows (PostgreSQL skips rows another worker
holds) by moving their ``run_after`` to a lease; a second transaction runs the plugin's handler,
acting as the plugin and isolated in a savepoint, and deletes the rows still carrying that lease.
A key deferred again meanwhile had its ``run_after`` brought back to now: its row is kept and done
again, so work asked for while it was being done is never lost, and no transaction holds a row
lock while it waits for anything else. A worker that dies leaves its lease to expire
(``LEASE_S``). A handler that fails has its work undone and its keys tried again after a back-off
that doubles up to an hour; a tenant where the plugin is no longer enabled has its rows dropped.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.background import BackgroundLoop
from core.context import Ctx, bind
from core.db.base import utcnow
from core.db.isolation import Isolation
from core.db.session import CrmSession
from core.plugins.dispatch import acting_as
from core.scheduler.models import DeferredWork

if TYPE_CHECKING:
    from core.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 500  # keys claimed per transaction
LEASE_S = 60.0  # a claim not finished by then is claimed again (its worker died)
RETRY_S = 5.0  # the first back-off after a failure; it doubles, up to MAX_RETRY_S
MAX_RETRY_S = 3600.0
KEY_LENGTH = 100

_NOTED = "crm_deferred"  # session.info: {(plugin, task, key)} noted in this unit of work
_WRITTEN = "crm_deferred_written"  # session.info: the runtime whose work this commit wrote
_TABLE = DeferredWork.__table__


def defer(ctx: Ctx, plugin: str, task: str, key: str | int) -> None:
    """Ask for ``plugin``'s handler of ``task`` to be called with ``key`` once this unit of work
    commits (see the module). The plugin must return a handler for ``task`` from
    ``crm_deferred_handlers``."""
    loaded = ctx.runtime.plugins.plugins.get(plugin)
    if loaded is None or task not in loaded.deferred_handlers:
        raise ValueError(f"plugin {plugin!r} has no handler for deferred task {task!r}")
    key = str(key)
    if not key or len(key) > KEY_LENGTH:
        raise ValueError(f"a deferred key is 1 to {KEY_LENGTH} characters")
    if ctx.session.tenant_id is None:
        raise ValueError("work is deferred for a tenant: this session has none")
    info = ctx.session.info
    info.setdefault(_NOTED, {})[(plugin, task, key)] = ctx.runtime


def pending_count(session: Session) -> int:
    """How much deferred work of the session's tenant is waiting or under way."""
    return int(session.scalar(select(func.count()).select_from(DeferredWork)) or 0)


@dataclass(frozen=True)
class Backlog:
    """Deferred work of one tenant's module and task, as operators see it."""

    tenant_id: int
    plugin: str
    task: str
    waiting: int  # keys waiting or under way
    failing: int  # of which the last try failed
    oldest: datetime  # when the longest-waiting key was deferred
    last_error: str | None  # the latest failure's error


def backlog(session: Session) -> list[Backlog]:
    """The deferred work waiting in the session's tenants, by tenant, module and task (``crm jobs
    deferred``): a module whose work keeps failing shows here, with its error."""
    groups = session.execute(
        select(
            DeferredWork.tenant_id,
            DeferredWork.plugin,
            DeferredWork.task,
            func.count(),
            func.count().filter(DeferredWork.error != ""),
            func.min(DeferredWork.created_at),
            func.max(DeferredWork.id).filter(DeferredWork.error != ""),
        )
        .group_by(DeferredWork.tenant_id, DeferredWork.plugin, DeferredWork.task)
        .order_by(DeferredWork.tenant_id, DeferredWork.plugin, DeferredWork.task)
    ).all()
    failed = [row[-1] for row in groups if row[-1] is not None]
    errors = dict(
        session.execute(select(DeferredWork.id, DeferredWork.error).where(DeferredWork.id.in_(failed))).all()
    )
    return [
        Backlog(tenant_id, plugin, task, waiting, failing, oldest, errors.get(latest))
        for tenant_id, plugin, task, waiting, failing, oldest, latest in groups
    ]


# --- writing the noted work with the unit of work ----------------------------------------------------


def _insert(dialect: str) -> Any:
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = maker(_TABLE)
    # A key already waiting stays as it is; one claimed or backing off is brought back to now, so
    # the worker holding it keeps it for another pass (see the module).
    return statement.on_conflict_do_update(
        index_elements=["tenant_id", "plugin", "task", "key"],
        set_={"run_after": statement.excluded.run_after},
        where=_TABLE.c.run_after > statement.excluded.run_after,
    )


_INSERTS = {name: _insert(name) for name in ("postgresql", "sqlite")}


@event.listens_for(CrmSession, "before_commit")
def _write_noted(session: CrmSession) -> None:
    if session.in_nested_transaction() or not session.info.get(_NOTED):
        return
    # The unit of work's own changes first: the INSERT is then its last statement, and the row
    # lock it may take is held only while the commit itself runs (see the module).
    session.flush()
    noted: dict[tuple[str, str, str], Runtime] = session.info.pop(_NOTED)
    now = utcnow()
    tenant_id = session.tenant_id
    rows = [
        {
            "tenant_id": tenant_id,
            "plugin": plugin,
            "task": task,
            "key": key,
            "created_at": now,
            "run_after": now,
            "attempts": 0,
            "error": "",
        }
        for plugin, task, key in sorted(noted)  # one order, so two writers cannot deadlock
    ]
    session.execute(_INSERTS[session.get_bind().dialect.name], rows)
    session.info[_WRITTEN] = (next(iter(noted.values())), tenant_id)


@event.listens_for(CrmSession, "after_commit")
def _after_commit(session: Session) -> None:
    written = session.info.pop(_WRITTEN, None)
    if written is None:
        return
    runtime, tenant_id = written
    worker: DeferredWorker | None = runtime.deferred
    if worker is not None and worker.running:
        worker.wake()
    elif runtime.settings.deferred_work == "workers":
        return  # the job workers poll for it (crm worker)
    elif not _local.draining:
        try:
            drain(runtime, tenant_id)
        except Exception:  # the action committed: its caller must not see the work's failure
            log.exception("deferred work of tenant %s failed; it stays queued", tenant_id)


@event.listens_for(CrmSession, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_NOTED, None)
        session.info.pop(_WRITTEN, None)


# --- doing it ------------------------------------------------------------------------------------------


class _Local(threading.local):
    draining = False


_local = _Local()


def drain(runtime: Runtime, tenant_id: int | None = None, *, rounds: int = 100) -> int:
    """Do the deferred work that is due, for one tenant or for all, until none is left (or after
    ``rounds`` batches per tenant: work that keeps deferring more is left to the next call);
    returns how many keys were done. Work deferred by the work itself is done in the same call."""
    done = 0
    outer, _local.draining = _local.draining, True
    try:
        for _round in range(rounds):
            tenants = [tenant_id] if tenant_id is not None else due_tenants(runtime)
            batch = sum(drain_batch(runtime, tenant) for tenant in tenants)  # one batch each in turn
            if not batch:
                break
            done += batch
        return done
    finally:
        _local.draining = outer


def due_tenants(runtime: Runtime) -> list[int]:
    with runtime.db.session(all_tenants=True) as session:
        return list(
            session.scalars(
                select(DeferredWork.tenant_id).where(DeferredWork.run_after <= utcnow()).distinct()
            )
        )


def drain_batch(runtime: Runtime, tenant_id: int) -> int:
    """Claim one batch of the tenant's due work and do it; returns how many keys were done."""
    lease = utcnow() + timedelta(seconds=LEASE_S)
    claimed = claim(runtime, tenant_id, lease)
    if claimed:
        do_claimed(runtime, tenant_id, claimed, lease)
    return len(claimed)


Claimed = list[tuple[int, str, str, str, int]]  # id, plugin, task, key, attempts
_CLAIMED = (DeferredWork.id, DeferredWork.plugin, DeferredWork.task, DeferredWork.key, DeferredWork.attempts)


def do_claimed(runtime: Runtime, tenant_id: int, claimed: Claimed, lease: datetime) -> None:
    """Do claimed work in one transaction, then delete the rows still under ``lease``."""
    by_task: dict[tuple[str, str], list[tuple[int, str, int]]] = defaultdict(list)
    for row_id, plugin, task, key, attempts in claimed:
        by_task[(plugin, task)].append((row_id, key, attempts))
    done: list[tuple[int, str, int]] = []
    failed: list[tuple[list[tuple[int, str, int]], BaseException]] = []
    with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
        enabled = runtime.plugin_state.enabled(session, tenant_id)
        if not {plugin for plugin, _task in by_task} <= enabled:
            # Work is about to be dropped: on the tenant's state as stored, not as this process
            # last heard of it (a module enabled a moment ago in another process).
            runtime.plugin_state.invalidate(tenant_id)
            enabled = runtime.plugin_state.enabled(session, tenant_id)
        for (plugin, task), rows in sorted(by_task.items()):
            loaded = runtime.plugins.plugins.get(plugin)
            handler = loaded.deferred_handlers.get(task) if loaded is not None else None
            if plugin in enabled and handler is not None:  # else nobody is left to do it here
                error = _run(session, runtime, plugin, task, handler, [key for _, key, _ in rows])
                if error is not None:
                    failed.append((rows, error))
                    continue
            done.extend(rows)
        # The rows last: this transaction locks them only once it waits for nothing else.
        _finish(session, done, lease)
        for rows, error in failed:
            _retry(session, rows, lease, error)


def claim(runtime: Runtime, tenant_id: int, lease: datetime) -> Claimed:
    """Take up to ``BATCH`` of the tenant's due keys until ``lease`` (a short transaction)."""
    with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
        is_due = DeferredWork.run_after <= utcnow()
        due = select(DeferredWork.id).where(is_due).order_by(DeferredWork.id).limit(BATCH)
        if session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(session.scalars(due))
        if not ids:
            return []
        rows = session.execute(
            update(DeferredWork)
            .where(DeferredWork.id.in_(ids), is_due)  # still due: never a row another worker took meanwhile
            .values(run_after=lease, attempts=DeferredWork.attempts + 1)
            .returning(
                DeferredWork.id,
                DeferredWork.plugin,
                DeferredWork.task,
                DeferredWork.key,
                DeferredWork.attempts,
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def _run(
    session: CrmSession, runtime: Runtime, plugin: str, task: str, handler: Any, keys: list[str]
) -> BaseException | None:
    ctx = bind(session, None, runtime, f"deferred {plugin}.{task}")
    try:
        with Isolation(session), acting_as(ctx, plugin) as plugin_ctx:
            handler(plugin_ctx, keys)
    except Exception as error:
        log.exception(
            "deferred %s.%s failed for %d key(s); they will be tried again", plugin, task, len(keys)
        )
        return error
    return None


def _finish(session: Session, rows: list[tuple[int, str, int]], lease: datetime) -> None:
    if not rows:
        return
    # Only rows still under this claim's lease: a key deferred again meanwhile is done again.
    session.execute(
        delete(DeferredWork).where(DeferredWork.id.in_([r[0] for r in rows]), DeferredWork.run_after == lease)
    )


def _retry(session: Session, rows: list[tuple[int, str, int]], lease: datetime, error: BaseException) -> None:
    now = utcnow()
    for row_id, _key, attempts in rows:
        wait = min(RETRY_S * 2 ** max(attempts - 1, 0), MAX_RETRY_S)
        session.execute(
            update(DeferredWork)
            .where(DeferredWork.id == row_id, DeferredWork.run_after == lease)
            .values(run_after=now + timedelta(seconds=wait), error=repr(error)[:2000])
        )


class DeferredWorker:
    """Does deferred work in the background of a process: woken by each of the process's commits
    that wrote some, and every ``interval_s`` seconds for work other processes left (an indexed
    look at the due rows)."""

    def __init__(self, runtime: Runtime, interval_s: float = 0.1) -> None:
        self.runtime = runtime
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stopping = False
        # The loop's own pause is nil: each tick waits for a wake-up or the poll interval itself.
        self._loop = BackgroundLoop(
            "crm-deferred", 0.0, self._tick, failure="deferred work failed", logger=log, retry_s=interval_s
        )

    @property
    def running(self) -> bool:
        return not self._stopping and self._loop.alive

    def start(self) -> DeferredWorker:
        self.runtime.deferred = self
        self._loop.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Stop after the work under way; what is left is done by the next worker to start."""
        self._stopping = True
        if self.runtime.deferred is self:
            self.runtime.deferred = None
        self._wake.set()
        self._loop.stop()

    def _tick(self) -> None:
        self._wake.wait(self.interval_s)
        self._wake.clear()
        if not self._stopping:
            drain(self.runtime)
