"""The crm command line, and the demo the README's run command starts."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

from core.cli.main import app
from core.demo import PASSWORD, seed_demo
from core.testing import ApiSession, expect

runner = CliRunner()


@pytest.fixture
def cli(crm, crm_database_url, monkeypatch):
    monkeypatch.setenv("CRM_DATABASE_URL", crm_database_url)
    return lambda *args, **kw: runner.invoke(app, list(args), **kw)


def test_tenants_create_then_the_admin_signs_in(crm, cli):
    result = cli(
        "tenants",
        "create",
        "--name",
        "Acme FX",
        "--slug",
        "acme",
        "--admin-email",
        "boss@acme.example.com",
        "--admin-password",
        "Str0ng-Passw0rd",
        "--currency",
        "USD",
        "--currency",
        "EUR",
        "--timezone",
        "Asia/Dubai",
    )
    assert result.exit_code == 0, result.output
    admin = crm.login("acme", "boss@acme.example.com", "Str0ng-Passw0rd")
    tenant = expect(admin.get("/api/v1/tenant"), 200)
    assert (tenant["base_currencies"], tenant["timezone"]) == (["USD", "EUR"], "Asia/Dubai")
    listed = cli("tenants", "list")
    assert "acme" in listed.output and "Acme FX" in listed.output


def test_bad_input_exits_non_zero_with_a_message_and_writes_nothing(crm, cli):
    before = crm.snapshot()
    weak = cli(
        "tenants",
        "create",
        "--name",
        "A",
        "--slug",
        "acme",
        "--admin-email",
        "a@acme.example.com",
        "--admin-password",
        "weak",
    )
    assert weak.exit_code == 1 and "admin_password" in weak.output and "Traceback" not in weak.output
    zone = cli(
        "tenants",
        "create",
        "--name",
        "A",
        "--slug",
        "acme",
        "--admin-email",
        "a@acme.example.com",
        "--admin-password",
        "Str0ng-Passw0rd",
        "--timezone",
        "Mars/Base",
    )
    assert zone.exit_code == 1 and "timezone" in zone.output
    assert crm.snapshot() == before
    assert cli("tenants", "create", "--bogus").exit_code != 0


def test_users_create_with_role_and_team(crm, cli):
    acme = crm.tenant("acme")
    acme.role(["clients.read"], scope="team", name="Reader")
    acme.team("Desk")
    result = cli(
        "users",
        "create",
        "--tenant",
        "acme",
        "--email",
        "new@acme.example.com",
        "--name",
        "New",
        "--password",
        "Str0ng-Passw0rd",
        "--role",
        "Reader",
        "--team",
        "Desk",
    )
    assert result.exit_code == 0, result.output
    me = expect(crm.login("acme", "new@acme.example.com", "Str0ng-Passw0rd").get("/api/v1/me"), 200)
    assert me["permissions"] == ["clients.read"] and me["data_scope"] == "team"
    missing = cli(
        "users",
        "create",
        "--tenant",
        "acme",
        "--email",
        "x@acme.example.com",
        "--name",
        "X",
        "--password",
        "Str0ng-Passw0rd",
        "--role",
        "Nope",
    )
    assert missing.exit_code == 1 and "no role 'Nope'" in missing.output


def test_db_upgrade_on_a_fresh_database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("CRM_DATABASE_URL", url)
    assert runner.invoke(app, ["db", "status"]).exit_code == 1
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["db", "status"]).exit_code == 0
    engine = create_engine(url)
    assert {"tenants", "clients", "deposits", "operation_log"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_the_demo_seed_is_rich_and_runs_once(crm):
    seed_demo(crm.runtime)
    counts = crm.snapshot(["clients", "deposits", "teams", "roles", "trading_accounts", "prop_challenges"])
    seed_demo(crm.runtime)
    assert crm.snapshot(list(counts)) == counts
    assert counts["clients"] == 200 and counts["teams"] == 2 and counts["prop_challenges"] == 3
    with crm.db.engine.connect() as connection:
        statuses = set(connection.execute(text("SELECT DISTINCT status FROM deposits")).scalars())
        scopes = set(connection.execute(text("SELECT DISTINCT data_scope FROM roles")).scalars())
        depth = connection.execute(
            text(
                "WITH RECURSIVE tree(id, depth) AS (SELECT id, 1 FROM clients WHERE referrer_id IS NULL "
                "UNION ALL SELECT c.id, t.depth + 1 FROM clients c JOIN tree t ON c.referrer_id = t.id) "
                "SELECT MAX(depth) FROM tree"
            )
        ).scalar_one()
    assert statuses == {"pending", "approved", "rejected"}
    assert scopes == {"all", "team", "own"}
    assert depth >= 4
    agent = crm.login("demo", "agent.a@demo.example.com", PASSWORD)
    manager = crm.login("demo", "manager@demo.example.com", PASSWORD)
    admin = crm.login("demo", "admin@demo.example.com", PASSWORD)
    seen = [expect(s.get("/api/v1/clients"), 200)["total"] for s in (agent, manager, admin)]
    assert 0 < seen[0] <= seen[1] < seen[2] == 200
    # Every bundled module is installed, with its own demo records.
    installed = {m["name"] for m in expect(admin.get("/api/v1/marketplace"), 200) if m["state"] == "enabled"}
    assert set(crm.runtime.plugins.plugins) <= installed
    response = crm.http.post(
        "/api/v1/portal/auth/login",
        json={"tenant": "demo", "email": "client1@example.com", "password": PASSWORD},
    )
    portal = ApiSession(crm.http, expect(response, 200)["access_token"])
    coupons = expect(portal.get("/api/v1/portal/plugins/coupons/coupons"), 200)
    assert [c["name"] for c in coupons if c["valid"]] == ["Welcome 10% off"]
    offers = expect(portal.get("/api/v1/portal/prop/challenges"), 200)
    assert all(o["price"] != o["fee"] for o in offers)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_crm_serve_demo_starts_and_a_printed_login_works(tmp_path):
    """The README's run command: the server comes up with demo data and the login it prints works."""
    port = _free_port()
    env = {**os.environ, "CRM_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    env.pop("CRM_SMTP_HOST", None)
    crm_bin = Path(sys.executable).parent / "crm"
    server = subprocess.Popen(
        [str(crm_bin), "serve", "--demo", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        printed = []
        for line in server.stdout:  # ends early if the server dies
            printed.append(line)
            if "Account managers (platform console)" in line:
                break
        output = "".join(printed)
        assert f"{base}/docs" in output, output
        # Piped, the banner is not wrapped: each URL stays on the line that names it.
        assert f"crm-marketplace on {base}  (API docs: {base}/docs)\n" in output, output
        platform = printed[-1]  # the line naming the operator's login
        assert f"{base}/platform/login   operator@" in platform, output
        assert (
            f"{base}/backoffice/login?company=demo" in output
            and f"{base}/portal/login?company=demo" in output
        )
        password = re.search(r"password for every account: (\S+)", output).group(1)
        email = re.search(r"(admin@\S+)", output).group(1)
        deadline = time.monotonic() + 60
        token = None
        while token is None and time.monotonic() < deadline:
            try:
                response = httpx2.post(
                    f"{base}/api/v1/auth/login",
                    json={"tenant": "demo", "email": email, "password": password},
                    timeout=2,
                )
                token = expect(response, 200)["access_token"]
            except httpx2.TransportError:
                time.sleep(0.3)
        assert token is not None, "the server did not come up within 60 s"
        clients = httpx2.get(
            f"{base}/api/v1/clients", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert clients.json()["total"] == 200
        # The root is a page leading to the three sign-ins, not a JSON error.
        root = httpx2.get(f"{base}/", timeout=5)
        assert root.status_code == 200 and 'href="/backoffice/login"' in root.text
    finally:
        server.terminate()
        server.wait(timeout=30)
