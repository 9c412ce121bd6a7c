"""pytest fixtures (registered through the ``pytest11`` entry point).

The database is ``CRM_DATABASE_URL`` when set (PostgreSQL in CI), else a fresh SQLite file.
It is rebuilt from the migrations once per test session and emptied after every test. Under
pytest-xdist (``-n``) each worker gets a database of its own: a SQLite file in the worker's
temporary folder, or on PostgreSQL ``<database>_<worker>``, created next to the configured one
(the user needs the CREATEDB privilege).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.access import credentials
from core.config import Settings
from core.db import migrate
from core.db.engine import make_engine
from core.runtime import Runtime
from core.testing import CrmKit, wipe


def pytest_configure(config: pytest.Config) -> None:
    # Real argon2id, with the cheapest parameters: a run signs in thousands of times.
    credentials.use_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture
def production_password_hashing() -> Iterator[None]:
    """Hash with the production argon2 parameters during a test (timing tests need their cost)."""
    previous = credentials.use_hasher(PasswordHasher())
    yield
    credentials.use_hasher(previous)


def _reset_schema(url: str) -> None:
    engine = make_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def _worker_database(url: str, worker: str) -> str:
    """A PostgreSQL database of this xdist worker's own, empty, beside the configured one."""
    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def crm_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("CRM_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1… when run with -n
    if url and worker and make_url(url).get_backend_name() == "postgresql":
        return _worker_database(url, worker)
    if url:
        return url
    path: Path = tmp_path_factory.mktemp("db") / "crm-test.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def crm_settings(crm_database_url: str) -> Settings:
    return replace(Settings.from_env(), database_url=crm_database_url)


@pytest.fixture(scope="session")
def crm_runtime(crm_settings: Settings) -> Iterator[Runtime]:
    _reset_schema(crm_settings.database_url)
    runtime = Runtime.from_settings(crm_settings)
    # Core's migrations and every discovered plugin's (a plugin author's own tables included).
    migrate.upgrade(crm_settings.database_url, runtime.plugins.migration_locations())
    yield runtime
    runtime.db.dispose()


@pytest.fixture(scope="session")
def crm_app(crm_runtime: Runtime) -> FastAPI:
    from core.api.app import create_app

    return create_app(crm_runtime, watch=False)  # one process: changes apply at commit


@pytest.fixture
def crm(crm_runtime: Runtime, crm_app: FastAPI) -> Iterator[CrmKit]:
    """The test kit on a clean database."""
    from fastapi.testclient import TestClient  # needs the dev extras (httpx2)

    with TestClient(crm_app) as http:
        yield CrmKit(crm_runtime, crm_app, http)
    wipe(crm_runtime.db)
    # Ids start again after a wipe: tenant 1 of the next test is not the one modules were cached for.
    crm_runtime.plugin_state.invalidate()
