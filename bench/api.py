"""A gated plugin route against an ungated route of the same app, under load.

uvicorn serves the app with one worker; ``wrk`` (Debian package ``wrk``) loads it from a second
process on 127.0.0.1 for a fixed time per round, alternating the two routes so machine noise hits
both alike. Both routes authenticate the same bearer token and answer a tiny JSON body:

* gated:   GET /api/v1/plugins/fixture_ticker/ping — a plugin route: plugin gate + permission;
* ungated: GET /api/v1/me — a core route: authentication only.

The last line is JSON with requests per second and ``ratio`` = gated / ungated (target >= 0.8).
Uses SQLite in a temp dir, or CRM_DATABASE_URL when set (point it at an empty database).

    python bench/api.py [--seconds 8] [--rounds 3] [--connections 16]
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
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "plugins" / "fixtures"  # the test plugins, one of which we load
sys.path[:0] = [str(ROOT), str(FIXTURES)]

import httpx2  # noqa: E402

from core.config import Settings  # noqa: E402
from core.db import migrate  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from core.testing import PASSWORD  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(url: str) -> str:
    """Migrate, create a tenant with the plugin enabled, and sign its administrator in."""
    from core.access.auth import Audience, login
    from core.context import bind
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
        install(bind(session, None, runtime, "bench"), "fixture_ticker")
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


def wrk(url: str, token: str, seconds: int, connections: int) -> float:
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
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
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-api-"))
    url = os.environ.get("CRM_DATABASE_URL") or f"sqlite:///{workdir / 'bench.db'}"
    token = prepare(url)
    port = free_port()
    env = {**os.environ, "CRM_DATABASE_URL": url, "PYTHONPATH": os.pathsep.join([str(ROOT), str(FIXTURES)])}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "core.api.app:create_app",
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
    base = f"http://127.0.0.1:{port}/api/v1"
    gated, ungated = f"{base}/plugins/fixture_ticker/ping", f"{base}/me"
    try:
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(300):
            try:
                if httpx2.get(gated, headers=headers, timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not come up")
        assert httpx2.get(ungated, headers=headers).status_code == 200
        wrk(gated, token, 2, args.connections)  # warm up
        wrk(ungated, token, 2, args.connections)
        gated_rps, ungated_rps = [], []
        for round_number in range(1, args.rounds + 1):
            ungated_rps.append(wrk(ungated, token, args.seconds, args.connections))
            gated_rps.append(wrk(gated, token, args.seconds, args.connections))
            print(f"round {round_number}: ungated {ungated_rps[-1]:8.1f} req/s, gated {gated_rps[-1]:8.1f}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    g, u = statistics.median(gated_rps), statistics.median(ungated_rps)
    print(f"database:          {url.split(':', 1)[0]}")
    print(f"ungated (core):    {u:8.1f} req/s  (median of {args.rounds} rounds of {args.seconds} s)")
    print(f"gated (plugin):    {g:8.1f} req/s")
    print(f"ratio gated/ungated: {g / u:6.3f}  (target >= 0.8)")
    print(
        json.dumps(
            {
                "database": url.split(":", 1)[0],
                "gated_rps": round(g, 1),
                "ungated_rps": round(u, 1),
                "ratio": round(g / u, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
