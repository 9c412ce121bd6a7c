"""Routes are looked up by path prefix (core.api.routing): every request gets the answer the whole
router would give, while a plugin's request is no longer matched against every core route first."""

from __future__ import annotations

import asyncio
import re

import httpx2
from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from core.api.app import create_app
from core.api.routing import PrefixDispatch, index_routes


def _probes(app: FastAPI) -> list[tuple[str, str]]:
    """Every route of the app with its ids filled in, each of its methods and one it lacks, with and
    without a trailing slash, and paths beside it that no route serves."""
    probes: set[tuple[str, str]] = {("GET", "/"), ("GET", "/api/v1"), ("GET", "/api/v1/plugins/nope/x")}
    for context in iter_route_contexts(app.routes):
        if context.path is None:
            continue
        path = re.sub(r"\{[^}]+\}", "1", context.path)
        for method in {*(context.methods or {"GET"}), "DELETE", "PUT"}:
            variants = (path, path.rstrip("/") + "/", path + "/extra", path.replace("/api/v1", "/api/v2"))
            probes.update((method, variant) for variant in variants)
    return sorted(probes)


def test_every_request_gets_the_answer_the_whole_router_gives(crm_runtime):
    indexed = create_app(crm_runtime, watch=False)
    unindexed = create_app(crm_runtime, watch=False)
    unindexed.router.middleware_stack = unindexed.router.app  # FastAPI's own walk over every route
    probes = _probes(indexed)
    assert len(probes) > 500

    async def answers(app: FastAPI) -> list[tuple[int, str | None, str | None]]:
        # In this event loop, not through TestClient's thread portal: ~3x faster for 3,500+ probes.
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            found = []
            for method, path in probes:
                answer = await client.request(method, path, follow_redirects=False)
                found.append(
                    (answer.status_code, answer.headers.get("allow"), answer.headers.get("location"))
                )
            return found

    with TestClient(indexed), TestClient(unindexed):  # their lifespans, as a server runs them
        ours, theirs = asyncio.run(answers(indexed)), asyncio.run(answers(unindexed))
    for probe, a, b in zip(probes, ours, theirs, strict=True):
        assert a == b, probe


def _candidates(app: FastAPI, path: str) -> list[str]:
    dispatch = app.router.middleware_stack
    assert isinstance(dispatch, PrefixDispatch)
    router = dispatch.candidates({"type": "http", "path": path, "root_path": ""})
    return sorted({context.path for context in iter_route_contexts(router.routes) if context.path})


def test_a_plugin_request_is_matched_only_against_that_plugins_routes(crm_app):
    paths = _candidates(crm_app, "/api/v1/plugins/coupons/coupons/7")
    assert paths
    assert all(path.startswith("/api/v1/plugins/coupons/") for path in paths), paths
    core = _candidates(crm_app, "/api/v1/clients/7")
    assert core and all(path.startswith("/api/v1/clients") for path in core), core


def test_the_first_route_in_the_apps_order_wins_and_url_for_sees_every_route():
    app = FastAPI()
    first, second, third = APIRouter(), APIRouter(), APIRouter()

    @first.get("/{section}/here")
    def any_section(section: str, request: Request) -> dict[str, str]:
        return {"route": "any section", "there": str(request.url_for("there", item="5"))}

    @second.get("/b/here")
    def b_here() -> dict[str, str]:
        return {"route": "b"}

    @third.get("/b/there/{item}", name="there")
    def there(item: str) -> dict[str, str]:
        return {"route": "there", "item": item}

    for router in (first, second, third):
        app.include_router(router)
    index_routes(app)
    with TestClient(app) as http:
        assert http.get("/b/here").json() == {"route": "any section", "there": "http://testserver/b/there/5"}
        assert http.get("/b/there/7").json() == {"route": "there", "item": "7"}


def test_a_route_added_after_the_app_was_built_is_found():
    app = FastAPI()
    index_routes(app)
    with TestClient(app) as http:
        assert http.get("/c/late").status_code == 404

        @app.get("/c/late")
        def late() -> dict[str, bool]:
            return {"late": True}

        assert http.get("/c/late").json() == {"late": True}
