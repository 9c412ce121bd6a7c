"""Two worker processes on one database: each Sunday's settlement of a rule runs exactly once."""

from __future__ import annotations

import multiprocessing
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from core.config import Settings
from core.testing import expect


def _work(url: str, now: str, barrier: Any) -> list[str]:
    """A worker's passes over the schedules at ``now`` (after two Sundays were due)."""
    from core.runtime import Runtime
    from core.scheduler.worker import Worker

    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    worker = Worker(runtime)
    barrier.wait()
    try:
        outcomes = []
        for _ in range(3):
            outcomes += [run.status.value for run in worker.tick(datetime.fromisoformat(now))]
        return outcomes
    finally:
        runtime.db.dispose()


def test_two_workers_settle_each_sunday_once(broker, crm_database_url):
    ib = broker.ranked(client_type="ib")
    for _ in range(2):
        broker.deposit(broker.client(ib), "300")
    rule = broker.rule(method="auto")
    first_sunday = datetime.fromisoformat(rule["next_settlement_at"])
    spawn = multiprocessing.get_context("spawn")
    for sunday in (first_sunday, first_sunday + timedelta(days=7)):
        barrier = spawn.Manager().Barrier(2)
        now = (sunday + timedelta(minutes=5)).isoformat()
        with spawn.Pool(2) as pool:
            outcomes = [o for w in pool.starmap(_work, [(crm_database_url, now, barrier)] * 2) for o in w]
        assert outcomes == ["succeeded"]  # one run between the two workers, over all their passes
    runs = expect(broker.admin.get("/api/v1/jobs/runs", params={"plugin": "tier_upgrade"}), 200)["items"]
    assert sorted(datetime.fromisoformat(r["period"]) for r in runs) == [
        first_sunday,
        first_sunday + timedelta(days=7),
    ]
    assert broker.crm.count("tier_upgrade_settlements", broker.tenant.id) == 2
    # Upgraded once, at the first Sunday; the second finds nothing new to do.
    records = broker.report("auto")
    assert [(r["to_tier_name"], r["status"]) for r in records] == [("Silver", "success")]
    assert broker.tier_of(ib) == broker.silver
