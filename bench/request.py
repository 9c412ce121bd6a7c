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
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "plugins" / "fixtures"  # the test plugins, one of which we load
sys.path[:0] = [str(ROOT), str(FIXTURES)]

import httpx2  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from core.config import Settings  # noqa: E402
from core.db import migrate  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from core.testing import PASSWORD  # noqa: E402

CLIENTS = 200
POOL_SIZE = "40"
TARGETS = {"me": 1.0, "clients": 0.75, "plugin": 0.95}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(url: str) -> str:
    """Migrate; one tenant with the ticker plugin enabled and 200 clients; sign its admin in."""
    from core.access.auth import Audience, login
    from core.context import bind
    from core.crm.clients import create_client
    from core.crm.schemas import ClientIn
    from core.marketplace.service import install
    from core.tenancy.schemas import TenantIn
    from core.tenancy.service import create_tenant

    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    migrate.upgrade(url, runtime.plugins.migration_locations())
    with runtime.db.transaction(write=True) as session:
        tenant, _ = create_tenant(
            session,
            runtime,
            TenantIn(
                name="Bench", slug="bench", admin_email="admin@bench.example.com", admin_password=PASSWORD
            ),
        )
        session.info["tenant_id"] = tenant.id
        ctx = bind(session, None, runtime, "bench")
        install(ctx, "fixture_ticker")
        for number in range(CLIENTS):
            create_client(
                ctx,
                ClientIn(
                    client_type="trader", name=f"Client {number}", email=f"client{number}@bench.example.com"
                ),
            )
    with runtime.db.session(write=True) as session:
        issued = login(
            session,
            runtime.settings,
            Audience.BACK_OFFICE,
            email="admin@bench.example.com",
            password=PASSWORD,
            tenant_slug="bench",
        )
    runtime.db.dispose()
    return issued.token


@contextmanager
def server(factory: str, url: str, workdir: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "CRM_DATABASE_URL": url,
        "CRM_DB_POOL_SIZE": POOL_SIZE,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(FIXTURES)]),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=workdir,
    )
    try:
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_up(url: str, token: str) -> None:
    for _ in range(300):
        try:
            response = httpx2.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=1)
            if response.status_code == 200:
                return
            raise SystemExit(f"{url} answered {response.status_code}: {response.text[:300]}")
        except httpx2.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, token: str, seconds: int, connections: int) -> tuple[float, float]:
    """(requests per second, p99 latency in ms) of ``url`` under ``connections`` connections."""
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url} answered {errors.group(1)} errors under load:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None, out
    return rps, float(p99.group(1)) * _UNITS[p99.group(2)]


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
            token = prepare(url)
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--engines", default=None, help="comma-separated: sqlite,postgresql")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    default = (
        "sqlite,postgresql" if os.environ.get("CRM_DATABASE_URL", "").startswith("postgres") else "sqlite"
    )
    results = {name: measure(name, args) for name in (args.engines or default).split(",")}
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
