"""A signed-in principal is cached per token, and refused on the very next request once what it
holds changes: logout, password change, role change, deactivation, suspension, a revoked key. In this
process and in another server process on the same database alike, with no waiting."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import text

from core.access.credentials import digest
from core.testing import PASSWORD, ApiSession, CrmKit, TenantHandle, expect

NEW_PASSWORD = "Another-Horse-2026"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def other_process(crm_database_url: str) -> Iterator[str]:
    """A second API server (its own process, its own principal cache) on the same database."""
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "crm"),
            "serve",
            "--port",
            str(port),
            "--no-outbox",
            "--no-worker",
        ],
        env={**os.environ, "CRM_DATABASE_URL": crm_database_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx2.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the second server did not come up")
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _asker(crm: CrmKit, where: str, base: str) -> Callable[[ApiSession, str], int]:
    """GET ``path`` with a session's token, from this process's app or from the other server."""

    def status(session: ApiSession, path: str) -> int:
        if where == "this process":
            return session.get(path).status_code
        headers = {"Authorization": f"Bearer {session.token}"}
        return httpx2.get(f"{base}{path}", headers=headers, timeout=10).status_code

    return status


@pytest.fixture(params=["this process", "another process"])
def ask(request: pytest.FixtureRequest, crm: CrmKit) -> Callable[[ApiSession, str], int]:
    base = request.getfixturevalue("other_process") if request.param == "another process" else ""
    return _asker(crm, request.param, base)


def _warm(ask: Callable[[ApiSession, str], int], session: ApiSession, path: str) -> None:
    """Serve the token twice: the second answer comes from the cache."""
    assert ask(session, path) == 200
    assert ask(session, path) == 200


def test_a_cached_principal_is_refused_at_once_after_logout(crm, ask):
    acme = crm.tenant("acme")
    user = acme.user(["clients.read"])
    _warm(ask, user, "/api/v1/me")
    assert user.post("/api/v1/auth/logout").status_code == 204
    assert ask(user, "/api/v1/me") == 401


def test_a_cached_principal_is_refused_at_once_after_a_password_change(crm, ask):
    acme = crm.tenant("acme")
    user = acme.user(["clients.read"], email="twice@acme.example.com")
    elsewhere = crm.login("acme", "twice@acme.example.com")  # the same user signed in a second time
    _warm(ask, elsewhere, "/api/v1/me")
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert user.post("/api/v1/me/password", json=body).status_code == 204
    assert ask(elsewhere, "/api/v1/me") == 401  # every other session ends
    assert ask(user, "/api/v1/me") == 200  # the one that changed it goes on


def test_a_cached_principal_loses_a_permission_at_once_when_its_role_changes(crm, ask):
    acme = crm.tenant("acme")
    role_id = acme.role(["clients.read", "deposits.read"])
    user = acme.user(role_ids=[role_id])
    _warm(ask, user, "/api/v1/clients")
    expect(acme.admin.patch(f"/api/v1/roles/{role_id}", json={"permissions": ["deposits.read"]}), 200)
    assert ask(user, "/api/v1/clients") == 403
    assert ask(user, "/api/v1/deposits") == 200


def test_a_cached_principal_loses_a_role_at_once_when_it_is_taken_away(crm, ask):
    acme = crm.tenant("acme")
    user = acme.user(["clients.read"])
    _warm(ask, user, "/api/v1/clients")
    expect(acme.admin.patch(f"/api/v1/users/{user.user_id}", json={"role_ids": []}), 200)
    assert ask(user, "/api/v1/clients") == 403


def test_a_cached_principal_is_refused_at_once_after_deactivation(crm, ask):
    acme = crm.tenant("acme")
    user = acme.user(["clients.read"])
    _warm(ask, user, "/api/v1/me")
    expect(acme.admin.patch(f"/api/v1/users/{user.user_id}", json={"active": False}), 200)
    assert ask(user, "/api/v1/me") == 401


def test_a_cached_client_is_refused_at_once_after_suspension(crm, ask):
    acme = crm.tenant("acme")
    client = acme.client()
    portal = acme.portal(client["id"])
    _warm(ask, portal, "/api/v1/portal/me")
    expect(acme.admin.patch(f"/api/v1/clients/{client['id']}", json={"suspended": True}), 200)
    assert ask(portal, "/api/v1/portal/me") == 401


def test_a_cached_api_key_is_refused_at_once_after_it_is_revoked(crm, ask):
    acme = crm.tenant("acme")
    role_id = acme.role(["clients.read"])
    created = expect(acme.admin.post("/api/v1/api-keys", json={"name": "feed", "role_id": role_id}), 201)
    key = ApiSession(crm.http, created["key"], "api key")
    _warm(ask, key, "/api/v1/clients")
    expect(acme.admin.post(f"/api/v1/api-keys/{created['id']}/revoke"), 200)
    assert ask(key, "/api/v1/clients") == 401


def test_a_change_in_one_tenant_keeps_the_other_tenants_principals_cached(crm):
    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    stays = globex.user(["clients.read"])
    _warm(_asker(crm, "this process", ""), stays, "/api/v1/me")
    cached = crm.runtime.principals.entry(digest(stays.token))
    assert cached is not None
    leaving = acme.user(["clients.read"])
    expect(acme.admin.patch(f"/api/v1/users/{leaving.user_id}", json={"active": False}), 200)
    assert stays.get("/api/v1/me").status_code == 200
    assert crm.runtime.principals.entry(digest(stays.token)) is cached  # served, not rebuilt


GENERATION = text("SELECT access_generation FROM tenants WHERE id = :id")


def test_signing_in_leaves_the_tenants_cached_principals_alone(crm):
    acme: TenantHandle = crm.tenant("acme")
    acme.user(["clients.read"], email="again@acme.example.com")
    with crm.db.session() as session:
        before = session.execute(GENERATION, {"id": acme.id}).scalar_one()
    crm.login("acme", "again@acme.example.com")  # a new token, a last sign-in time: nothing cached
    with crm.db.session() as session:
        assert session.execute(GENERATION, {"id": acme.id}).scalar_one() == before
