"""One daemon thread that repeats a task every few seconds until stopped: the outbox, the
scheduler's worker and the marketplace's state watcher each run one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Self


class BackgroundLoop:
    """Calls ``tick`` every ``interval_s`` seconds in a daemon thread named ``name``. A tick that
    raises is logged to ``logger`` (``failure`` says what failed), ``on_error`` runs, and the loop tries again
    after ``retry_s`` (the interval unless given): one bad pass never ends the loop."""

    def __init__(
        self,
        name: str,
        interval_s: float,
        tick: Callable[[], None],
        *,
        failure: str,
        logger: logging.Logger,
        on_error: Callable[[], None] | None = None,
        retry_s: float | None = None,
        join_timeout_s: float = 10.0,
    ) -> None:
        self.interval_s = interval_s
        self._tick = tick
        self._failure = failure
        self._log = logger
        self._on_error = on_error
        self._retry_s = interval_s if retry_s is None else retry_s
        self._join_timeout_s = join_timeout_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called (a long-running tick checks it to return in time)."""
        return self._stop.is_set()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Ask the loop to end and wait for the tick under way (at most ``timeout`` seconds)."""
        self._stop.set()
        self._thread.join(self._join_timeout_s if timeout is None else timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:
                self._log.exception("%s; will try again", self._failure)
                if self._on_error is not None:
                    self._on_error()
                self._stop.wait(self._retry_s)
            else:
                self._stop.wait(self.interval_s)
