"""What the load benchmarks share: a migrated database with one tenant, a uvicorn server of an app
factory, and ``wrk`` (Debian package ``wrk``) loading a URL from a second process on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "plugins" / "fixtures"  # the test plugins, one of which we load
sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402

from core.config import Settings  # noqa: E402
from core.db import migrate  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from core.testing import PASSWORD  # noqa: E402

POOL_SIZE = "40"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(url: str, clients: int = 0) -> str:
    """Migrate; one tenant with the ticker plugin (a test plugin) enabled and ``clients`` clients;
    sign its admin in and return the token."""
    if str(FIXTURES) not in sys.path:
        sys.path.append(str(FIXTURES))
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
        for number in range(clients):
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
def server(
    factory: str, url: str, workdir: Path, workers: int = 1, *, test_plugins: bool = True
) -> Iterator[str]:
    """``uvicorn --workers N`` of the app ``factory`` on a free port of 127.0.0.1, with the test
    plugins (``tests/plugins/fixtures``) discoverable, or only the product's."""
    port = free_port()
    env = {
        **os.environ,
        "CRM_DATABASE_URL": url,
        "CRM_DB_POOL_SIZE": POOL_SIZE,
        "PYTHONPATH": os.pathsep.join([str(ROOT), *([str(FIXTURES)] if test_plugins else [])]),
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
            str(workers),
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


def wrk(
    url: str, token: str, seconds: int, connections: int, *, cookie: str | None = None
) -> tuple[float, float]:
    """(requests per second, p99 latency in ms) of ``url`` under ``connections`` connections,
    signed in by bearer ``token``, or for a page by the session cookie ``cookie`` (its name)."""
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
            f"Cookie: {cookie}={token}" if cookie else f"Authorization: Bearer {token}",
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


def options(description: str) -> argparse.Namespace:
    """The load benchmarks' command line: rounds of ``--seconds`` under ``--connections``, on
    SQLite and, when CRM_DATABASE_URL points at PostgreSQL, on PostgreSQL too (``--engines``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--engines", default=None, help="comma-separated: sqlite,postgresql")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    if args.engines is None:
        on_postgres = os.environ.get("CRM_DATABASE_URL", "").startswith("postgres")
        args.engines = "sqlite,postgresql" if on_postgres else "sqlite"
    args.engines = args.engines.split(",")
    return args
