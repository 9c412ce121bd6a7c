"""A request's path: one thread-pool hop for the whole unit of work, the caller refused before its
input is judged, and routes the one-hop path cannot take over still guarded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from core.api import errors
from core.api.deps import staff
from core.api.guard import declare_router, guard_routes
from core.context import Ctx
from core.testing import ApiSession, expect


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call into the thread pool, by the function sent there."""
    sent: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(func, "__qualname__", repr(func)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return sent


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/clients?per_page=50", "/api/v1/deposits?page=1"])
def test_an_authenticated_read_takes_one_thread_pool_hop(crm, hops, path):
    acme = crm.tenant("acme")
    acme.client()
    expect(acme.admin.get(path), 200)  # warm: the principal is cached from here on
    hops.clear()
    expect(acme.admin.get(path), 200)
    assert len(hops) == 1, hops


def test_a_write_takes_one_thread_pool_hop(crm, hops):
    acme = crm.tenant("acme")
    hops.clear()
    expect(
        acme.admin.post("/api/v1/clients", json={"client_type": "trader", "name": "Ann", "email": "a@x.io"}),
        201,
    )
    assert len(hops) == 1, hops


def test_an_anonymous_caller_with_bad_input_is_told_to_sign_in_not_what_the_route_accepts(crm):
    anonymous = ApiSession(crm.http)
    response = anonymous.post("/api/v1/clients", json={"name": 5})
    assert response.status_code == 401
    assert response.json()["error"]["fields"] == []  # nothing about what the body should hold
    assert anonymous.get("/api/v1/clients?per_page=100000").status_code == 401
    assert anonymous.get("/api/v1/clients/99999999999999999999").status_code == 401


def test_an_async_route_is_still_guarded_and_gets_its_ctx(crm):
    router = APIRouter()

    @router.get("/async-me")
    async def async_me(ctx: Ctx = staff("clients.read")) -> dict[str, object]:
        assert ctx.principal is not None
        return {"id": ctx.principal.id, "tenant_id": ctx.tenant_id}

    app = FastAPI()
    app.state.runtime = crm.runtime
    errors.install(app)
    declare_router(router, crm.runtime.permissions)
    app.include_router(router)
    guard_routes(app, crm.runtime.permissions)
    acme = crm.tenant("acme")
    with TestClient(app) as http:
        assert http.get("/async-me").status_code == 401
        nobody = acme.user([])
        assert http.get("/async-me", headers={"Authorization": f"Bearer {nobody.token}"}).status_code == 403
        answer = http.get("/async-me", headers={"Authorization": f"Bearer {acme.admin.token}"})
        assert expect(answer, 200)["tenant_id"] == acme.id
