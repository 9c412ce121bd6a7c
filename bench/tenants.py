"""Many tenants at once: 1,000 brokers whose weekly tier-upgrade settlements fall due in the same
minute, drained by two job workers (two processes) on PostgreSQL.

Builds, in a database of its own (``--database``, dropped and created again on the server of
CRM_DATABASE_URL or 127.0.0.1:5433), N tenants with the Tier Upgrade module, each with a small
referral tree (``--clients`` clients with deposits) and one auto rule; then every rule's schedule
is made due at the same moment. One tenant's data is broken behind core's back (a referral loop,
which core forbids), so its settlement fails. Two worker processes then run ``Worker.tick()`` until
nothing is due or running. Reported:

* ``drain_s``: from the moment the schedules fell due to the last run finished;
* each run's delay: when its job really began (its end minus its duration) after it fell due —
  p50, p95, max;
* exactly once: one run per schedule and period, one settlement per rule, every healthy tenant's
  run succeeded and only the broken tenant's failed, with its reason; checked, not assumed;
* the broken tenant's place in the queue and whether the runs after it were delayed by it (the
  runs claimed after its failure started within a second of its end).

The last line is JSON with the figures.

    python bench/tenants.py [--tenants 1000] [--clients 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from broker import auto_rule, bench_tenant, fresh_postgresql, ib_rank
from sqlalchemy import func, insert, select, update

from core.config import Settings
from core.context import bind
from core.db import migrate
from core.runtime import Runtime

JOB = "tier_upgrade.settlement"


def runtime_for(url: str) -> Runtime:
    from argon2 import PasswordHasher, profiles

    from core.access import credentials

    credentials.use_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))  # 1,000 admins to create
    return Runtime.from_settings(replace(Settings.from_env(), database_url=url))


def build_tenant(runtime: Runtime, index: int, clients: int, rng: random.Random) -> tuple[int, int]:
    """One broker: the module, a rank with three tiers, a small tree with deposits, an auto rule."""
    from core.crm.models import Client, Deposit

    tenant_id = bench_tenant(runtime, "tier_upgrade", ("USD",), slug=f"broker{index:04d}")
    decided = datetime.now(UTC) - timedelta(days=3)
    with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
        rank_id, tiers = ib_rank(session, tenant_id)
        ids: list[int] = []
        for n in range(clients):
            referrer = ids[rng.randrange(len(ids))] if ids else None
            client = Client(
                tenant_id=tenant_id,
                client_type="ib",
                name=f"Client {n}",
                email=f"c{n}@broker{index:04d}.example.com",
                referrer_id=referrer,
                rank_id=rank_id,
                tier_id=tiers[0],
            )
            session.add(client)
            session.flush()
            ids.append(client.id)
        session.execute(
            insert(Deposit),
            [
                {
                    "tenant_id": tenant_id,
                    "client_id": client_id,
                    "amount": Decimal(rng.randrange(10_000, 300_000)) / 100,
                    "currency": "USD",
                    "kind": "request",
                    "status": "approved",
                    "decided_at": decided,
                }
                for client_id in ids
                for _ in range(3)
            ],
        )
        rule = auto_rule(
            bind(session, None, runtime, "bench"),
            "IB ladder",
            rank_id,
            [
                {
                    "tier_id": tiers[1],
                    "branches_required": 1,
                    "currencies": {"USD": {"downline_total": "2000", "branch_minimum": "500"}},
                },
                {
                    "tier_id": tiers[2],
                    "branches_required": 2,
                    "currencies": {"USD": {"downline_total": "10000", "branch_minimum": "2000"}},
                },
            ],
        )
        return tenant_id, rule.id


def break_tenant(runtime: Runtime, tenant_id: int) -> None:
    """A referral loop written behind core's back: the settlement refuses to compute over it."""
    from core.crm.models import Client

    with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
        first, second = session.scalars(select(Client.id).order_by(Client.id).limit(2)).all()
        session.execute(update(Client).where(Client.id == first).values(referrer_id=second))
        session.execute(update(Client).where(Client.id == second).values(referrer_id=first))


def work(url: str, name: str, ready: Any, go: Any, results: Any) -> None:
    """A worker process, started before anything falls due (as in production): once told the
    moment, it passes until nothing due by then is left or running; reports the runs it finished."""
    from core.scheduler.models import JobRun, JobSchedule, RunStatus
    from core.scheduler.worker import Worker

    runtime = runtime_for(url)
    worker = Worker(runtime, name=name)
    worker.tick()  # warm: nothing is due yet
    ready.put(name)
    due: datetime = go.get()
    finished = 0
    try:
        while True:
            done = worker.tick()
            finished += len(done)
            if done or datetime.now(UTC) < due:
                time.sleep(0 if done else 0.05)
                continue
            with runtime.db.session(all_tenants=True) as session:
                left = session.scalar(
                    select(func.count()).select_from(JobSchedule).where(JobSchedule.next_run_at <= due)
                )
                running = session.scalar(
                    select(func.count()).select_from(JobRun).where(JobRun.status == RunStatus.RUNNING)
                )
            if not left and not running:
                break
            time.sleep(0.05)
    finally:
        runtime.db.dispose()
    results.put((name, finished))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20, help="per tenant")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default="crm_bench_tenants", help="dropped and created again")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from core.scheduler.models import JobRun, JobSchedule, RunStatus
    from plugins.tier_upgrade.models import Settlement

    url = fresh_postgresql(args.database, "bench/tenants.py")
    runtime = runtime_for(url)
    migrate.upgrade(url, runtime.plugins.migration_locations())
    rng = random.Random(args.seed)
    started = time.perf_counter()
    rules: dict[int, int] = {}
    for index in range(args.tenants):
        tenant_id, rule_id = build_tenant(runtime, index, args.clients, rng)
        rules[tenant_id] = rule_id
        print(f"  tenants {index + 1:>5,}/{args.tenants:,}", end="\r", flush=True)
    broken = list(rules)[args.tenants // 2]
    break_tenant(runtime, broken)
    built_s = time.perf_counter() - started
    print(f"\r  {args.tenants:,} tenants, {args.clients} clients each, in {built_s:.1f} s")

    spawn = multiprocessing.get_context("spawn")
    ready, go, results = spawn.Queue(), spawn.Queue(), spawn.Queue()
    workers = [
        spawn.Process(target=work, args=(url, f"worker{n}", ready, go, results)) for n in range(args.workers)
    ]
    for process in workers:
        process.start()
    for _ in workers:
        ready.get(timeout=120)
    # Every settlement falls due at the same moment, a little after this one.
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    with runtime.db.engine.begin() as connection:
        settlements_due = update(JobSchedule).where(JobSchedule.plugin == "tier_upgrade")
        connection.execute(settlements_due.values(next_run_at=due))
    for _ in workers:
        go.put(due)
    finished = dict(results.get(timeout=3600) for _ in workers)
    for process in workers:
        process.join()
    wall_s = (datetime.now(UTC) - due).total_seconds()

    with runtime.db.session(all_tenants=True) as session:
        runs = session.scalars(select(JobRun).where(JobRun.job_type == JOB)).all()
        settlements = session.execute(
            select(Settlement.rule_id, func.count()).group_by(Settlement.rule_id)
        ).all()
        schedules = dict(session.execute(select(JobSchedule.id, JobSchedule.tenant_id)).all())
    runtime.db.dispose()

    per_schedule: dict[tuple[int | None, datetime], int] = {}
    for run in runs:
        per_schedule[run.schedule_id, run.period] = per_schedule.get((run.schedule_id, run.period), 0) + 1
    doubled = sum(1 for n in per_schedule.values() if n > 1)
    missing = len(schedules) - len({schedule for schedule, _ in per_schedule})
    failed = [run for run in runs if run.status is RunStatus.FAILED]
    succeeded = [run for run in runs if run.status is RunStatus.SUCCEEDED]
    settled_twice = sum(1 for _, n in settlements if n > 1)

    def began_at(run: Any) -> datetime:
        return run.finished_at - timedelta(milliseconds=run.duration_ms or 0)

    delays = sorted((began_at(run) - due).total_seconds() for run in runs)
    last = max(run.finished_at for run in runs)
    drain_s = (last - due).total_seconds()
    by_start = sorted(runs, key=began_at)
    place = next(i for i, run in enumerate(by_start) if run.tenant_id == broken)
    failure = by_start[place]
    after = [began_at(run) for run in by_start[place + 1 : place + 1 + args.workers * 5]]
    # The runs right after the failed one began within a second of its end: it held nobody up.
    held_up = any((start - failure.finished_at).total_seconds() > 1.0 for start in after)

    print(f"runs: {len(runs):,} ({len(succeeded):,} succeeded, {len(failed)} failed); workers: {finished}")
    print(f"drained in {drain_s:.1f} s after falling due (the workers reported {wall_s:.1f} s after)")
    p95 = statistics.quantiles(delays, n=100, method="inclusive")[94] if len(delays) > 1 else delays[0]
    p50 = statistics.median(delays)
    print(f"delay before a run began: p50 {p50:.2f} s, p95 {p95:.2f} s, max {delays[-1]:.2f} s")
    print(
        f"the broken tenant's run: #{place + 1} to begin, {failure.status.value}, "
        f"{(failure.error or '')[:100]!r}; the runs after it held up: {held_up}"
    )
    print(f"exactly once: {doubled} schedules run twice, {missing} never run, {settled_twice} settled twice")
    ok = (
        doubled == 0
        and missing == 0
        and settled_twice == 0
        and [run.tenant_id for run in failed] == [broken]
        and len(succeeded) == args.tenants - 1
        and not held_up
    )
    print(
        json.dumps(
            {
                "engine": "postgresql",
                "tenants": args.tenants,
                "clients_per_tenant": args.clients,
                "workers": args.workers,
                "runs": len(runs),
                "succeeded": len(succeeded),
                "failed": len(failed),
                "drain_s": round(drain_s, 2),
                "delay_p50_s": round(p50, 2),
                "delay_p95_s": round(p95, 2),
                "delay_max_s": round(delays[-1], 2),
                "run_twice": doubled,
                "never_run": missing,
                "settled_twice": settled_twice,
                "failure_held_others_up": held_up,
                "consistent": ok,
                "target": "every settlement exactly once; one tenant's failure delays no other",
            }
        )
    )
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
