"""The privilege ceiling: a user or an API key may act on another user, an API key or a role only
if the target holds nothing the actor does not: no permission, no wider data permission, not the
administrator role unless the actor is an administrator.

The matrix runs every user-management route with an actor weaker than the target (in each
dimension on its own), equal to it, or stronger. A refusal is 403 with nothing written: the
target re-read from the database is unchanged and its sessions and keys still work.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from core.access import service
from core.access.auth import issue_token
from core.access.credentials import hash_password
from core.access.models import ApiKey, AuthToken, DataScope, PrincipalKind, Role, User, UserRole
from core.access.schemas import UserUpdate
from core.config import Settings
from core.testing import PASSWORD, ApiSession, CrmKit, TenantHandle, expect
from core.testing.processes import processes

if TYPE_CHECKING:
    from httpx2 import Response

API = "/api/v1"
# What every actor needs to reach the routes at all; the relations vary the rest.
MANAGER = ("users.read", "users.manage", "api_keys.manage", "clients.read")
EXTRA = "deposits.approve"
ADMIN = "administrator"  # a role spec: the tenant's administrator role
NEW_PASSWORD = "Brand-New-Passw0rd"
_serial = itertools.count(1)


@functools.cache
def _password_hash() -> str:
    # Hashed once: argon2 costs half a second on a busy machine, and each case makes two users.
    return hash_password(PASSWORD)


class StaffSession(ApiSession):
    def __init__(self, http: Any, token: str, email: str, user_id: int) -> None:
        super().__init__(http, token, email)
        self.user_id = user_id


def _signed_in(acme: TenantHandle, role_ids: list[int], name: str) -> StaffSession:
    """A user holding these roles, with a real sign-in token (issued as a login would)."""
    email = f"{name}{next(_serial)}@{acme.slug}.example.com"
    with acme.ctx() as ctx:
        user = User(email=email, name=name, tenant_id=acme.id, password_hash=_password_hash())
        ctx.session.add(user)
        ctx.session.flush()
        ctx.session.add_all(UserRole(user_id=user.id, role_id=r, tenant_id=acme.id) for r in role_ids)
        ctx.session.flush()
        issued = issue_token(ctx.session, acme.kit.runtime.settings, PrincipalKind.STAFF, user, acme.id)
        user_id = user.id
    return StaffSession(acme.kit.http, issued.token, email, user_id)


def _admin_role(acme: TenantHandle) -> int:
    with acme.ctx() as ctx:
        role_id = ctx.session.scalar(select(Role.id).where(Role.is_admin))
    assert role_id is not None
    return role_id


RoleSpec = tuple[tuple[str, ...], DataScope] | str


def _role(acme: TenantHandle, spec: RoleSpec) -> int:
    if spec == ADMIN:
        return _admin_role(acme)
    if spec == "every core permission":
        return acme.role(sorted(acme.kit.runtime.permissions.names(module="core")), DataScope.ALL)
    assert isinstance(spec, tuple)
    permissions, scope = spec
    return acme.role(permissions, scope)


@dataclass(frozen=True)
class Relation:
    name: str
    actor: RoleSpec
    target: RoleSpec
    allowed: bool


RELATIONS = [
    Relation(
        "weaker: lacks a permission", (MANAGER, DataScope.ALL), ((*MANAGER, EXTRA), DataScope.ALL), False
    ),
    Relation("weaker: narrower data scope", (MANAGER, DataScope.TEAM), (MANAGER, DataScope.ALL), False),
    # Every permission the administrator role holds, but not the role itself.
    Relation("weaker: not an administrator", "every core permission", ADMIN, False),
    Relation("equal", (MANAGER, DataScope.TEAM), (MANAGER, DataScope.TEAM), True),
    Relation("equal: both administrators", ADMIN, ADMIN, True),
    Relation("stronger", ((*MANAGER, EXTRA), DataScope.ALL), (MANAGER, DataScope.TEAM), True),
    Relation("stronger: administrator", ADMIN, ((*MANAGER, EXTRA), DataScope.ALL), True),
]


@dataclass
class Cast:
    crm: CrmKit
    acme: TenantHandle
    actor: StaffSession
    target: StaffSession  # a signed-in user holding ``target_role``
    target_role: int  # the target's power as one role: what an API key would carry
    grantable_role: int  # a role every actor may grant
    team: int
    key: ApiSession | None = None  # an API key with ``target_role`` (for revoking)
    key_id: int | None = None


def _cast(crm: CrmKit, relation: Relation) -> Cast:
    acme = crm.tenant("acme")
    target_role = _role(acme, relation.target)
    return Cast(
        crm=crm,
        acme=acme,
        actor=_signed_in(acme, [_role(acme, relation.actor)], "actor"),
        target=_signed_in(acme, [target_role], "target"),
        target_role=target_role,
        grantable_role=acme.role(["clients.read"], DataScope.OWN),
        team=acme.team("Desk"),
    )


def _target(cast: Cast) -> User:
    with cast.acme.ctx() as ctx:
        user = ctx.session.get(User, cast.target.user_id)
        assert user is not None
        ctx.session.expunge(user)
        return user


def _state(cast: Cast) -> dict[str, Any]:
    """Everything an action could change about the target, read from the database."""
    with cast.acme.ctx() as ctx:
        user = ctx.session.get(User, cast.target.user_id)
        assert user is not None
        return {
            "user": (user.name, user.team_id, user.active, user.password_hash),
            "roles": sorted(ctx.session.scalars(select(UserRole.role_id).where(UserRole.user_id == user.id))),
            "live tokens": sorted(
                ctx.session.scalars(
                    select(AuthToken.id).where(
                        AuthToken.kind == PrincipalKind.STAFF,
                        AuthToken.subject_id == user.id,
                        AuthToken.revoked_at.is_(None),
                    )
                )
            ),
            "keys": sorted(
                tuple(row)
                for row in ctx.session.execute(select(ApiKey.id, ApiKey.role_id, ApiKey.revoked_at))
            ),
        }


def _signed_out(session: ApiSession) -> None:
    assert session.get(f"{API}/me").status_code == 401


# --- the actions -------------------------------------------------------------------------------


def _nothing(cast: Cast) -> None:
    pass


def _deactivate_first(cast: Cast) -> None:
    with cast.acme.ctx() as ctx:  # as the system
        service.update_user(ctx, cast.target.user_id, UserUpdate(active=False))


def _make_key(cast: Cast) -> None:
    body = {"name": "Target key", "role_id": cast.target_role}
    created = expect(cast.acme.admin.post(f"{API}/api-keys", json=body), 201)
    cast.key_id, cast.key = created["id"], ApiSession(cast.crm.http, created["key"], "target key")


def _renamed(cast: Cast, _: Response) -> None:
    assert _target(cast).name == "Renamed"


def _moved(cast: Cast, _: Response) -> None:
    assert _target(cast).team_id == cast.team


def _deactivated(cast: Cast, _: Response) -> None:
    assert not _target(cast).active
    _signed_out(cast.target)


def _reactivated(cast: Cast, _: Response) -> None:
    assert _target(cast).active


def _roles_changed(cast: Cast, _: Response) -> None:
    assert _state(cast)["roles"] == sorted([cast.target_role, cast.grantable_role])


def _password_changed(cast: Cast, _: Response) -> None:
    _signed_out(cast.target)
    credentials = {"tenant": cast.acme.slug, "email": cast.target.label, "password": NEW_PASSWORD}
    expect(cast.crm.http.post(f"{API}/auth/login", json=credentials), 200)


def _sessions_ended(cast: Cast, _: Response) -> None:
    _signed_out(cast.target)


def _key_works(cast: Cast, response: Response) -> None:
    expect(ApiSession(cast.crm.http, response.json()["key"], "new key").get(f"{API}/me"), 200)


def _key_revoked(cast: Cast, _: Response) -> None:
    assert cast.key is not None
    _signed_out(cast.key)


def _patch(body: dict[str, Any]) -> Callable[[Cast], Response]:
    return lambda cast: cast.actor.patch(f"{API}/users/{cast.target.user_id}", json=body)


@dataclass(frozen=True)
class Action:
    name: str
    act: Callable[[Cast], Response]
    status: int  # when allowed
    done: Callable[[Cast, Response], None]  # asserts that the allowed action happened
    prepare: Callable[[Cast], None] = _nothing


ACTIONS = [
    Action("rename", _patch({"name": "Renamed"}), 200, _renamed),
    Action("change team", lambda c: _patch({"team_id": c.team})(c), 200, _moved),
    Action("deactivate", _patch({"active": False}), 200, _deactivated),
    Action("reactivate", _patch({"active": True}), 200, _reactivated, prepare=_deactivate_first),
    Action(
        "change roles",
        lambda c: _patch({"role_ids": [c.target_role, c.grantable_role]})(c),
        200,
        _roles_changed,
    ),
    Action(
        "reset password",
        lambda c: c.actor.post(f"{API}/users/{c.target.user_id}/password", json={"password": NEW_PASSWORD}),
        204,
        _password_changed,
    ),
    Action(
        "end sessions",
        lambda c: c.actor.post(f"{API}/users/{c.target.user_id}/sessions/revoke"),
        204,
        _sessions_ended,
    ),
    Action(
        "create API key",
        lambda c: c.actor.post(f"{API}/api-keys", json={"name": "New key", "role_id": c.target_role}),
        201,
        _key_works,
    ),
    Action(
        "revoke API key",
        lambda c: c.actor.post(f"{API}/api-keys/{c.key_id}/revoke"),
        200,
        _key_revoked,
        prepare=_make_key,
    ),
]


@pytest.mark.parametrize("action", ACTIONS, ids=[a.name for a in ACTIONS])
@pytest.mark.parametrize("relation", RELATIONS, ids=[r.name for r in RELATIONS])
def test_an_action_on_a_user_or_key_is_capped_by_the_actors_own_power(
    crm: CrmKit, relation: Relation, action: Action
) -> None:
    cast = _cast(crm, relation)
    action.prepare(cast)
    before, rows_before = _state(cast), crm.snapshot()
    response = action.act(cast)
    if relation.allowed:
        expect(response, action.status)
        action.done(cast, response)
        return
    error = expect(response, 403)["error"]
    assert error["code"] == "permission_denied"
    assert _state(cast) == before, "the refused action changed the target"
    assert crm.snapshot() == rows_before, "the refused action wrote something"
    if _target(cast).active:
        expect(cast.target.get(f"{API}/me"), 200)
    if cast.key is not None:
        expect(cast.key.get(f"{API}/me"), 200)


# --- around the matrix -------------------------------------------------------------------------


def test_acting_on_yourself_follows_the_same_rule(crm: CrmKit) -> None:
    acme = crm.tenant("acme")
    me = _signed_in(acme, [acme.role(MANAGER, DataScope.TEAM)], "self")
    other_session = _signed_in(acme, [], "unused")  # a bystander keeps their session
    expect(me.patch(f"{API}/users/{me.user_id}", json={"name": "Me, renamed"}), 200)
    expect(me.post(f"{API}/users/{me.user_id}/sessions/revoke"), 204)
    _signed_out(me)
    expect(other_session.get(f"{API}/me"), 200)


def test_an_api_key_acts_with_its_roles_power_not_its_creators(crm: CrmKit) -> None:
    """An administrator's key with a manager's role cannot reset the administrator's password."""
    acme = crm.tenant("acme")
    role = acme.role(MANAGER, DataScope.ALL)
    key = ApiSession(
        crm.http, expect(acme.admin.post(f"{API}/api-keys", json={"name": "HR", "role_id": role}), 201)["key"]
    )
    admin_id = expect(acme.admin.get(f"{API}/me"), 200)["id"]
    denied = key.post(f"{API}/users/{admin_id}/password", json={"password": NEW_PASSWORD})
    assert denied.status_code == 403 and "administrator" in denied.json()["error"]["message"]
    expect(acme.admin.get(f"{API}/me"), 200)
    peer = _signed_in(acme, [acme.role(["clients.read"], DataScope.OWN)], "peer")
    expect(key.post(f"{API}/users/{peer.user_id}/sessions/revoke"), 204)
    _signed_out(peer)


def test_the_system_acts_freely(crm: CrmKit) -> None:
    """The CLI and migrations call the services without a principal: no ceiling applies."""
    acme = crm.tenant("acme")
    admin_id = expect(acme.admin.get(f"{API}/me"), 200)["id"]
    with acme.ctx() as ctx:
        service.reset_password(ctx, admin_id, NEW_PASSWORD)
    _signed_out(acme.admin)
    expect(
        crm.http.post(
            f"{API}/auth/login",
            json={"tenant": acme.slug, "email": acme.admin_email, "password": NEW_PASSWORD},
        ),
        200,
    )


def test_ending_a_users_sessions_ends_every_one_of_them_and_only_theirs(crm: CrmKit) -> None:
    acme = crm.tenant("acme")
    reader = acme.role(["clients.read"], DataScope.OWN)
    target, bystander = _signed_in(acme, [reader], "target"), _signed_in(acme, [reader], "bystander")
    second = crm.login(acme.slug, target.label)  # signed in twice
    expect(acme.admin.post(f"{API}/users/{target.user_id}/sessions/revoke"), 204)
    _signed_out(target)
    _signed_out(second)
    expect(bystander.get(f"{API}/me"), 200)
    expect(acme.admin.get(f"{API}/me"), 200)
    assert acme.admin.post(f"{API}/users/999999/sessions/revoke").status_code == 404
    expect(crm.login(acme.slug, target.label).get(f"{API}/me"), 200)  # they can sign in again


def test_a_role_stronger_than_the_actor_cannot_be_edited_or_deleted(crm: CrmKit) -> None:
    """A role is the power of everyone who holds it: editing one is acting on them."""
    acme = crm.tenant("acme")
    editor = _signed_in(
        acme, [acme.role(["roles.read", "roles.manage", "clients.read"], DataScope.ALL)], "editor"
    )
    stronger = acme.role(["clients.read", EXTRA], DataScope.ALL)
    before = expect(acme.admin.get(f"{API}/roles/{stronger}"), 200)
    assert editor.patch(f"{API}/roles/{stronger}", json={"name": "Renamed"}).status_code == 403
    assert editor.delete(f"{API}/roles/{stronger}").status_code == 403
    assert expect(acme.admin.get(f"{API}/roles/{stronger}"), 200) == before
    admin_role = _admin_role(acme)
    assert editor.patch(f"{API}/roles/{admin_role}", json={"description": "Mine"}).status_code == 403
    weaker = acme.role(["clients.read"], DataScope.TEAM)
    assert expect(editor.patch(f"{API}/roles/{weaker}", json={"name": "Readers"}), 200)["name"] == "Readers"
    expect(editor.delete(f"{API}/roles/{weaker}"), 204)


# --- concurrency -------------------------------------------------------------------------------


def _grant_roles_slowly(url: str, tenant_id: int, user_id: int, role_ids: list[int], granted: Any) -> None:
    """In another process: give a user roles, then hold the transaction open for a while."""
    from core.context import bind
    from core.runtime import Runtime

    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    try:
        with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
            service.update_user(
                bind(session, None, runtime, "test: grant"), user_id, UserUpdate(role_ids=role_ids)
            )
            granted.set()
            time.sleep(1.5)
    finally:
        runtime.db.dispose()


def test_a_role_granted_concurrently_is_seen_by_the_ceiling(crm: CrmKit, crm_database_url: str) -> None:
    """While one process makes a user an administrator, a manager resetting that user's password
    waits for it and is refused: the check cannot read the user's roles from before the grant."""
    acme = crm.tenant("acme")
    manager = _signed_in(acme, [acme.role(MANAGER, DataScope.ALL)], "manager")
    target_role = acme.role(["clients.read"], DataScope.OWN)
    target = _signed_in(acme, [target_role], "target")
    before = _target_hash(acme, target.user_id)
    context = processes()
    granted = context.Event()
    granting = context.Process(
        target=_grant_roles_slowly,
        args=(crm_database_url, acme.id, target.user_id, [target_role, _admin_role(acme)], granted),
    )
    granting.start()
    try:
        assert granted.wait(120), "the granting process did not start"
        response = manager.post(f"{API}/users/{target.user_id}/password", json={"password": NEW_PASSWORD})
    finally:
        granting.join(60)
    assert granting.exitcode == 0
    assert response.status_code == 403, response.text
    assert _target_hash(acme, target.user_id) == before
    expect(target.get(f"{API}/me"), 200)


def _target_hash(acme: TenantHandle, user_id: int) -> str | None:
    with acme.ctx() as ctx:
        user = ctx.session.get(User, user_id)
        assert user is not None
        return user.password_hash
