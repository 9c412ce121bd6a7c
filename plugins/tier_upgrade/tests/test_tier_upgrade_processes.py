"""Settlements across processes: two workers settle each Sunday once; a long settlement blocks no
other broker and its rule cannot change meanwhile; a worker killed mid-settlement is resumed
exactly once."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from core.sdk import Client, Tier, utcnow
from core.sdk.testing import JobRun, OperationLog, RunStatus, Settings, Worker, expect, processes
from plugins.tier_upgrade.models import Settlement, SettlementState, UpgradeRecord
from plugins.tier_upgrade.tests.support import API, Broker, bulk_tree


def _work(url: str, now: str, barrier: Any) -> list[str]:
    """A worker's passes over the schedules at ``now`` (after two Sundays were due)."""
    from core.sdk.testing import Runtime, Worker

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
    context = processes()
    for sunday in (first_sunday, first_sunday + timedelta(days=7)):
        barrier = context.Manager().Barrier(2)
        now = (sunday + timedelta(minutes=5)).isoformat()
        with context.Pool(2) as pool:
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


JOB = "tier_upgrade.settlement"
# Clients of the long settlement: a second or two of work (more on a loaded machine), built in a few.
LONG_SETTLEMENT = 400_000


def _settle(url: str, slug: str, rule_id: int, at: str) -> tuple[str, str]:
    """A settlement by hand in a process of its own; how its run ended."""
    from core.sdk.testing import Runtime, Worker

    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    try:
        run = Worker(runtime).run_now(slug, JOB, key=str(rule_id), args={"at": at})
        return run.status.value, run.error
    finally:
        runtime.db.dispose()


def _live_run(broker: Broker) -> JobRun | None:
    with broker.crm.db.session(tenant_id=broker.tenant.id) as session:
        return session.scalar(
            select(JobRun).where(JobRun.job_type == JOB, JobRun.status == RunStatus.RUNNING)
        )


def _records_written(broker: Broker) -> int | None:
    """How many records the broker's settlement has written so far (None: not started)."""
    with broker.crm.db.session(tenant_id=broker.tenant.id) as session:
        return session.scalar(select(Settlement.records))


def _wait_for(condition: Any, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return found


def test_a_long_settlement_blocks_no_other_tenant_and_its_rule_cannot_change_meanwhile(
    broker, crm_database_url
):
    decided = datetime.now(UTC) - timedelta(days=1)
    bulk_tree(
        broker.crm.db,
        broker.tenant.id,
        LONG_SETTLEMENT,
        rank_id=broker.rank_id,
        tier_id=broker.bronze,
        decided_at=decided,
    )
    rule = broker.rule(method="auto")
    globex = broker.crm.tenant("globex")
    url = f"{API}/rules/{rule['id']}"
    context = processes()

    def timed(request: Any, *args: Any, **kwargs: Any) -> tuple[Any, float, int | None]:
        """A request, how long it took, and how many records the settlement had written then."""
        written = _records_written(broker)
        began = time.perf_counter()
        response = request(*args, **kwargs)
        return response, time.perf_counter() - began, written

    with context.Pool(1) as pool:
        at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        settling = pool.apply_async(_settle, (crm_database_url, broker.tenant.slug, rule["id"], at))
        _wait_for(lambda: _records_written(broker) == 0)  # started: reading and computing
        refused = [
            timed(broker.admin.patch, url, json={"name": "Mid-run"}),
            timed(broker.admin.post, f"{url}/disable"),
            timed(broker.admin.post, f"{url}/enable"),
            timed(broker.admin.delete, url),
        ]
        writes = []  # another broker's, all along
        while not settling.ready():
            email = f"walk-in{len(writes)}@globex.example.com"
            body = {"client_type": "trader", "name": "Walk-in", "email": email}
            writes.append((*timed(globex.admin.post, "/api/v1/clients", json=body), utcnow()))
            time.sleep(0.02)
        outcome = settling.get(timeout=10)
    assert outcome == ("succeeded", "")
    assert [r.status_code for r, _, _ in refused] == [409, 409, 409, 409]
    assert all("settlement is in progress" in r.json()["error"]["message"] for r, _, _ in refused)
    with broker.crm.db.session(tenant_id=broker.tenant.id) as session:
        run = session.scalar(select(JobRun).where(JobRun.job_type == JOB))
        settlement = session.scalar(select(Settlement))
    assert settlement.records > 1_000  # several batches
    assert {r.status_code for r, _, _, _ in writes} == {201}  # never a 503
    assert len([w for w in writes if w[3] < run.finished_at]) >= 10  # long enough to write meanwhile
    assert len([w for w in writes if w[2] == 0]) >= 3  # some while it read, none waiting for it
    # Nobody waits for the settlement: each request waits at most for one short batch. The bound is a
    # second, or a quarter of the run when a loaded machine stretches every batch (a write held up by
    # the settlement's writing would wait for most of the run).
    bound = max(1.0, run.duration_ms / 1000 / 4)
    assert max(seconds for _, seconds, _ in refused + [w[:3] for w in writes]) < bound
    kept = expect(broker.admin.get(url), 200)
    assert (kept["name"], kept["enabled"]) == ("IB promotions", True)


LEASE = timedelta(seconds=8)


class _FreezeAfter:
    """Progress of a worker that freezes after its ``batches``-th committed batch (to be killed)."""

    def __init__(self, marker: Path, batches: int) -> None:
        self.marker, self.batches, self.written, self.writing = marker, batches, 0, False

    def start(self, total: int | None, description: str = "") -> None:
        self.writing = description.startswith("Writing")

    def advance(self, steps: int = 1) -> None:
        if not self.writing:
            return
        self.written += 1  # a batch committed (its clients are the steps)
        if self.written == self.batches:
            self.marker.write_text(str(os.getpid()))
            time.sleep(600)


def _settle_and_freeze(url: str, slug: str, rule_id: int, at: str, marker: Path) -> None:
    from core.sdk.testing import Runtime, Worker
    from plugins.tier_upgrade import settlement

    # Many batches of a small tree, all the same size.
    settlement.BatchSize.for_engine = classmethod(
        lambda cls, dialect, size=40: cls(40, minimum=40, maximum=40)
    )
    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    Worker(runtime, lease=LEASE).run_now(
        slug, JOB, key=str(rule_id), args={"at": at}, progress=_FreezeAfter(marker, 2)
    )


def _outcome(broker: Broker, first_client: int) -> dict[str, Any]:
    """A settled broker's results, clients named by their place in the tree."""
    tenant = broker.tenant.id
    with broker.crm.db.session(tenant_id=tenant) as session:
        settlement = session.scalar(select(Settlement))
        records = session.execute(
            select(UpgradeRecord.client_id, UpgradeRecord.to_tier_name, UpgradeRecord.status)
        ).all()
        tiers = session.execute(select(Client.id, Tier.name).join(Tier, Tier.id == Client.tier_id)).all()
        logged = session.scalar(
            select(func.count()).select_from(OperationLog).where(OperationLog.entity == "clients")
        )
    return {
        "settlement": (settlement.state, settlement.clients_checked, settlement.records, settlement.upgraded),
        "records": sorted((c - first_client, tier, status) for c, tier, status in records),
        "tiers": sorted((c - first_client, name) for c, name in tiers),
        "tier moves logged": logged,
    }


def test_a_settlement_killed_between_two_batches_is_resumed_exactly_once(broker, crm_database_url, tmp_path):
    decided = datetime.now(UTC) - timedelta(days=1)
    at = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
    twin = Broker(broker.crm, "globex")  # the same tree and rule, settled cleanly
    firsts = {}
    for each in (broker, twin):
        ids = bulk_tree(
            each.crm.db, each.tenant.id, 12_000, rank_id=each.rank_id, tier_id=each.bronze, decided_at=decided
        )
        firsts[each.tenant.slug] = ids[0]
    rule = broker.rule(method="auto")
    marker = tmp_path / "frozen"
    victim = processes().Process(
        target=_settle_and_freeze,
        args=(crm_database_url, broker.tenant.slug, rule["id"], at.isoformat(), marker),
    )
    victim.start()
    _wait_for(marker.exists)
    os.kill(victim.pid, signal.SIGKILL)  # two batches committed, the third not begun
    victim.join(30)
    assert broker.crm.count("tier_upgrade_records", broker.tenant.id) == 2 * 40
    run = _live_run(broker)
    assert run is not None

    # By hand, the same settlement while the dead worker's lease still runs: refused, not doubled.
    again = broker.run(rule["id"], at)
    assert (again.status.value, again.error) == (
        "failed",
        f"this settlement is being written by run {run.id}",
    )

    _wait_for(lambda: run.lease_until < utcnow(), timeout=60)
    [resumed] = Worker(broker.crm.runtime, lease=LEASE).tick()  # the next worker takes the run over
    assert (resumed.id, resumed.status.value, resumed.attempt) == (run.id, "succeeded", 2)
    twin.settle(twin.rule(method="auto")["id"], at)

    killed, clean = _outcome(broker, firsts["acme"]), _outcome(twin, firsts["globex"])
    assert killed == clean
    assert killed["settlement"][0] is SettlementState.FINISHED and killed["settlement"][2] > 5 * 40
    assert len({place for place, _, _ in killed["records"]}) == len(killed["records"])  # one per client
    assert killed["tier moves logged"] == killed["settlement"][3]  # each upgraded client moved once
