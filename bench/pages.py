"""What a page costs: the back office's clients list page (50 rows, HTML) against the JSON API's
same list, served by the same server in the same run, and what a page weighs.

One uvicorn worker on one database (one tenant, its administrator, 200 clients). ``wrk`` loads the
page (signed in by the back office's session cookie) and ``GET /api/v1/clients?per_page=50``
(bearer token), alternating which goes first round by round. The server-side time of a request is
the inverse of its throughput under the same load, so the ratio is API req/s / page req/s
(target <= 1.5). Then the weights: the page's own HTML for 50 rows (target < 60 KB) and a first
load — the HTML plus every stylesheet and script it links — uncompressed (target <= 250 KB).

    python bench/pages.py [--seconds 5] [--rounds 3] [--connections 16] [--engines sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import tempfile
from pathlib import Path

import httpx2
from request import database  # bench/request.py: a SQLite file or a throw-away PostgreSQL database
from serving import options, prepare, server, wait_until_up, wrk  # bench/serving.py

CLIENTS = 200
PAGE = "/backoffice/clients?per_page=50"
API = "/api/v1/clients?per_page=50"
COOKIE = "crm_session_back_office"
TARGETS = {"time_ratio": 1.5, "html_kb": 60, "first_load_kb": 250}


def weigh(base: str, token: str) -> dict[str, float]:
    """KB of the page's HTML, and of a first load: the HTML and every file it links."""
    cookies = {COOKIE: token}
    html = httpx2.get(base + PAGE, cookies=cookies, timeout=10)
    assert html.status_code == 200, html.text[:300]
    rows = html.text.count("<tr") - 1  # less the header row
    linked = re.findall(r'<(?:link[^>]+href|script[^>]+src)="(/static/[^"]+)"', html.text)
    assets = sum(len(httpx2.get(base + path, timeout=10).content) for path in linked)
    return {
        "rows": rows,
        "html_kb": round(len(html.content) / 1024, 1),
        "first_load_kb": round((len(html.content) + assets) / 1024, 1),
        "files": len(linked) + 1,
    }


def measure(engine_name: str, args: argparse.Namespace) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-pages-"))
    try:
        with database(engine_name, workdir) as url:
            token = prepare(url, CLIENTS)
            with server("core.api.app:create_app", url, workdir) as api_base:
                base = api_base.removesuffix("/api/v1")
                wait_until_up(base + API, token)
                weights = weigh(base, token)
                page_rps: list[float] = []
                api_rps: list[float] = []
                wrk(base + PAGE, token, 2, args.connections, cookie=COOKIE)  # warm up both
                wrk(base + API, token, 2, args.connections)
                for round_number in range(1, args.rounds + 1):
                    runs = [("page", base + PAGE, COOKIE), ("api", base + API, None)]
                    if round_number % 2 == 0:
                        runs.reverse()
                    for name, target, cookie in runs:
                        rps, p99 = wrk(target, token, args.seconds, args.connections, cookie=cookie)
                        (page_rps if name == "page" else api_rps).append(rps)
                        print(
                            f"{engine_name:10} round {round_number} {name:4} {rps:7.1f} req/s",
                            f"p99 {p99:6.1f} ms",
                        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    page, api = statistics.median(page_rps), statistics.median(api_rps)
    return {
        "page_rps": round(page, 1),
        "api_rps": round(api, 1),
        "page_ms": round(1000 / page, 2),
        "api_ms": round(1000 / api, 2),
        "time_ratio": round(api / page, 3),
        **weights,
    }


def main() -> None:
    args = options(__doc__.splitlines()[0])
    results = {name: measure(name, args) for name in args.engines}
    print()
    for engine_name, f in results.items():
        print(
            f"{engine_name:10} page {f['page_rps']} req/s vs API {f['api_rps']} req/s: server time ratio"
            f" {f['time_ratio']} (target <= {TARGETS['time_ratio']}); HTML of {f['rows']} rows"
            f" {f['html_kb']} KB (< {TARGETS['html_kb']}); first load {f['first_load_kb']} KB in"
            f" {f['files']} files (<= {TARGETS['first_load_kb']})"
        )
    print(json.dumps({"targets": TARGETS, **results}))


if __name__ == "__main__":
    main()
