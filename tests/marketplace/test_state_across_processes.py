"""A marketplace change made by one process is seen by the others (a separate server here)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx2

from core.testing import expect

FIXTURES = Path(__file__).parents[1] / "plugins" / "fixtures"  # the test plugins


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _within(seconds: float, check: Callable[[], bool]) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not seen within {seconds} s")


def test_another_server_process_stops_serving_a_disabled_module(pk, crm_database_url):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    port = _free_port()
    env = {
        **os.environ,
        "CRM_DATABASE_URL": crm_database_url,
        "PYTHONPATH": os.pathsep.join([str(FIXTURES), os.environ.get("PYTHONPATH", "")]),
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "crm"),
            "serve",
            "--port",
            str(port),
            "--no-outbox",
            "--no-worker",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {acme.admin.token}"}

    def status() -> int:
        try:
            return httpx2.get(
                f"{base}/api/v1/plugins/fixture_ticker/hello", headers=headers, timeout=2
            ).status_code
        except httpx2.TransportError:
            return 0

    try:
        _within(60, lambda: status() == 200)  # up, and its cache holds the tenant's modules
        expect(acme.admin.post("/api/v1/marketplace/fixture_ticker/disable"), 200)  # in this process
        assert _within(3, lambda: status() == 404) < 3
        expect(acme.admin.post("/api/v1/marketplace/fixture_ticker/enable"), 200)
        assert _within(3, lambda: status() == 200) < 3
    finally:
        server.terminate()
        server.wait(timeout=30)
