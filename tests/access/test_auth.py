"""Sign-in, tokens, API keys, and secrets never kept in clear (throttling, registration and
password reset: test_account_security.py)."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Literal

from argon2 import PasswordHasher, profiles
from sqlalchemy import select, text, update

from core.access import credentials
from core.access.models import ApiKey, AuthToken, User
from core.crm.models import Client
from core.db.base import utcnow
from core.testing import PASSWORD, ApiSession, expect


def _login(crm, slug: str, email: str, password: str):
    return crm.anonymous.post(
        "/api/v1/auth/login", json={"tenant": slug, "email": email, "password": password}
    )


def test_login_logout_and_revoked_token(crm):
    acme = crm.tenant("acme")
    me = expect(acme.admin.get("/api/v1/me"), 200)
    assert me["kind"] == "staff" and me["is_admin"] and "clients.read" in me["permissions"]
    expect(acme.admin.post("/api/v1/auth/logout"), 204)
    response = acme.admin.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_bad_credentials_are_indistinguishable(crm):
    acme = crm.tenant("acme")
    wrong_password = _login(crm, "acme", acme.admin_email, "Wrong-Password-1")
    unknown_user = _login(crm, "acme", "nobody@example.com", PASSWORD)
    unknown_tenant = _login(crm, "nope", acme.admin_email, PASSWORD)
    for response in (wrong_password, unknown_user, unknown_tenant):
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "invalid email or password"


def test_expired_tokens_are_refused(crm):
    acme = crm.tenant("acme")
    with crm.db.transaction() as session:
        session.execute(update(AuthToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert acme.admin.get("/api/v1/me").status_code == 401


def test_each_token_works_only_for_its_own_audience(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    portal = acme.portal(client["id"])
    operator = crm.operator()
    assert portal.get("/api/v1/clients").status_code == 401
    assert portal.get("/api/v1/me").status_code == 401
    assert operator.get("/api/v1/clients").status_code == 401
    assert acme.admin.get("/api/v1/platform/tenants").status_code == 401
    assert acme.admin.post("/api/v1/portal/auth/logout").status_code == 401
    assert operator.get("/api/v1/platform/tenants").status_code == 200
    assert portal.post("/api/v1/portal/auth/logout").status_code == 204


def test_disabled_users_lose_their_sessions_and_cannot_sign_in(crm):
    acme = crm.tenant("acme")
    agent = acme.user(["clients.read"])
    expect(acme.admin.patch(f"/api/v1/users/{agent.user_id}", json={"active": False}), 200)
    assert agent.get("/api/v1/clients").status_code == 401
    assert _login(crm, "acme", agent.label, PASSWORD).status_code == 401


def test_suspended_clients_lose_portal_access(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    portal = acme.portal(client["id"])
    expect(acme.admin.patch(f"/api/v1/clients/{client['id']}", json={"suspended": True}), 200)
    assert portal.post("/api/v1/portal/auth/logout").status_code == 401


def test_password_rule_applies_to_new_users(crm):
    acme = crm.tenant("acme")
    for weak in ("short1A", "alllowercase123", "NoDigitsHereAtAll"):
        response = acme.admin.post(
            "/api/v1/users", json={"email": "x@example.com", "name": "X", "password": weak}
        )
        assert response.status_code == 422
        assert response.json()["error"]["fields"][0]["field"] == "password"
    assert crm.count("users", acme.id) == 1


def test_changing_my_password_checks_the_current_one_and_ends_other_sessions(crm):
    acme = crm.tenant("acme")
    other_session = crm.login("acme", acme.admin_email)
    wrong = acme.admin.post(
        "/api/v1/me/password", json={"current_password": "nope", "new_password": "New-Passw0rd-9"}
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["fields"][0]["field"] == "current_password"
    expect(
        acme.admin.post(
            "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "New-Passw0rd-9"}
        ),
        204,
    )
    assert other_session.get("/api/v1/me").status_code == 401
    assert _login(crm, "acme", acme.admin_email, "New-Passw0rd-9").status_code == 200


def test_api_keys_act_with_their_role_and_can_be_revoked(crm):
    acme = crm.tenant("acme")
    acme.client()
    reader = expect(
        acme.admin.post(
            "/api/v1/roles", json={"name": "Reader", "permissions": ["clients.read"], "data_scope": "all"}
        ),
        201,
    )
    created = expect(
        acme.admin.post("/api/v1/api-keys", json={"name": "BI export", "role_id": reader["id"]}), 201
    )
    key = ApiSession(crm.http, created["key"], "api key")
    assert expect(key.get("/api/v1/clients"), 200)["total"] == 1
    assert key.post("/api/v1/clients", json={}).status_code == 403
    assert key.post("/api/v1/portal/auth/logout").status_code == 401
    listed = expect(acme.admin.get("/api/v1/api-keys"), 200)
    assert "key" not in listed[0] and listed[0]["prefix"] in created["key"]
    expect(acme.admin.post(f"/api/v1/api-keys/{created['id']}/revoke"), 200)
    assert key.get("/api/v1/clients").status_code == 401


def test_api_keys_cannot_carry_permissions_their_creator_lacks(crm):
    acme = crm.tenant("acme")
    keymaster = acme.user(["api_keys.manage", "clients.read"])
    powerful = acme.role(["clients.read", "clients.update"])
    response = keymaster.post("/api/v1/api-keys", json={"name": "escalation", "role_id": powerful})
    assert response.status_code == 403
    assert crm.count("api_keys", acme.id) == 0


def test_secrets_are_stored_only_as_digests_and_never_logged(crm, caplog):
    caplog.set_level(logging.DEBUG)
    acme = crm.tenant("acme")
    role = acme.role(["clients.read"])
    created = expect(acme.admin.post("/api/v1/api-keys", json={"name": "k", "role_id": role}), 201)
    client = acme.client(portal_password="Client-Passw0rd-7")
    portal = acme.portal(client["id"], password="Client-Passw0rd-7")
    secrets = [PASSWORD, "Client-Passw0rd-7", created["key"], acme.admin.token, portal.token]
    dump = []
    with crm.db.engine.connect() as connection:
        for table in ("users", "clients", "auth_tokens", "api_keys", "operation_log", "login_events"):
            dump += [
                json.dumps([str(v) for v in row])
                for row in connection.execute(text(f"SELECT * FROM {table}"))
            ]
    everything = "\n".join(dump) + "\n" + caplog.text
    for secret in secrets:
        assert secret not in everything
    with crm.db.transaction(tenant_id=acme.id) as session:
        user = session.scalars(select(User)).one()
        assert user.password_hash.startswith("$argon2id$")
        assert session.scalars(select(ApiKey)).one().key_hash != created["key"]
        assert session.get(Client, client["id"]).password_hash.startswith("$argon2id$")
    entries = expect(acme.admin.get("/api/v1/operation-log", params={"entity": "users"}), 200)["items"]
    assert [e["action"] for e in entries] == ["create"]  # signing in is in the login log, not here
    assert entries[0]["after"]["password_hash"] == "***"


def test_a_signed_in_user_acts_with_what_their_roles_grant_now(crm):
    """Each request reads the user's roles afresh: several roles add up (the widest data scope
    wins), a change to a role or to the user takes effect at their next request, and another
    tenant's roles of the same ids never count."""
    acme = crm.tenant("acme")
    other = crm.tenant("other")
    other.role(["deposits.approve", "users.manage"], scope="all")  # same-looking rows elsewhere
    team = acme.team()
    readers = acme.role(["clients.read"], scope="own")
    approvers = acme.role(["deposits.read", "deposits.approve"], scope="team")
    empty = acme.role([], scope="own")
    user = acme.user(role_ids=[readers, approvers, empty], team_id=team)

    me = expect(user.get("/api/v1/me"), 200)
    assert me["permissions"] == ["clients.read", "deposits.approve", "deposits.read"]
    assert (me["data_scope"], me["team_id"], me["is_admin"]) == ("team", team, False)

    expect(acme.admin.patch(f"/api/v1/roles/{approvers}", json={"permissions": ["deposits.read"]}), 200)
    assert expect(user.get("/api/v1/me"), 200)["permissions"] == ["clients.read", "deposits.read"]
    expect(acme.admin.patch(f"/api/v1/users/{user.user_id}", json={"role_ids": [empty]}), 200)
    me = expect(user.get("/api/v1/me"), 200)
    assert (me["permissions"], me["data_scope"]) == ([], "own")
    assert user.get("/api/v1/clients").status_code == 403

    with acme.ctx() as ctx:  # disabled behind the API's back: the token dies with the account
        ctx.session.execute(update(User).where(User.id == user.user_id).values(active=False))
    assert user.get("/api/v1/me").status_code == 401


def test_a_burst_of_sign_ins_hashes_a_few_at_a_time_at_a_lower_priority():
    """argon2 costs 64 MiB and ~0.2 s of CPU per password with the production parameters: twelve
    sign-ins at once take turns on the hashing threads, niced, instead of taking every CPU (and
    768 MiB) from the pages of clients already signed in."""
    lock, running, peak, niceness = threading.Lock(), [0], [0], set()

    class Watched(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
                niceness.add(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            time.sleep(0.05)
            with lock:
                running[0] -= 1
            return super().verify(hash, password)

    previous = credentials.use_hasher(Watched.from_parameters(profiles.CHEAPEST))
    try:
        stored = credentials.hash_password(PASSWORD)
        with ThreadPoolExecutor(12) as burst:
            answers = list(burst.map(credentials.verify_password, [stored] * 11 + [None], [PASSWORD] * 12))
        wrong = credentials.verify_password(stored, PASSWORD + "x")
    finally:
        credentials.use_hasher(previous)
    assert answers == [True] * 11 + [False] and wrong is False
    assert peak[0] == credentials.HASHING_THREADS
    assert niceness == {os.getpriority(os.PRIO_PROCESS, 0) + credentials.HASHING_NICENESS}


def test_a_process_forked_after_hashing_still_hashes():
    """A server that forks its workers from a parent that has already hashed (gunicorn --preload):
    the child has none of the parent's hashing threads, and must not wait for them forever."""
    stored = credentials.hash_password(PASSWORD)  # the parent's hashing threads are running now
    child = os.fork()
    if child == 0:  # pragma: no cover (the child's outcome is its exit code)
        signal.alarm(10)
        os._exit(0 if credentials.verify_password(stored, PASSWORD) else 3)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
