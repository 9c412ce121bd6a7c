"""The SDK for third-party authors: an out-of-tree plugin pip-installed and discovered, and
`crm plugins new` producing a plugin that passes its own tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from starlette.requests import Request
from typer.testing import CliRunner

from core.access.models import DataScope, PrincipalKind
from core.access.principal import Principal
from core.api.app import create_app
from core.cli.main import app as cli
from core.crm.clients import get_client
from core.db import migrate
from core.runtime import Runtime
from core.scheduler.worker import Worker
from core.testing import CrmKit, expect, wipe
from core.web.contributions import render_slot
from tests.conftest import EXAMPLE, pip_install

ROOT = Path(__file__).resolve().parents[2]
NOTES = "/api/v1/plugins/client_notes"


def _run_own_tests(tests: Path, site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CRM_DATABASE_URL"}  # its own SQLite database
    # The installed plugin first, then whatever the parent ran with (a checkout of core, say).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def notes_runtime(example_site: Path, crm_runtime: Runtime) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(crm_runtime.settings)
    url = runtime.settings.database_url
    migrate.upgrade(url, runtime.plugins.migration_locations())
    yield runtime
    # Leave the shared test database as we found it: other processes will not have this plugin.
    command.downgrade(migrate.alembic_config(url, runtime.plugins.migration_locations()), "client_notes@base")
    runtime.db.dispose()


@pytest.fixture
def notes(notes_runtime: Runtime) -> Iterator[CrmKit]:
    app = create_app(notes_runtime, watch=False)
    with TestClient(app) as http:
        yield CrmKit(notes_runtime, app, http)
    wipe(notes_runtime.db)


def test_an_out_of_tree_plugin_is_discovered_after_pip_install(notes: CrmKit, example_site: Path):
    plugin = notes.runtime.plugins.plugins["client_notes"]
    assert plugin.distribution == "crm-client-notes 1.1.0"
    assert Path(plugin.module.__file__).is_relative_to(example_site)  # imported from where pip put it
    assert {t.name for t in plugin.tables} == {"client_notes_notes", "client_notes_digests"}


def test_the_example_installs_for_a_tenant_with_its_route_permission_event_and_job(notes: CrmKit):
    acme, globex = notes.tenant("acme"), notes.tenant("globex")
    installed = expect(acme.admin.post("/api/v1/marketplace/client_notes/install"), 200)
    assert installed["state"] == "enabled" and installed["installed_version"] == "1.1.0"
    client = acme.client()
    expect(acme.admin.post(f"{NOTES}/clients/{client['id']}/notes", json={"text": "VIP prospect"}), 201)
    assert acme.user(["clients.read"]).get(f"{NOTES}/clients/{client['id']}/notes").status_code == 403
    assert globex.admin.get(f"{NOTES}/clients/{client['id']}/notes").status_code == 404
    # Its event handler: a registration through a promotion link is noted.
    link = expect(acme.admin.post("/api/v1/promotion-links", json={"name": "Autumn", "code": "AUTUMN"}), 201)
    newbie = notes.register("acme", "new@example.com", name="New", promotion_code=link["code"])["client"]
    texts = [n["text"] for n in expect(acme.admin.get(f"{NOTES}/clients/{newbie['id']}/notes"), 200)]
    assert texts == ["Registered through promotion link AUTUMN (Autumn)."]
    # Its job: scheduled at install (Mondays 08:00 company time), and runnable now.
    schedules = expect(acme.admin.get("/api/v1/jobs/schedules"), 200)
    assert [(s["job_type"], s["cron"]) for s in schedules] == [("client_notes.weekly_digest", "0 8 * * 1")]
    run = Worker(notes.runtime).run_now("acme", "client_notes.weekly_digest")
    assert run.status.value == "succeeded", run.error
    assert expect(acme.admin.get(f"{NOTES}/digests"), 200)[0]["notes"] == 2


def test_the_examples_client_panel_fills_the_client_page_slot(notes: CrmKit):
    """The panel as the client's page renders it (``slot("backoffice.client_panel", client)``):
    the example's own tests reach it through its pages; this checks its slot registration."""
    acme, globex = notes.tenant("acme"), notes.tenant("globex")
    expect(acme.admin.post("/api/v1/marketplace/client_notes/install"), 200)
    client = acme.client()
    expect(acme.admin.post(f"{NOTES}/clients/{client['id']}/notes", json={"text": "VIP prospect"}), 201)

    def panel(tenant, client_id: int, *permissions: str) -> str:
        staff = Principal(
            kind=PrincipalKind.STAFF,
            id=1,
            tenant_id=tenant.id,
            label="staff@example.com",
            permissions=frozenset(permissions),
            data_scope=DataScope.ALL,
        )
        scope = {"type": "http", "app": notes.app, "method": "GET", "path": "/backoffice/", "headers": []}
        with tenant.ctx(staff) as ctx:
            subject = get_client(ctx, client_id)
            return str(render_slot(Request(scope), ctx, "backoffice.client_panel", subject))

    reader = panel(acme, client["id"], "client_notes.read")
    assert 'id="client-notes-panel"' in reader and "VIP prospect" in reader and "<form" not in reader
    writer = panel(acme, client["id"], "client_notes.read", "client_notes.write")
    assert f'hx-post="/backoffice/plugins/client_notes/clients/{client["id"]}/notes"' in writer
    assert 'name="csrf_token"' in writer and "At most 2000 characters." in writer
    assert panel(acme, client["id"], "clients.read") == ""  # without client_notes.read
    assert panel(globex, globex.client()["id"], "client_notes.read") == ""  # not installed there


def test_the_examples_own_tests_pass(example_site: Path, tmp_path: Path):
    result = _run_own_tests(EXAMPLE / "tests", example_site, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "7 passed" in result.stdout


def test_crm_plugins_new_scaffolds_a_plugin_that_passes_its_own_test(tmp_path: Path):
    target = tmp_path / "crm-loyalty-points"
    result = CliRunner().invoke(
        cli, ["plugins", "new", "loyalty_points", "--directory", str(target), "--vendor", "Acme Plugins"]
    )
    assert result.exit_code == 0, result.output
    package = target / "loyalty_points"
    assert (package / "manifest.json").exists()
    assert (package / "pages.py").exists() and (package / "templates" / "greetings.html").exists()
    site = tmp_path / "site"
    pip_install(target, site)
    outcome = _run_own_tests(target / "tests", site, tmp_path)
    assert outcome.returncode == 0, outcome.stdout[-3000:] + outcome.stderr[-3000:]
    assert "3 passed" in outcome.stdout
    refused = CliRunner().invoke(cli, ["plugins", "new", "Bad-Name", "--directory", str(tmp_path / "x")])
    assert refused.exit_code == 1 and "not a plugin name" in refused.output
