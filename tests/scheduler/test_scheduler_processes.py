"""Several worker processes, one killed in the middle of a run: the period completes exactly once."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from core.config import Settings
from core.db.base import utcnow
from core.scheduler.models import JobRun, JobSchedule, RunStatus
from core.scheduler.service import ensure_schedule
from core.testing import expect
from core.testing.processes import processes

LEASE = timedelta(seconds=4)


def _work(url: str, schedule_id: int, deadline: float) -> None:
    """A worker process: passes every 0.3 s until the period has a completed run."""
    from core.runtime import Runtime
    from core.scheduler.worker import Worker

    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    worker = Worker(runtime, lease=LEASE)
    try:
        while time.monotonic() < deadline:
            worker.tick()
            with runtime.db.session(all_tenants=True) as session:
                done = session.scalar(
                    select(JobRun.id).where(
                        JobRun.schedule_id == schedule_id, JobRun.status == RunStatus.SUCCEEDED
                    )
                )
            if done:
                return
            time.sleep(0.3)
    finally:
        runtime.db.dispose()


def test_a_killed_worker_leaves_exactly_one_completed_run(pk, crm_database_url, tmp_path: Path):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    marker = tmp_path / "running"
    expect(
        acme.admin.put(
            "/api/v1/marketplace/fixture_ticker/settings",
            json={"values": {"tick_sleep_s": 3, "tick_marker": str(marker)}},
        ),
        200,
    )
    with acme.ctx() as ctx:
        schedule = ensure_schedule(
            ctx, "fixture_ticker", "fixture_ticker.tick", cron="0 0 1 1 *", timezone="UTC"
        )
        schedule_id = schedule.id
    due = utcnow().replace(microsecond=0) - timedelta(seconds=1)
    with pk.db.transaction(all_tenants=True) as session:
        session.execute(update(JobSchedule).where(JobSchedule.id == schedule_id).values(next_run_at=due))

    context = processes()
    deadline = time.monotonic() + 60
    workers = [
        context.Process(target=_work, args=(crm_database_url, schedule_id, deadline)) for _ in range(3)
    ]
    for process in workers:
        process.start()
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    victim = int(marker.read_text())
    assert victim in {p.pid for p in workers}
    os.kill(victim, signal.SIGKILL)  # mid-run: the job sleeps 3 s before writing its note
    for process in workers:
        process.join(timeout=90)
    assert all(not p.is_alive() for p in workers)

    with pk.db.session(tenant_id=acme.id) as session:
        runs = session.scalars(select(JobRun).where(JobRun.schedule_id == schedule_id)).all()
    assert len(runs) == 1
    [run] = runs
    assert (run.status, run.period, run.attempt) == (RunStatus.SUCCEEDED, due, 2)
    assert f":{victim}:" not in run.worker  # completed by a survivor
    notes = expect(acme.admin.get("/api/v1/plugins/fixture_ticker/notes"), 200)
    assert notes.count(f"tick {due.isoformat()}") == 1
