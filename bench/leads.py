"""The Leads module's CSV import against a plain bulk insert of the same rows, and the duplicate
check among a million leads and clients, in the same run, on PostgreSQL.

Builds, in a database of its own (dropped and created again: ``--database``, on the server of
CRM_DATABASE_URL or 127.0.0.1:5433), a broker with the module and ``--existing`` leads and as many
clients (INSERT … SELECT generate_series, not timed; e-mail addresses and E.164 numbers of their
own). Then times:

* plain: the file's rows, already parsed and normalized, written with ``insert_rows`` in one unit
  of work (no check at all), then deleted again — the floor;
* import: ``imports.import_leads`` on the CSV text of the same rows (``--rows``; 2 % of them
  duplicate an existing lead or client, 1 % an earlier row): every row parsed and checked, e-mail
  and phone normalized, duplicates looked up in the file, the leads and the clients, the rest
  written; ``ratio`` = import_s / plain_s (target <= 3);
* duplicate check: ``service.duplicates`` for one new lead's e-mail and phone (as creating a lead
  shows them), ``--probes`` times at random, half of them matching: p50 and p95 (target p95 <= 5 ms).

The last line is JSON with the figures and the ratio.

    python bench/leads.py [--rows 100000] [--existing 1000000] [--probes 400] [--seed 7]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from broker import fresh_postgresql  # noqa: E402  (bench/broker.py)
from sqlalchemy import delete, make_url, text  # noqa: E402

from core.config import Settings  # noqa: E402
from core.context import bind  # noqa: E402
from core.db import migrate  # noqa: E402
from core.runtime import Runtime  # noqa: E402


def build(runtime: Runtime, existing: int) -> int:
    """The broker, ``existing`` leads and as many clients; returns the tenant id."""
    from broker import bench_tenant  # bench/broker.py

    tenant_id = bench_tenant(runtime, "leads")
    started = time.perf_counter()
    with runtime.db.engine.begin() as connection:
        connection.execute(
            text(
                """
                INSERT INTO leads_leads (tenant_id, name, email, email_key, phone, phone_key, country,
                                         language, source, status, comment, joined_at, updated_at,
                                         portal_status)
                SELECT :tenant, 'Lead ' || n, 'lead' || n || '@bench.example.com',
                       'lead' || n || '@bench.example.com', '+4420' || lpad(n::text, 8, '0'),
                       '+4420' || lpad(n::text, 8, '0'), 'GB', 'en', 'website', 'not_followed_up', '',
                       now(), now(), 'unregistered'
                FROM generate_series(1, :n) AS n
                """
            ),
            {"tenant": tenant_id, "n": existing},
        )
        connection.execute(
            text(
                """
                INSERT INTO clients (tenant_id, client_type, name, email, phone, phone_e164, country,
                                     language, kyc_status, suspended, created_at, updated_at)
                SELECT :tenant, 'trader', 'Client ' || n, 'client' || n || '@bench.example.com',
                       '+4430' || lpad(n::text, 8, '0'), '+4430' || lpad(n::text, 8, '0'), 'GB', 'en',
                       'not_submitted', false, now(), now()
                FROM generate_series(1, :n) AS n
                """
            ),
            {"tenant": tenant_id, "n": existing},
        )
    with runtime.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE leads_leads"))
        connection.execute(text("VACUUM ANALYZE clients"))
    print(f"  {existing:,} leads and {existing:,} clients in {time.perf_counter() - started:.1f} s")
    return tenant_id


def the_file(rows: int, existing: int, rng: random.Random) -> str:
    """CSV of ``rows`` new leads, typed as people type them (national numbers, mixed case); 2 % name
    an existing lead or client, 1 % repeat an earlier row."""
    out = io.StringIO()
    out.write("Full name,E-mail,Mobile,Country\n")
    for i in range(rows):
        roll = rng.random()
        if roll < 0.01 and existing:
            n = rng.randint(1, existing)
            email, phone = f"Lead{n}@Bench.example.com", f"020 {n:08d}"[:14]
        elif roll < 0.02 and existing:
            n = rng.randint(1, existing)
            email, phone = f"client{n}@bench.example.com", f"+44 30 {n:08d}"
        elif roll < 0.03 and i:
            j = rng.randrange(i)
            email, phone = f"New.Person{j}@Example.com", f"07700 {j:06d}"
        else:
            email, phone = f"New.Person{i}@Example.com", f"07700 {i:06d}"
        out.write(f"Person {i},{email},{phone},GB\n")
    return out.getvalue()


def plain_rows(csv_text: str) -> list[dict[str, Any]]:
    """The file's rows as the import writes them, normalized beforehand (not timed)."""
    import csv

    from core.sdk import normalize_email, normalize_phone, utcnow
    from plugins.leads.models import LeadStatus, PortalStatus

    now = utcnow()
    return [
        {
            "name": row["Full name"],
            "email": normalize_email(row["E-mail"]),
            "email_key": normalize_email(row["E-mail"]),
            "phone": row["Mobile"],
            "phone_key": normalize_phone(row["Mobile"], "GB"),
            "country": "GB",
            "language": "en",
            "source": "import",
            "status": LeadStatus.NOT_FOLLOWED_UP,
            "owner_user_id": None,
            "comment": "",
            "joined_at": now,
            "updated_at": now,
            "portal_status": PortalStatus.UNREGISTERED,
        }
        for row in csv.DictReader(io.StringIO(csv_text))
    ]


def plain(runtime: Runtime, tenant_id: int, rows: list[dict[str, Any]]) -> float:
    """A plain bulk insert of the rows in one unit of work (then removed, untimed)."""
    from core.sdk import insert_rows
    from plugins.leads.models import Lead

    began = time.perf_counter()
    with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
        insert_rows(session, Lead, rows)
    elapsed = time.perf_counter() - began
    with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
        session.execute(delete(Lead).where(Lead.source == "import"))
    return elapsed


def imported(runtime: Runtime, tenant_id: int, csv_text: str) -> tuple[float, Any]:
    from plugins.leads import imports

    mapping = {"name": "Full name", "email": "E-mail", "phone": "Mobile", "country": "Country"}
    began = time.perf_counter()
    with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
        report = imports.import_leads(bind(session, None, runtime, "bench"), csv_text, mapping=mapping)
    elapsed = time.perf_counter() - began
    with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
        from plugins.leads.models import Lead

        session.execute(delete(Lead).where(Lead.source == "import"))
    return elapsed, report


def probes(runtime: Runtime, tenant_id: int, existing: int, count: int, rng: random.Random) -> list[float]:
    """Milliseconds of one duplicate check each (a new lead's e-mail and phone; half match)."""
    from plugins.leads import service

    timings: list[float] = []
    for i in range(count):
        n = rng.randint(1, max(existing, 1))
        if i % 2:
            email, phone = f"lead{n}@bench.example.com", f"030 {n:08d}"
        else:
            email, phone = f"nobody{i}@example.com", f"07911 {i:06d}"
        with runtime.db.transaction(tenant_id=tenant_id) as session:
            ctx = bind(session, None, runtime, "bench")
            began = time.perf_counter()
            service.duplicates(ctx, email, phone, "GB")
            timings.append((time.perf_counter() - began) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--existing", type=int, default=1_000_000, help="leads, and as many clients")
    parser.add_argument("--probes", type=int, default=400)
    parser.add_argument("--database", default="crm_bench_leads", help="dropped and created again")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    url = fresh_postgresql(args.database, "bench/leads.py")
    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    migrate.upgrade(url, runtime.plugins.migration_locations())
    rng = random.Random(args.seed)
    print(
        f"engine: postgresql ({make_url(url).database}); {args.rows:,} rows against {args.existing:,} leads"
    )
    try:
        tenant_id = build(runtime, args.existing)
        csv_text = the_file(args.rows, args.existing, rng)
        rows = plain_rows(csv_text)
        plain_s, import_s, report = [], [], None
        for _ in range(3):  # alternated, the best of each: the machine is noisy
            plain_s.append(plain(runtime, tenant_id, rows))
            elapsed, report = imported(runtime, tenant_id, csv_text)
            import_s.append(elapsed)
        assert report is not None
        timings = probes(runtime, tenant_id, args.existing, args.probes, rng)
    finally:
        runtime.db.dispose()
    best_plain, best_import = min(plain_s), min(import_s)
    p50 = statistics.quantiles(timings, n=100)[49]
    p95 = statistics.quantiles(timings, n=100)[94]
    print(
        f"plain bulk insert of {len(rows):,} rows: {best_plain:.2f} s "
        f"(runs {', '.join(f'{s:.2f}' for s in plain_s)})"
    )
    print(
        f"import of the file: {best_import:.2f} s (runs {', '.join(f'{s:.2f}' for s in import_s)}): "
        f"{report.imported:,} imported, {len(report.duplicates):,} duplicates skipped, "
        f"{len(report.errors)} errors"
    )
    print(f"ratio import / plain: {best_import / best_plain:.2f} (target <= 3)")
    print(
        f"duplicate check among {args.existing:,} leads and clients: p50 {p50:.2f} ms, "
        f"p95 {p95:.2f} ms (target <= 5)"
    )
    print(
        json.dumps(
            {
                "engine": "postgresql",
                "rows": args.rows,
                "existing": args.existing,
                "plain_s": round(best_plain, 2),
                "import_s": round(best_import, 2),
                "imported": report.imported,
                "duplicates": len(report.duplicates),
                "ratio": round(best_import / best_plain, 2),
                "duplicate_check_p50_ms": round(p50, 2),
                "duplicate_check_p95_ms": round(p95, 2),
                "target": "ratio <= 3, duplicate_check_p95_ms <= 5",
            }
        )
    )


if __name__ == "__main__":
    main()
