"""A load test of the whole system, and a check afterwards that nothing was lost or doubled.

The demo broker (``crm serve --demo``'s) scaled up to ``--clients`` portal clients (10,000), in a
PostgreSQL database of its own (``--database``, dropped and created again on the server of
CRM_DATABASE_URL or 127.0.0.1:5433), served by ``uvicorn --workers 2`` on 127.0.0.1. Every load
client holds a 5 % coupon (one use each) and may use the promo code LOAD10 (one use each, 300 in
all). locust (``bench/load_users.py``) then runs ``--users`` users for ``--seconds`` (60): portal
clients signing in, looking at the challenges with their prices, checking out with the coupon,
the promo code, both or neither, and looking at their orders; staff listing and exporting
clients and recording payments (or failures) of placed orders. Meanwhile a tier-upgrade
settlement runs over the whole broker, in a job worker of its own.

Reported: requests per second, p50 and p99 per kind, errors — counted once every user has started
(locust ``--reset-stats``: the ramp-up, when every user signs in at once, is not steady state).
``--without export,sign-in`` leaves kinds of work out, to see what a tail comes from.

Then the consistency checks, in the database: every coupon's and promo code's count of uses equals
its reserved and confirmed redemptions, and stays within its caps; every client's uses likewise;
every order's redemptions are in the state its own state implies (placed: reserved, paid:
confirmed, failed or cancelled: released); every order a checkout was told it placed exists; the
settlement ran exactly once. The checks are then run once more against a deliberately corrupted
copy (a coupon use counted twice, inside a transaction rolled back): they must report it, or the
run fails — so they can fail.

Targets (issue 13): 0 errors, 0 inconsistencies, p99 of a portal page under 10x its p50. The last
line is JSON with the figures.

    pip install -e ".[bench]"   # locust: only this benchmark uses it
    python bench/load.py [--clients 10000] [--users 40] [--seconds 60]
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx2
from broker import auto_rule, fresh_postgresql
from serving import server
from sqlalchemy import Connection, func, insert, select, text

from core.config import Settings
from core.context import bind
from core.db import migrate
from core.runtime import Runtime

HERE = Path(__file__).resolve().parent
PROMO = "LOAD10"
PORTAL_PAGES = ("portal: challenge offers", "portal: my orders")  # the p99 < 10 x p50 target


def prepare(url: str, clients: int) -> dict[str, Any]:
    """The demo broker, its load clients (sharing the demo password), a coupon they all hold, the
    promo code, and a tier-upgrade rule to settle; what the users need to know."""
    from core.crm.models import Client, ClientGroup, PropChallenge, Rank, Tier
    from core.demo import seed_demo
    from core.tenancy.models import Tenant
    from plugins.coupons.coupons import create_coupon
    from plugins.coupons.distribution import distribute
    from plugins.coupons.promo_codes import create_promo_code
    from plugins.coupons.schemas import CouponIn, DistributeIn, PromoCodeIn

    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    migrate.upgrade(url, runtime.plugins.migration_locations())
    logins = seed_demo(runtime)
    with runtime.db.transaction(all_tenants=True) as session:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == logins.tenant))
    rng = random.Random(7)
    with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
        ctx = bind(session, None, runtime, "bench")
        password_hash = session.scalar(select(Client.password_hash).where(Client.email == logins.client))
        rank = session.scalars(select(Rank).order_by(Rank.id)).first()
        tiers = session.scalars(select(Tier).where(Tier.rank_id == rank.id).order_by(Tier.level)).all()
        group = ClientGroup(name="Load test", tenant_id=tenant_id)
        session.add(group)
        session.flush()
        first = (session.scalar(select(func.max(Client.id))) or 0) + 1
        ibs = list(session.scalars(select(Client.id).where(Client.client_type == "ib")))
        rows = []
        for n in range(clients):
            ib = rng.random() < 0.1
            rows.append(
                {
                    "id": first + n,
                    "tenant_id": tenant_id,
                    "client_type": "ib" if ib else "trader",
                    "name": f"Load client {n}",
                    "email": f"load{n}@example.com",
                    "password_hash": password_hash,
                    "group_id": group.id,
                    "referrer_id": rng.choice(ibs) if ibs else None,
                    "rank_id": rank.id if ib else None,
                    "tier_id": tiers[0].id if ib else None,
                }
            )
            if ib:
                ibs.append(first + n)
        session.execute(insert(Client), rows)
        coupon = create_coupon(
            ctx,
            CouponIn(
                name="Load 5% off",
                discount_method="percentage",
                discount_value=Decimal(5),
                distribution_method="manual",
                uses_per_client=1,
                allow_with_promo_codes=True,
            ),
        )
        distribute(
            ctx,
            coupon.id,
            DistributeIn(
                group_ids=[group.id], popup_title="5% off", popup_text="For the load test.", design_id="gold"
            ),
        )
        create_promo_code(
            ctx,
            PromoCodeIn(
                code=PROMO,
                name="Load 10%",
                discount_method="percentage",
                discount_value=Decimal(10),
                uses_per_client=1,
                total_cap=300,
                allow_with_coupons=True,
            ),
        )
        rule = auto_rule(
            ctx,
            "Load ladder",
            rank.id,
            [
                {
                    "tier_id": tiers[-1].id,
                    "branches_required": 1,
                    "currencies": {"USD": {"downline_total": "1000", "branch_minimum": "100"}},
                }
            ],
        )
        challenges = list(session.scalars(select(PropChallenge.id).where(PropChallenge.active)))
        config = {
            "tenant": logins.tenant,
            "tenant_id": tenant_id,
            "password": logins.password,
            "staff_email": next(iter(logins.staff.values())),
            "client_emails": [f"load{n}@example.com" for n in range(clients)],
            "coupon_id": coupon.id,
            "promo_code": PROMO,
            "challenge_ids": challenges,
            "rule_id": rule.id,
        }
    with runtime.db.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    runtime.db.dispose()
    return config


def settle(url: str, tenant: str, rule_id: int) -> tuple[str, float]:
    """The tier-upgrade settlement of the rule, as a job worker runs it (its own process)."""
    from core.scheduler.worker import Worker

    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    began = time.perf_counter()
    run = Worker(runtime).run_now(tenant, "tier_upgrade.settlement", key=str(rule_id))
    runtime.db.dispose()
    return run.status.value, time.perf_counter() - began


def wait_for(root: str) -> None:
    for _ in range(300):
        try:
            if httpx2.get(f"{root}/api/v1/openapi.json", timeout=2).status_code < 500:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{root} did not come up")


def checks(connection: Connection, tenant_id: int, placed: list[int], rule_id: int) -> dict[str, int]:
    """Each invariant's count of offending rows (all 0 when nothing was lost or doubled)."""
    active = "r.status IN ('reserved', 'confirmed')"
    runs = "FROM job_runs WHERE tenant_id = :t AND job_type = 'tier_upgrade.settlement'"
    queries = {
        "coupon uses != its redemptions, or above its cap": f"""
            SELECT count(*) FROM coupons_coupons c WHERE c.tenant_id = :t AND (
              c.redeemed <> (SELECT count(*) FROM coupons_redemptions r WHERE r.coupon_id = c.id AND {active})
              OR c.redeemed > coalesce(c.total_cap, c.redeemed))""",
        "a client's coupon uses != its redemptions, or above uses per client": f"""
            SELECT count(*) FROM coupons_grants g JOIN coupons_coupons c ON c.id = g.coupon_id
            WHERE g.tenant_id = :t AND (
              g.uses <> (SELECT count(*) FROM coupons_redemptions r WHERE r.grant_id = g.id AND {active})
              OR g.uses > coalesce(c.uses_per_client, g.uses))""",
        "promo code uses != its redemptions, or above its cap": f"""
            SELECT count(*) FROM coupons_promo_codes p WHERE p.tenant_id = :t AND (
              p.redeemed <> (SELECT count(*) FROM coupons_redemptions r
                             WHERE r.promo_code_id = p.id AND {active})
              OR p.redeemed > coalesce(p.total_cap, p.redeemed))""",
        "a client's promo uses != their redemptions, or above uses per client": f"""
            SELECT count(*) FROM coupons_promo_usages u JOIN coupons_promo_codes p ON p.id = u.promo_code_id
            WHERE u.tenant_id = :t AND (
              u.uses <> (SELECT count(*) FROM coupons_redemptions r
                         WHERE r.promo_code_id = u.promo_code_id AND r.client_id = u.client_id AND {active})
              OR u.uses > coalesce(p.uses_per_client, u.uses))""",
        "an order's redemption in a state its order's state forbids": """
            SELECT count(*) FROM prop_orders o JOIN coupons_redemptions r ON r.order_id = o.id
            WHERE o.tenant_id = :t AND NOT (
              (o.status = 'placed' AND r.status = 'reserved')
              OR (o.status = 'paid' AND r.status = 'confirmed')
              OR (o.status IN ('failed', 'cancelled') AND r.status = 'released'))""",
        "orders a checkout was told it placed, missing": """
            SELECT count(*) FROM unnest(CAST(:placed AS bigint[])) AS p(id)
            WHERE NOT EXISTS (SELECT 1 FROM prop_orders o WHERE o.id = p.id AND o.tenant_id = :t)""",
        "orders placed twice (the same order id told twice)": """
            SELECT count(*) - count(DISTINCT id) FROM unnest(CAST(:placed AS bigint[])) AS p(id)""",
        "settlement runs != 1 succeeded, or settlements of the rule != 1": f"""
            SELECT (SELECT count(*) {runs}) - (SELECT count(*) {runs} AND status = 'succeeded')
                   + abs(1 - (SELECT count(*) {runs}))
                   + abs(1 - (SELECT count(*) FROM tier_upgrade_settlements WHERE rule_id = :rule))""",
    }
    params = {"t": tenant_id, "placed": placed, "rule": rule_id}
    return {name: int(connection.execute(text(sql), params).scalar() or 0) for name, sql in queries.items()}


def read_stats(prefix: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    with open(f"{prefix}_stats.csv") as stats:
        rows = list(csv.DictReader(stats))
    kinds = [
        {
            "kind": row["Name"],
            "requests": int(row["Request Count"]),
            "errors": int(row["Failure Count"]),
            "rps": round(float(row["Requests/s"]), 1),
            "p50_ms": float(row["50%"]),
            "p99_ms": float(row["99%"]),
        }
        for row in rows
        # A kind seen only before the stats were reset has no requests, and no percentiles.
        if row["Name"] != "Aggregated" and int(row["Request Count"]) > 0
    ]
    total = next(row for row in rows if row["Name"] == "Aggregated")
    return kinds, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=40, help="locust users (8 clients to 2 staff)")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--database", default="crm_bench_load", help="dropped and created again")
    parser.add_argument(
        "--without", default="", help="leave out kinds of work by tag: export, sign-in (comma-separated)"
    )
    args = parser.parse_args()

    url = fresh_postgresql(args.database, "bench/load.py")
    started = time.perf_counter()
    config = prepare(url, args.clients)
    print(f"the demo broker with {args.clients:,} more clients, in {time.perf_counter() - started:.1f} s")
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-load-"))
    config["placed_file"] = str(workdir / "placed.json")
    (workdir / "config.json").write_text(json.dumps(config))
    prefix = str(workdir / "locust")
    spawn = multiprocessing.get_context("spawn")
    with (
        server("core.api.app:create_app", url, workdir, workers=2, test_plugins=False) as base,
        spawn.Pool(1) as pool,
    ):
        root = base.removesuffix("/api/v1")
        wait_for(root)
        locust = subprocess.Popen(
            [
                sys.executable, "-m", "locust", "-f", str(HERE / "load_users.py"), "--headless",
                "-u", str(args.users), "-r", str(max(1, args.users // 5)), "-t", f"{args.seconds}s",
                "--host", root, "--csv", prefix, "--only-summary", "--stop-timeout", "10", "--reset-stats",
                "--loglevel", "WARNING", *(["--exclude-tags", *args.without.split(",")] if args.without else []),  # noqa: E501
            ],
            env={**os.environ, "CRM_LOAD_CONFIG": str(workdir / "config.json")},
        )  # fmt: skip
        time.sleep(min(10, args.seconds / 4))
        settling = pool.apply_async(settle, (url, config["tenant"], config["rule_id"]))
        locust.wait(timeout=args.seconds + 120)
        settlement_status, settlement_s = settling.get(timeout=600)
    kinds, total = read_stats(prefix)
    placed = json.loads(Path(config["placed_file"]).read_text())

    from sqlalchemy import create_engine

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        found = checks(connection, config["tenant_id"], placed, config["rule_id"])
    # The checks can fail: a coupon use counted twice (rolled back) must be reported.
    with engine.connect() as connection, connection.begin() as tamper:
        connection.execute(
            text("UPDATE coupons_coupons SET redeemed = redeemed + 1 WHERE id = :c"),
            {"c": config["coupon_id"]},
        )
        caught = sum(checks(connection, config["tenant_id"], placed, config["rule_id"]).values()) > 0
        tamper.rollback()
    engine.dispose()

    print(f"{'kind':58} {'requests':>8} {'errors':>6} {'rps':>7} {'p50 ms':>7} {'p99 ms':>7}")
    for kind in kinds:
        print(
            f"{kind['kind']:58} {kind['requests']:>8,} {kind['errors']:>6} {kind['rps']:>7} "
            f"{kind['p50_ms']:>7.0f} {kind['p99_ms']:>7.0f}"
        )
    errors = int(total["Failure Count"])
    rps = float(total["Requests/s"])
    print(f"all: {int(total['Request Count']):,} requests, {rps:.1f} per second, {errors} errors")
    print(f"the settlement meanwhile: {settlement_status} in {settlement_s:.1f} s")
    print(f"orders placed: {len(placed):,}")
    for name, count in found.items():
        print(f"  {'ok ' if count == 0 else 'BAD'} {name}: {count}")
    print(f"the checks catch a coupon use counted twice: {caught}")
    pages = {k["kind"]: k for k in kinds if k["kind"] in PORTAL_PAGES}
    tail = {name: round(k["p99_ms"] / max(k["p50_ms"], 1), 1) for name, k in pages.items()}
    inconsistencies = sum(found.values())
    print(
        json.dumps(
            {
                "engine": "postgresql",
                "clients": args.clients,
                "users": args.users,
                "without": args.without,
                "seconds": args.seconds,
                "requests": int(total["Request Count"]),
                "rps": round(rps, 1),
                "errors": errors,
                "inconsistencies": inconsistencies,
                "checks_can_fail": caught,
                "orders_placed": len(placed),
                "settlement": settlement_status,
                "portal_p99_over_p50": tail,
                "kinds": {
                    k["kind"]: {"p50_ms": k["p50_ms"], "p99_ms": k["p99_ms"], "n": k["requests"]}
                    for k in kinds
                },
                "target": "0 errors, 0 inconsistencies, portal p99 < 10x p50",
            }
        )
    )
    if inconsistencies or not caught:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
