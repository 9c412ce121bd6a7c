"""Turns at SQLite's write lock: who is writing or waiting to write, across processes.

SQLite does not queue writers: one waiting for the write lock sleeps and polls again (every
25-100 ms once it has waited a while: ``sqlite3_busy_timeout``), and a long job whose next batch
begins right after its last commit would win the lock again and again. So the job leaves the lock
free between two batches — but only while somebody wants it: a job alone, or among readers only,
pays nothing.

Every write transaction (``BEGIN IMMEDIATE`` / ``EXCLUSIVE``) holds a shared ``flock`` on a file
beside the database (``<database>-writers``) from just before its BEGIN — while it waits for the
lock too — to its commit or rollback; ``others_writing()`` asks for the exclusive lock without
waiting, which fails exactly while some connection, in any process, holds the shared one. A lock
of a connection that ends without a commit or rollback goes with its file descriptor; one left by
a connection never closed makes a job wait its longest gap each time, never forever.
"""

from __future__ import annotations

import fcntl
import os
import time
import weakref
from typing import Any

from sqlalchemy import Engine, event

WRITERS_SUFFIX = "-writers"
_FD = "writer_turns_fd"  # in each pooled connection's info: its descriptor of the writers file
_POLL_S = 0.002


class WriterTurns:
    """The writers file of one SQLite database file, for one engine's connections."""

    def __init__(self, database_path: str) -> None:
        self.path = os.path.abspath(database_path) + WRITERS_SUFFIX
        self._own = self._open()  # this process's descriptor for asking, never held
        weakref.finalize(self, os.close, self._own)

    def _open(self) -> int:
        # Read-only is enough for flock, and the file readable by all: every process that may
        # write to the database (its -wal file is shared just as widely) must open it.
        return os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def install(self, engine: Engine) -> None:
        """Track the write transactions of ``engine``'s connections (call before the first)."""

        @event.listens_for(engine, "connect")
        def _opened(_dbapi_connection: Any, record: Any) -> None:
            record.info[_FD] = self._open()

        @event.listens_for(engine, "close")
        def _closed(_dbapi_connection: Any, record: Any) -> None:
            fd = record.info.pop(_FD, None)
            if fd is not None:
                os.close(fd)  # any lock it held goes with it

        @event.listens_for(engine, "reset")
        def _returned(_dbapi_connection: Any, record: Any, _state: Any) -> None:
            self._release(record.info)

        @event.listens_for(engine, "commit")
        def _committed(connection: Any) -> None:
            self._release(connection.info)

        @event.listens_for(engine, "rollback")
        def _rolled_back(connection: Any) -> None:
            self._release(connection.info)

    def writing(self, connection: Any) -> None:
        """``connection`` is about to BEGIN a write transaction (and may wait for the lock)."""
        fd = connection.info.get(_FD)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_SH)

    @staticmethod
    def _release(info: dict[str, Any]) -> None:
        fd = info.get(_FD)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def others_writing(self) -> bool:
        """Whether some connection (this process's or another's) is in a write transaction or
        waiting to begin one."""
        try:
            fcntl.flock(self._own, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(self._own, fcntl.LOCK_UN)
        return False

    def give_way(self, until: float) -> None:
        """Wait while other connections write or wait to, until none does or ``until``
        (``time.monotonic()``) has come."""
        while time.monotonic() < until and self.others_writing():
            time.sleep(_POLL_S)
