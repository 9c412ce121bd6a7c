"""What a job handler receives.

A run works in one of two ways:

* **Short jobs** use ``job.ctx``: one unit of work, committed in the same transaction that marks
  the run succeeded (so a run's effects commit exactly once). It is opened when first used; on
  SQLite it holds the database's write lock until the run ends, so keep such jobs short.
* **Long jobs** read with ``job.read()`` (a read-only snapshot that blocks no writer) and write
  with ``job.batch()`` (one short write transaction per batch, committed at the end of the
  ``with`` block, only while this worker still holds the run's lease). Other tenants' writes then
  wait at most for one batch, never for the whole job. A run whose worker died is run again by
  another worker, with the batches already committed still there: keep track of your progress in
  your own tables, advanced in the same batch as the work (see the tier upgrade settlement).

Fail a run with a message the tenant's staff can read by raising a ``core.errors.DomainError``
(``NotFound("no rule 12")``, ``Conflict(...)``, ``InvalidInput(field, ...)``) or a ``ValueError``;
any other exception is recorded as "internal error (reference …)", its traceback in the server
log under that reference.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from core.context import Ctx


class LostLease(Exception):
    """Another worker took the run over; this one's work must not commit."""


class Progress(Protocol):
    """Long jobs report progress; ``crm jobs run`` shows it as a bar."""

    def start(self, total: int | None, description: str = "") -> None: ...

    def advance(self, steps: int = 1) -> None: ...


class NoProgress:
    def start(self, total: int | None, description: str = "") -> None:
        return None

    def advance(self, steps: int = 1) -> None:
        return None


class RunAccess(Protocol):
    """How a run reaches the database (the worker provides it)."""

    def unit(self) -> Ctx: ...

    def read(self) -> AbstractContextManager[Ctx]: ...

    def batch(self) -> AbstractContextManager[Ctx]: ...

    def heartbeat(self) -> None: ...


@dataclass
class JobContext:
    """A job's run: ``period`` is the scheduled time it is for (UTC; the time of the request for
    a manual run), ``key`` the schedule's key, ``run_id`` the run in the history. Make the effects
    of a run idempotent per period: a run whose worker died is run again."""

    access: RunAccess
    run_id: int
    plugin: str
    job_type: str
    key: str
    period: datetime
    trigger: str
    args: dict[str, Any] = field(default_factory=dict)
    progress: Progress = field(default_factory=NoProgress)

    @property
    def ctx(self) -> Ctx:
        """The run's unit of work for the tenant, committed with the run's success (opened on
        first use: a write transaction, on SQLite the write lock, until the run ends)."""
        return self.access.unit()

    def read(self) -> AbstractContextManager[Ctx]:
        """A read-only snapshot of the tenant's data for the ``with`` block (REPEATABLE READ on
        PostgreSQL; a read transaction on SQLite, which in WAL mode blocks no writer). Writing in
        it fails."""
        return self.access.read()

    def batch(self) -> AbstractContextManager[Ctx]:
        """One short write transaction, committed when the ``with`` block ends. It first checks,
        in the same transaction, that this worker still holds the run (renewing its lease), and
        raises ``LostLease`` otherwise: a worker that lost its run never commits a batch. Not to be
        mixed with ``ctx`` in one run."""
        return self.access.batch()

    def heartbeat(self) -> None:
        """Say the run is alive (a side thread also does, while the worker lives)."""
        self.access.heartbeat()
