"""One tier upgrade settlement over a large referral tree, against the aggregate every settlement
has to pay for, in the same run.

Builds a tenant with N clients in a random referral tree (depth up to 30), about three approved
deposit requests per client plus some manual entries and pending requests, and a rule on the
rank one client in ten holds. Then times:

* settle: one settlement through the job worker (``crm jobs run`` does the same): the tree and the
  deposit sums loaded, subtree totals computed in one pass, every candidate checked, records
  written and auto upgrades applied;
* raw: the floor — one plain SQL ``SELECT client_id, currency, SUM(amount) … GROUP BY client_id,
  currency`` over the approved deposit requests, text on the driver's cursor, every row fetched
  (``broker.raw_deposit_sums``); a plain scan of the clients' (id, referrer) is printed beside it
  but not counted in the floor;
* orm: the same GROUP BY through the ORM, ``Decimal`` sums — the baseline earlier runs divided by
  (it flattered the settlement 2.5-3x), kept for comparison.

Each floor is taken before and after the settlement, the smaller kept. The last line is JSON with
``clients``, ``deposits``, ``settle_s``, ``raw_s``, ``ratio`` = settle_s / raw_s (issue 13's target:
<= 2), ``orm_s``, ``orm_ratio`` and ``peak_rss_mb`` (target <= 1024 at N = 1,000,000). Uses SQLite
in a temp dir, or CRM_DATABASE_URL when set (point it at an empty database).

    python bench/settlement.py [--clients 100000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from broker import auto_rule, raw_client_scan, raw_deposit_sums  # noqa: E402  (bench/broker.py)
from sqlalchemy import func, insert, select, text  # noqa: E402

from core.config import Settings  # noqa: E402
from core.context import bind  # noqa: E402
from core.db import migrate  # noqa: E402
from core.runtime import Runtime  # noqa: E402

BATCH = 20_000
MAX_DEPTH = 30


def build(runtime: Runtime, clients: int, rng: random.Random) -> tuple[int, int, int]:
    """The tenant, its tree and deposits; returns (tenant id, rule id, deposits written)."""
    from broker import bench_tenant, ib_rank  # bench/broker.py

    from core.crm.models import Client, Deposit

    tenant_id = bench_tenant(runtime, "tier_upgrade", ("USD", "EUR"))
    with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
        rank_id, tier_ids = ib_rank(session, tenant_id)
        lowest = tier_ids[0]
    with runtime.db.engine.connect() as connection:
        first_id = (connection.execute(select(func.max(Client.id))).scalar() or 0) + 1

    started = time.perf_counter()
    depth = [0] * clients
    rows = []
    for n in range(clients):
        referrer = None
        if n and rng.random() < 0.97:
            parent = rng.randrange(max(0, n - 5000), n)  # recent sign-ups bring more sign-ups
            if depth[parent] < MAX_DEPTH - 1:
                referrer, depth[n] = first_id + parent, depth[parent] + 1
        ranked = rng.random() < 0.1
        rows.append(
            {
                "id": first_id + n,
                "tenant_id": tenant_id,
                "client_type": "ib" if ranked else "trader",
                "name": f"Client {n}",
                "email": f"c{n}@bench.example.com",
                "referrer_id": referrer,
                "rank_id": rank_id if ranked else None,
                "tier_id": lowest if ranked else None,
            }
        )
        if len(rows) == BATCH:
            _insert(runtime, tenant_id, Client, rows)
            rows = []
            print(f"  clients {n + 1:>9,}/{clients:,}", end="\r", flush=True)
    _insert(runtime, tenant_id, Client, rows)
    print(f"\r  {clients:,} clients (deepest level {max(depth)}) in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    decided = datetime.now(UTC) - timedelta(days=1)
    written = 0
    rows = []
    for n in range(clients):
        for _ in range(rng.choice((2, 3, 3, 4))):
            rows.append(_deposit(tenant_id, first_id + n, rng, "request", "approved", decided))
        if rng.random() < 0.1:
            rows.append(_deposit(tenant_id, first_id + n, rng, "manual", "approved", decided))
        if rng.random() < 0.1:
            rows.append(_deposit(tenant_id, first_id + n, rng, "request", "pending", None))
        if len(rows) >= BATCH:
            _insert(runtime, tenant_id, Deposit, rows)
            written += len(rows)
            rows = []
            print(f"  deposits {written:>9,}", end="\r", flush=True)
    _insert(runtime, tenant_id, Deposit, rows)
    written += len(rows)
    print(f"\r  {written:,} deposits in {time.perf_counter() - started:.1f} s")
    if runtime.db.engine.dialect.name == "postgresql":
        # Vacuumed as a live database's tables are: otherwise autovacuum wakes up on the freshly
        # written tables in the middle of the timed part, competing for the machine.
        with runtime.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE clients"))
            connection.execute(text("VACUUM ANALYZE deposits"))

    with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
        rule = auto_rule(
            bind(session, None, runtime, "bench"),
            "IB ladder",
            rank_id,
            [
                {
                    "tier_id": tier_ids[1],
                    "branches_required": 2,
                    "currencies": {
                        "USD": {"downline_total": "5000", "branch_minimum": "1000"},
                        "EUR": {"downline_total": "5000", "branch_minimum": "1000"},
                    },
                },
                {
                    "tier_id": tier_ids[2],
                    "branches_required": 3,
                    "currencies": {
                        "USD": {"downline_total": "50000", "branch_minimum": "5000"},
                    },
                },
            ],
            target="both",
        )
        rule_id = rule.id
    return tenant_id, rule_id, written


def _deposit(
    tenant_id: int, client_id: int, rng: random.Random, kind: str, status: str, decided: datetime | None
):
    return {
        "tenant_id": tenant_id,
        "client_id": client_id,
        "amount": Decimal(rng.randrange(1000, 500_000)) / 100,
        "currency": "USD" if rng.random() < 0.7 else "EUR",
        "kind": kind,
        "status": status,
        "decided_at": decided,
    }


# Columns the ORM would fill in, for PostgreSQL's COPY (which bypasses it).
COPY_DEFAULTS = {
    "clients": {"language": "en", "kyc_status": "not_submitted", "suspended": False},
    "deposits": {"note": "", "decision_note": ""},
}


def _insert(runtime: Runtime, tenant_id: int, model: Any, rows: list[dict[str, object]]) -> None:
    """Build data fast: COPY on PostgreSQL, the ORM's bulk INSERT on SQLite (not timed)."""
    if not rows:
        return
    if runtime.db.engine.dialect.name != "postgresql":
        with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
            session.execute(insert(model), rows)
        return
    table = model.__tablename__
    now = datetime.now(UTC)
    extra = {**COPY_DEFAULTS[table], "created_at": now, **({"updated_at": now} if table == "clients" else {})}
    columns = [*rows[0].keys(), *extra.keys()]
    connection = runtime.db.engine.raw_connection()
    try:
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row([*row.values(), *extra.values()])
        connection.commit()
    finally:
        connection.close()


def raw(runtime: Runtime, tenant_id: int) -> tuple[float, int]:
    return raw_deposit_sums(runtime, tenant_id, requests_only=True)


def scan(runtime: Runtime, tenant_id: int) -> tuple[float, int]:
    from core.crm.models import Deposit

    started = time.perf_counter()
    with runtime.db.transaction(tenant_id=tenant_id) as session:
        groups = 0
        for _ in session.execute(
            select(Deposit.client_id, Deposit.currency, func.sum(Deposit.amount))
            .where(Deposit.status == "approved")
            .group_by(Deposit.client_id, Deposit.currency)
            .execution_options(yield_per=20_000)
        ):
            groups += 1
    return time.perf_counter() - started, groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="crm-bench-settlement-")
    url = os.environ.get("CRM_DATABASE_URL") or f"sqlite:///{workdir}/bench.db"
    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    migrate.upgrade(url, runtime.plugins.migration_locations())
    engine = runtime.db.engine.dialect.name
    print(f"engine: {engine}; {args.clients:,} clients")
    from core.scheduler.worker import Worker
    from plugins.tier_upgrade.models import Settlement

    try:
        tenant_id, rule_id, deposits = build(runtime, args.clients, random.Random(args.seed))
        raw_s, groups = raw(runtime, tenant_id)
        print(f"raw (SQL GROUP BY, fetched): {raw_s:.2f} s ({groups:,} client-currency groups)")
        clients_s, _ = raw_client_scan(runtime, tenant_id)
        print(f"(a plain scan of the clients' id and referrer, not counted in the floor: {clients_s:.2f} s)")
        scan_s, _ = scan(runtime, tenant_id)
        print(f"orm (the GROUP BY through the ORM, the earlier baseline): {scan_s:.2f} s")
        started = time.perf_counter()
        run = Worker(runtime).run_now("bench", "tier_upgrade.settlement", key=str(rule_id))
        settle_s = time.perf_counter() - started
        assert run.status.value == "succeeded", run.error
        with runtime.db.transaction(tenant_id=tenant_id) as session:
            done = session.scalar(select(Settlement).where(Settlement.rule_id == rule_id))
            assert done is not None
            print(
                f"settle: {settle_s:.2f} s ({done.clients_checked:,} candidates, {done.records:,} records, "
                f"{done.upgraded:,} upgraded)"
            )
        raw_again, _ = raw(runtime, tenant_id)  # the floors again, after: noise shows here
        scan_again, _ = scan(runtime, tenant_id)
        print(f"raw again: {raw_again:.2f} s; orm again: {scan_again:.2f} s")
        raw_s, scan_s = min(raw_s, raw_again), min(scan_s, scan_again)
    finally:
        runtime.db.dispose()
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "engine": engine,
                "clients": args.clients,
                "deposits": deposits,
                "settle_s": round(settle_s, 2),
                "raw_s": round(raw_s, 3),
                "ratio": round(settle_s / raw_s, 2),
                "orm_s": round(scan_s, 3),
                "orm_ratio": round(settle_s / scan_s, 2),
                "peak_rss_mb": round(peak_rss_mb),
                "target": "ratio <= 2, peak_rss_mb <= 1024 at 1,000,000 clients on PostgreSQL",
            }
        )
    )


if __name__ == "__main__":
    main()
