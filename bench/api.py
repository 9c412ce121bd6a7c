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
import shutil
import statistics
import tempfile
from pathlib import Path

from serving import prepare, server, wait_until_up, wrk  # bench/serving.py


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
    try:
        with server("core.api.app:create_app", url, workdir) as base:
            gated, ungated = f"{base}/plugins/fixture_ticker/ping", f"{base}/me"
            wait_until_up(gated, token)
            wait_until_up(ungated, token)
            wrk(gated, token, 2, args.connections)  # warm up
            wrk(ungated, token, 2, args.connections)
            gated_rps, ungated_rps = [], []
            for round_number in range(1, args.rounds + 1):
                ungated_rps.append(wrk(ungated, token, args.seconds, args.connections)[0])
                gated_rps.append(wrk(gated, token, args.seconds, args.connections)[0])
                print(
                    f"round {round_number}: ungated {ungated_rps[-1]:8.1f} req/s, gated {gated_rps[-1]:8.1f}"
                )
    finally:
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
