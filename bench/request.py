"""What a request costs: the CRM against a lean hand-written app doing the same work, same run.

Two servers (uvicorn, one worker each) share one database holding one tenant, its administrator and
200 clients: the CRM (``core.api.app``) and ``bench/lean_app.py``, a single-file FastAPI +
SQLAlchemy app that does honestly the same work (hashed bearer token lookup, the user's permissions,
check one, one tenant-scoped page of 50 rows, JSON out). ``wrk`` (Debian package ``wrk``) loads them
from a second process on 127.0.0.1, alternating the two sides of each pair round by round so machine
noise hits both alike:

* ``me``:      CRM ``GET /me``                   vs lean ``GET /me``        (target >= 1.0)
* ``clients``: CRM ``GET /clients`` (50 rows)     vs lean ``GET /clients``   (target >= 0.75)
* ``plugin``:  a plugin route listing the same 50 clients vs the CRM's core route (target >= 0.95)

Runs on SQLite (a temp file) and, when CRM_DATABASE_URL points at a PostgreSQL server, also on a
throw-away database created there. Both sides get the same pool size (CRM_DB_POOL_SIZE). The last
line is JSON: per engine and pair, requests per second and p99 of both sides, and their ratio.

    python bench/request.py [--seconds 5] [--rounds 3] [--connections 16]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from serving import options, prepare, server, wait_until_up, wrk  # bench/serving.py
from sqlalchemy import create_engine, make_url, text

CLIENTS = 200
TARGETS = {"me": 1.0, "clients": 0.75, "plugin": 0.95}


@contextmanager
def database(engine_name: str, workdir: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a throw-away database on CRM_DATABASE_URL's server."""
    if engine_name == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    server_url = make_url(os.environ["CRM_DATABASE_URL"]).set(drivername="postgresql+psycopg")
    name = f"crm_bench_{os.getpid()}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(engine_name: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-request-"))
    try:
        with database(engine_name, workdir) as url:
            token = prepare(url, CLIENTS)
            with (
                server("core.api.app:create_app", url, workdir) as crm,
                server("bench.lean_app:create_app", url, workdir) as lean,
            ):
                pairs = {
                    "me": (f"{crm}/me", f"{lean}/me"),
                    "clients": (f"{crm}/clients?per_page=50", f"{lean}/clients?per_page=50"),
                    "plugin": (
                        f"{crm}/plugins/fixture_ticker/clients?per_page=50",
                        f"{crm}/clients?per_page=50",
                    ),
                }
                for ours, theirs in pairs.values():
                    wait_until_up(ours, token)
                    wait_until_up(theirs, token)
                    wrk(ours, token, 2, args.connections)  # warm up both sides
                    wrk(theirs, token, 2, args.connections)
                samples: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in pairs}
                for round_number in range(1, args.rounds + 1):
                    for name, (ours, theirs) in pairs.items():
                        first, second = (ours, theirs) if round_number % 2 else (theirs, ours)
                        a = wrk(first, token, args.seconds, args.connections)
                        b = wrk(second, token, args.seconds, args.connections)
                        (o_rps, o_p99), (t_rps, t_p99) = (a, b) if round_number % 2 else (b, a)
                        samples[name].append((o_rps, o_p99, t_rps, t_p99))
                        print(
                            f"{engine_name:10} round {round_number} {name:8} ours {o_rps:7.1f} req/s"
                            f" p99 {o_p99:6.1f} ms | baseline {t_rps:7.1f} req/s p99 {t_p99:6.1f} ms",
                            flush=True,
                        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures: dict[str, dict[str, float]] = {}
    for name, rows in samples.items():
        ours_rps = statistics.median(r[0] for r in rows)
        theirs_rps = statistics.median(r[2] for r in rows)
        figures[name] = {
            "rps": round(ours_rps, 1),
            "p99_ms": round(statistics.median(r[1] for r in rows), 2),
            "baseline_rps": round(theirs_rps, 1),
            "baseline_p99_ms": round(statistics.median(r[3] for r in rows), 2),
            "ratio": round(ours_rps / theirs_rps, 3),
            "target": TARGETS[name],
        }
    return figures


def main() -> None:
    args = options(__doc__.splitlines()[0])
    results = {name: measure(name, args) for name in args.engines}
    print()
    for engine_name, figures in results.items():
        for name, f in figures.items():
            print(
                f"{engine_name:10} {name:8} {f['rps']:7.1f} req/s (p99 {f['p99_ms']:.1f} ms) vs baseline"
                f" {f['baseline_rps']:7.1f} req/s (p99 {f['baseline_p99_ms']:.1f} ms):"
                f" ratio {f['ratio']:.3f} (target >= {f['target']})"
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
