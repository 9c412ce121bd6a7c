"""Real processes for tests that race them (concurrent checkouts, two job workers, a killed worker).

A spawned interpreter imports core, SQLAlchemy, FastAPI and the modules before it does anything:
about three seconds of CPU each, and the suite starts a hundred. ``processes()`` is a
``multiprocessing`` context whose processes are forked from a server that imported all that
once: each starts in milliseconds, and is as clean as a spawned one (the server is a fresh,
single-threaded interpreter that never opened a connection, and a process forked from it inherits
nothing of the test's). Use it where you would use ``multiprocessing.get_context("spawn")``;
targets must be importable functions, as for spawn.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.context import BaseContext

# Imported once by the fork server. Modules a process needs but that are missing here are imported
# by that process itself (slower, not wrong).
PRELOAD = [
    "core.runtime",
    "core.api.app",
    "core.sdk",
    "core.sdk.testing",
    "psycopg",
    "sqlalchemy.dialects.postgresql.psycopg",
    "plugins.coupons.routes",
    "plugins.leads.routes",
    "plugins.status_system.routes",
    "plugins.tier_upgrade.routes",
]

_context: BaseContext | None = None


def processes() -> BaseContext:
    """The context to start test processes with (see the module)."""
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _context = context
    return _context
