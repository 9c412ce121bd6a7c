"""Plugin-host tests run against a runtime that also discovers the test plugins in ./fixtures
(registered through a real entry-point file), with their migrations applied."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.api.app import create_app
from core.db import migrate
from core.runtime import Runtime
from core.testing import CrmKit, wipe

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def plugin_runtime(crm_runtime: Runtime) -> Iterator[Runtime]:
    sys.path.insert(0, str(FIXTURES))  # kept for the session: spawned workers inherit sys.path
    runtime = Runtime.from_settings(crm_runtime.settings)
    migrate.upgrade(runtime.settings.database_url, runtime.plugins.migration_locations())
    yield runtime
    runtime.db.dispose()


@pytest.fixture(scope="session")
def plugin_app(plugin_runtime: Runtime):
    return create_app(plugin_runtime, watch=False)


@pytest.fixture
def pk(plugin_runtime: Runtime, plugin_app) -> Iterator[CrmKit]:
    """The test kit, on an app whose runtime loaded the test plugins."""
    plugin_runtime.plugin_state.invalidate()
    with TestClient(plugin_app) as http:
        yield CrmKit(plugin_runtime, plugin_app, http)
    wipe(plugin_runtime.db)
