"""Default deny, the grant rules that stop privilege escalation, and data permissions."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import APIRouter, FastAPI

from core.access.permissions import DuplicatePermission, Permission, core_registry
from core.api.deps import public, staff
from core.api.guard import UnguardedRoute, check_access, declare_router, effective_routes, guard_routes
from core.context import Ctx
from core.testing import expect


def _app_with(router: APIRouter) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    return app


def test_a_route_without_a_declared_permission_stops_the_app_from_building():
    router = APIRouter()

    @router.get("/naked")
    def naked() -> dict[str, str]:
        return {}

    with pytest.raises(UnguardedRoute, match="GET /naked declares no permission"):
        guard_routes(_app_with(router), core_registry())


def test_a_route_requiring_an_unknown_permission_stops_the_app_from_building():
    router = APIRouter()

    @router.get("/typo")
    def typo(ctx: Ctx = staff("clients.raed")) -> dict[str, str]:
        return {}

    with pytest.raises(UnguardedRoute, match=r"unknown permission 'clients\.raed'"):
        guard_routes(_app_with(router), core_registry())


def test_registering_a_permission_twice_is_an_error():
    registry = core_registry()
    with pytest.raises(DuplicatePermission):
        registry.register(Permission("clients.read", "Again", "Duplicate", module="evil"))


def test_a_route_declared_on_an_included_router_is_checked_too():
    inner = APIRouter()

    @inner.post("/deep")
    def deep() -> dict[str, str]:
        return {}

    outer = APIRouter(prefix="/outer")
    outer.include_router(inner)
    with pytest.raises(UnguardedRoute, match="POST /outer/deep declares no permission"):
        guard_routes(_app_with(outer), core_registry())
    with pytest.raises(UnguardedRoute, match="POST /deep declares no permission"):
        declare_router(outer, core_registry())


def test_every_route_of_the_app_declares_its_access(crm):
    schema = crm.app.openapi()
    operations = [op for item in schema["paths"].values() for op in item.values()]
    served = list(effective_routes(crm.app))
    api = [(path, methods) for path, methods, _ in served if path.startswith("/api/")]
    assert len(operations) == sum(len(methods) for _, methods in api) > 20
    # Pages (HTML, left out of the schema) are guarded the same way; few are public.
    public_pages = {
        path
        for path, _, dependant in served
        if not path.startswith("/api/")
        and check_access(path, dependant, crm.runtime.permissions).requirement == "public"
    }
    assert public_pages == {
        "/",
        "/backoffice/login",
        "/platform/login",
        "/portal/login",
        "/portal/register",
        "/portal/register/sent",
        "/portal/register/confirm",
        "/portal/invitation",
        "/portal/reset-password",
        "/portal/reset-password/confirm",
    }
    public_paths = {
        path
        for path, item in schema["paths"].items()
        for op in item.values()
        if op["x-required-permission"] == "public"
    }
    assert public_paths <= {
        "/api/v1/health",
        "/api/v1/auth/login",
        "/api/v1/platform/auth/login",
        "/api/v1/portal/auth/login",
        "/api/v1/portal/register",
        "/api/v1/portal/register/confirm",
        "/api/v1/portal/invitation/open",
        "/api/v1/portal/invitation/accept",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
        "/api/v1/portal/auth/password-reset",
        "/api/v1/portal/auth/password-reset/confirm",
        "/api/v1/platform/auth/password-reset",
        "/api/v1/platform/auth/password-reset/confirm",
    }


def test_public_marker_is_explicit():
    router = APIRouter()

    @router.get("/open")
    def open_route(ctx: Ctx = public()) -> dict[str, str]:
        return {}

    declare_router(router, core_registry())
    app = _app_with(router)
    guard_routes(app, core_registry())
    assert app.openapi()["paths"]["/open"]["get"]["x-required-permission"] == "public"


def test_every_back_office_route_refuses_a_user_without_its_permission(crm):
    """Walk the OpenAPI schema: a signed-in user with no permissions gets 403 on every route that
    requires one (before any validation or lookup reveals anything)."""
    acme = crm.tenant("acme")
    for plugin in crm.runtime.plugins.plugins:  # a module's routes are 404 until it is installed
        acme.install(plugin)
    nobody = acme.user([])
    schema = crm.app.openapi()
    checked = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            requirement = operation["x-required-permission"]
            if "." not in requirement:
                continue  # public, or any signed-in principal of an audience
            url = path.replace("{", "").replace("}", "")  # ids don't matter: 403 comes first
            url = "/".join("1" if part.endswith("_id") else part for part in url.split("/"))
            response = nobody.request(method.upper(), url, json={})
            assert response.status_code == 403, f"{method.upper()} {path}: {response.status_code}"
            checked += 1
    assert checked > 20


def test_a_user_cannot_grant_permissions_they_do_not_hold(crm):
    acme = crm.tenant("acme")
    manager = acme.user(["roles.manage", "roles.read", "clients.read"], scope="team")
    denied = manager.post(
        "/api/v1/roles", json={"name": "Escalated", "permissions": ["clients.read", "users.manage"]}
    )
    assert denied.status_code == 403 and "users.manage" in denied.json()["error"]["message"]
    wider = manager.post(
        "/api/v1/roles", json={"name": "Wide", "permissions": ["clients.read"], "data_scope": "all"}
    )
    assert wider.status_code == 403
    ok = expect(
        manager.post(
            "/api/v1/roles", json={"name": "Reader", "permissions": ["clients.read"], "data_scope": "team"}
        ),
        201,
    )
    assert ok["permissions"] == ["clients.read"]
    assert (
        manager.patch(f"/api/v1/roles/{ok['id']}", json={"permissions": ["clients.update"]}).status_code
        == 403
    )
    unknown = manager.post("/api/v1/roles", json={"name": "Typo", "permissions": ["clients.raed"]})
    assert unknown.status_code == 422 and unknown.json()["error"]["fields"][0]["field"] == "permissions"


def test_a_user_cannot_assign_a_role_stronger_than_themself(crm):
    acme = crm.tenant("acme")
    hr = acme.user(["users.manage", "users.read", "clients.read"])
    strong = acme.role(["clients.read", "deposits.approve"])
    response = hr.post(
        "/api/v1/users",
        json={"email": "new@example.com", "name": "New", "password": "Str0ng-Password", "role_ids": [strong]},
    )
    assert response.status_code == 403
    assert crm.count("users", acme.id) == 2  # admin and hr: nothing written
    admin_role = next(r for r in expect(acme.admin.get("/api/v1/roles"), 200) if r["is_admin"])
    assert hr.patch(f"/api/v1/users/{hr.user_id}", json={"role_ids": [admin_role["id"]]}).status_code == 403


def test_the_administrator_role_is_managed_by_the_system(crm):
    acme = crm.tenant("acme")
    roles = expect(acme.admin.get("/api/v1/roles"), 200)
    admin_role = next(r for r in roles if r["is_admin"])
    assert set(admin_role["permissions"]) == crm.runtime.permissions.names(module="core")
    assert acme.admin.patch(f"/api/v1/roles/{admin_role['id']}", json={"permissions": []}).status_code == 409
    assert acme.admin.delete(f"/api/v1/roles/{admin_role['id']}").status_code == 409
    me = expect(acme.admin.get("/api/v1/me"), 200)
    last_admin = acme.admin.patch(f"/api/v1/users/{me['id']}", json={"active": False})
    assert last_admin.status_code == 409
    assert expect(acme.admin.get("/api/v1/me"), 200)["id"] == me["id"]


def test_roles_in_use_cannot_be_deleted(crm):
    acme = crm.tenant("acme")
    role = acme.role(["clients.read"])
    acme.user(role_ids=[role])
    assert acme.admin.delete(f"/api/v1/roles/{role}").status_code == 409
    unused = acme.role(["clients.read"])
    expect(acme.admin.delete(f"/api/v1/roles/{unused}"), 204)


@pytest.fixture
def scoped(crm):
    """Two teams; a team manager of team 1, an agent with own scope, an admin-like reader."""
    acme = crm.tenant("acme")
    team1, team2 = acme.team("Sales 1"), acme.team("Sales 2")
    manager = acme.user(["clients.read", "clients.update"], scope="team", team_id=team1)
    agent = acme.user(["clients.read", "clients.update"], scope="own", team_id=team1)
    outsider = acme.user(["clients.read"], scope="own", team_id=team2)
    everyone = acme.user(["clients.read"], scope="all")
    mine = acme.client(assigned_user_id=agent.user_id)  # team defaults to the agent's team 1
    team_client = acme.client(team_id=team1, assigned_user_id=None)
    other_team = acme.client(assigned_user_id=outsider.user_id)
    return SimpleNamespace(
        acme=acme,
        manager=manager,
        agent=agent,
        outsider=outsider,
        everyone=everyone,
        mine=mine,
        team_client=team_client,
        other_team=other_team,
    )


def _ids(session, path="/api/v1/clients", **params):
    return {c["id"] for c in expect(session.get(path, params=params), 200)["items"]}


def test_data_permissions_limit_client_lists(scoped):
    s = scoped
    assert s.mine["team_id"] is not None
    assert _ids(s.everyone) == {s.mine["id"], s.team_client["id"], s.other_team["id"]}
    assert _ids(s.manager) == {s.mine["id"], s.team_client["id"]}
    assert _ids(s.agent) == {s.mine["id"]}
    assert _ids(s.outsider) == {s.other_team["id"]}


def test_data_permissions_limit_client_records_and_changes(scoped):
    s = scoped
    assert s.agent.get(f"/api/v1/clients/{s.team_client['id']}").status_code == 404
    assert s.agent.patch(f"/api/v1/clients/{s.team_client['id']}", json={"name": "X"}).status_code == 404
    assert s.manager.get(f"/api/v1/clients/{s.other_team['id']}").status_code == 404
    expect(s.manager.patch(f"/api/v1/clients/{s.mine['id']}", json={"name": "Renamed"}), 200)
    # A referrer must be a client the caller can see.
    hidden = s.agent.patch(f"/api/v1/clients/{s.mine['id']}", json={"referrer_id": s.other_team["id"]})
    assert hidden.status_code == 422 and hidden.json()["error"]["fields"][0]["field"] == "referrer_id"


def test_data_permissions_limit_the_client_export(scoped):
    response = scoped.agent.get("/api/v1/clients/export")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.strip().splitlines()
    assert lines[0].startswith("id,client_type,name,email")
    assert len(lines) == 2  # header + the agent's one client
