"""What a job handler receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from core.context import Ctx


class Progress(Protocol):
    """Long jobs report progress; ``crm jobs run`` shows it as a bar."""

    def start(self, total: int | None, description: str = "") -> None: ...

    def advance(self, steps: int = 1) -> None: ...


class NoProgress:
    def start(self, total: int | None, description: str = "") -> None:
        return None

    def advance(self, steps: int = 1) -> None:
        return None


@dataclass
class JobContext:
    """A job's run: ``ctx`` is a unit of work for the tenant (the run succeeds only if it commits,
    in the same transaction as the run's record), ``period`` the scheduled time it is for (UTC;
    the time of the request for a manual run), ``key`` the schedule's key. Make the effects of a
    run idempotent per period: a run whose worker died is run again."""

    ctx: Ctx
    plugin: str
    job_type: str
    key: str
    period: datetime
    trigger: str
    args: dict[str, Any] = field(default_factory=dict)
    progress: Progress = field(default_factory=NoProgress)
    heartbeat: Callable[[], None] = field(default=lambda: None)
