"""The scheduled re-evaluation of every client of a broker (windowed metrics, expiries, rule changes).

It reads a snapshot (blocking no writer), decides for every client at once on arrays, and then
writes only the clients whose standing changes, a chunk at a time (as many as take a fraction of a
second: ``BatchSize``), each chunk in its own short transaction through ``standing.recompute``
(which locks the chunk's clients and decides again with fresh facts). So events arriving meanwhile
and a second worker running the same batch cannot write a change twice, and one broker's batch
never holds another's writes.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from core.sdk import BatchSize, Ctx, JobContext
from plugins.status_system.ladder import load_ladder
from plugins.status_system.standing import decide_all, recompute

JOB = "status_system.evaluation"
CRON = "15 1 * * *"  # every night at 01:15 in the broker's time zone
CHUNK = 500  # clients written in the first batch; the next ones are sized by the time it took


def candidates(ctx: Ctx, now: datetime) -> np.ndarray:
    """The clients whose standing would change now, decided for all clients in one pass."""
    ladder = load_ladder(ctx)
    if not ladder.rungs:
        return np.zeros(0, dtype=np.int64)
    ids, decision = decide_all(ctx, ladder, now)
    return ids[decision.dirty]


def run_job(job: JobContext) -> None:
    """Re-evaluate every client as of the run's period (a run by hand: as of now)."""
    now = job.period
    job.progress.start(None, "Deciding for every client")  # one pass: no steps to count
    with job.read() as ctx:
        changing = candidates(ctx, now)
        sizes = BatchSize.for_engine(ctx.session.get_bind().dialect.name, CHUNK)
    job.progress.start(len(changing), "Writing the clients whose status changes")
    first = 0
    while first < len(changing):
        chunk = changing[first : first + sizes.size].tolist()
        with job.batch() as ctx:
            recompute(ctx, chunk, now=now)
        sizes.took(job.last_batch_seconds)
        first += len(chunk)
        job.progress.advance(len(chunk))
