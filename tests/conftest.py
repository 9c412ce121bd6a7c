"""Tests that use the ``pk`` kit run against a runtime that also discovers the test plugins in
plugins/fixtures (registered through a real entry-point file), with their migrations applied.
They live beside the tests of the core package they are about; the fixtures are here so that
every folder reaches them.

The test plugins share the session's database and process with every other test, so they are
there only while a module that uses them runs: outside it, ``fixtures`` is off ``sys.path`` (a
runtime or a ``crm`` command started in this process does not discover them) and their
migrations are undone (``crm_runtime``, whose plugins know nothing of them, and a ``crm serve``
started on the database find it as their own plugins describe it)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient

from core.api.app import create_app
from core.db import migrate
from core.runtime import Runtime
from core.testing import CrmKit, wipe

FIXTURES = Path(__file__).parent / "plugins" / "fixtures"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "client_notes"


def pip_install(source: Path, target: Path) -> None:
    """Install a plugin's source folder into ``target`` as pip would for a broker (no deps)."""
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"),
            *("--target", str(target), str(source)),
        ],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def _example_installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Once per worker: Python keeps the modules it imported, so a second install in the same
    # process would still be served from the first folder.
    target = tmp_path_factory.mktemp("site-packages")
    pip_install(EXAMPLE, target)
    return target


@pytest.fixture(scope="module")
def example_site(_example_installed: Path) -> Iterator[Path]:
    """The example plugin, pip-installed, on ``sys.path`` while one module runs (outside it, a
    runtime started in this process does not discover it)."""
    sys.path.insert(0, str(_example_installed))
    try:
        yield _example_installed
    finally:
        sys.path.remove(str(_example_installed))


@contextmanager
def _test_plugins_importable() -> Iterator[None]:
    sys.path.insert(0, str(FIXTURES))
    try:
        yield
    finally:
        sys.path.remove(str(FIXTURES))


@pytest.fixture(scope="session")
def _test_plugins_host(crm_runtime: Runtime) -> Iterator[Runtime]:
    """The runtime that loaded the test plugins, made once: their modules stay imported (their
    models mapped) for the session, so they are discovered only once."""
    with _test_plugins_importable():
        runtime = Runtime.from_settings(crm_runtime.settings)
    yield runtime
    runtime.db.dispose()


@pytest.fixture(scope="module")
def plugin_runtime(_test_plugins_host: Runtime, crm_runtime: Runtime) -> Iterator[Runtime]:
    """The test plugins' runtime, for one module's tests: the test plugins importable (spawned
    workers inherit ``sys.path``; the ``crm`` command run in-process discovers them) and their
    tables migrated; both undone when the module is done."""
    runtime = _test_plugins_host
    url = runtime.settings.database_url
    locations = runtime.plugins.migration_locations()
    with _test_plugins_importable():
        migrate.upgrade(url, locations)
        try:
            yield runtime
        finally:
            for plugin in runtime.plugins.plugins.values():
                if plugin.migrations is not None and plugin.name not in crm_runtime.plugins.plugins:
                    command.downgrade(migrate.alembic_config(url, locations), f"{plugin.name}@base")


@pytest.fixture(scope="session")
def plugin_app(_test_plugins_host: Runtime):
    return create_app(_test_plugins_host, watch=False)


@pytest.fixture
def pk(plugin_runtime: Runtime, plugin_app) -> Iterator[CrmKit]:
    """The test kit, on an app whose runtime loaded the test plugins."""
    plugin_runtime.plugin_state.invalidate()
    with TestClient(plugin_app) as http:
        yield CrmKit(plugin_runtime, plugin_app, http)
    wipe(plugin_runtime.db)
