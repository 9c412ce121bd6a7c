"""What the module benchmarks share: the bench broker, with one module installed."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

SERVER = "postgresql://crm:crm@127.0.0.1:5433/postgres"


def fresh_postgresql(name: str, script: str) -> str:
    """The URL of database ``name``, dropped and created again on the server of CRM_DATABASE_URL
    (or 127.0.0.1:5433): the PostgreSQL-only benchmarks build in a database of their own."""
    from sqlalchemy import create_engine, make_url, text

    server = make_url(os.environ.get("CRM_DATABASE_URL") or SERVER)
    if server.get_backend_name() != "postgresql":
        raise SystemExit(f"{script} runs on PostgreSQL: set CRM_DATABASE_URL to a postgresql:// URL")
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def bench_tenant(
    runtime: Any, plugin: str, currencies: Sequence[str] = ("USD",), *, slug: str = "bench"
) -> int:
    """The tenant ``slug`` (base ``currencies``) with ``plugin`` installed; returns its id."""
    from core.context import bind
    from core.marketplace.service import install
    from core.tenancy.schemas import TenantIn
    from core.tenancy.service import create_tenant

    with runtime.db.transaction(write=True) as session:
        tenant, _ = create_tenant(
            session,
            runtime,
            TenantIn(
                name=slug.title(),
                slug=slug,
                base_currencies=list(currencies),
                admin_email=f"admin@{slug}.example.com",
                admin_password="Bench-Passw0rd",
            ),
        )
        tenant_id = tenant.id
    with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
        install(bind(session, None, runtime, "bench"), plugin)
    return tenant_id


def raw_deposit_sums(
    runtime: Any, tenant_id: int, *, requests_only: bool = False, count: bool = False
) -> tuple[float, int]:
    """The honest floor of every batch over deposits: one plain SQL ``GROUP BY client_id,
    currency`` over the tenant's approved deposits, as text on the driver's own cursor, every row
    fetched — no ORM, no SQLAlchemy result processing. Returns (seconds, groups)."""
    kind = " AND kind = 'request'" if requests_only else ""
    sql = (
        f"SELECT client_id, currency, SUM(amount){', COUNT(*)' if count else ''} FROM deposits"
        f" WHERE tenant_id = {int(tenant_id)} AND status = 'approved'{kind}"
        " GROUP BY client_id, currency"
    )
    return _fetch_all(runtime, [sql])


def raw_client_scan(runtime: Any, tenant_id: int, columns: str = "id, referrer_id") -> tuple[float, int]:
    """A plain scan of the tenant's clients, fetched (text SQL on the driver's cursor)."""
    return _fetch_all(runtime, [f"SELECT {columns} FROM clients WHERE tenant_id = {int(tenant_id)}"])


def _fetch_all(runtime: Any, statements: Sequence[str]) -> tuple[float, int]:
    connection = runtime.db.engine.raw_connection()
    try:
        started, rows = time.perf_counter(), 0
        cursor = connection.cursor()
        for sql in statements:
            cursor.execute(sql)
            rows += len(cursor.fetchall())
        cursor.close()
        seconds = time.perf_counter() - started
        connection.rollback()
    finally:
        connection.close()
    return seconds, rows


def auto_rule(ctx: Any, name: str, rank_id: int, tiers: list[dict[str, Any]], *, target: str = "ibs") -> Any:
    """A tier-upgrade rule that upgrades at once (auto), settled on Sundays at 18:00 UTC, any of
    its currencies sufficing; ``tiers`` as the API takes them."""
    from plugins.tier_upgrade.schemas import RuleIn
    from plugins.tier_upgrade.service import create_rule

    return create_rule(
        ctx,
        RuleIn(
            name=name,
            method="auto",
            target=target,
            rank_id=rank_id,
            currency_relation="or",
            timezone="UTC",
            settlement_time="18:00",
            tiers=tiers,
        ),
    )


def ib_rank(session: Any, tenant_id: int) -> tuple[int, list[int]]:
    """The rank "IB" with three tiers (B < S < G) in the tenant; returns (rank id, tier ids)."""
    from core.crm.models import Rank, Tier

    rank = Rank(name="IB", tenant_id=tenant_id)
    session.add(rank)
    session.flush()
    tiers = [Tier(rank_id=rank.id, name=n, level=i + 1, tenant_id=tenant_id) for i, n in enumerate("BSG")]
    session.add_all(tiers)
    session.flush()
    return rank.id, [t.id for t in tiers]
