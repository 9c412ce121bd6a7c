"""Account security without enumeration or lock-out abuse (issue 8, point 7).

Sign-in, registration and password reset answer alike whether an account exists or not, in
about the same time; throttling stops guessing and spraying without letting an attacker lock a
real user out; registration is confirmed by e-mail and password reset works by e-mail, each code
once. Every failed sign-in costs an argon2 verification (about a second on a loaded CI machine),
so tests that need many failures lower the limits through the settings.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text, update

from core.access import throttle
from core.access.auth import Audience
from core.access.models import AccountToken
from core.db import migrate
from core.db.base import utcnow
from core.errors import TooManyAttempts
from core.testing import PASSWORD, SIGN_UP_PASSWORD, ApiSession, CrmKit, expect

LOGIN = "/api/v1/auth/login"
PORTAL_LOGIN = "/api/v1/portal/auth/login"
PLATFORM_LOGIN = "/api/v1/platform/auth/login"
RESET = "/api/v1/auth/password-reset"
PORTAL_RESET = "/api/v1/portal/auth/password-reset"
PLATFORM_RESET = "/api/v1/platform/auth/password-reset"
REGISTER = "/api/v1/portal/register"
CONFIRM = "/api/v1/portal/register/confirm"
WRONG = "Wrong-Passw0rd-1"
NEW_PASSWORD = "New-Passw0rd-9"
CLIENT_PASSWORD = "Client-Passw0rd-7"


def _tighten(monkeypatch: pytest.MonkeyPatch, crm: CrmKit, **limits: int) -> None:
    """Lower the throttle's limits for one test (the app reads the runtime's settings live)."""
    settings = crm.runtime.settings
    monkeypatch.setattr(
        crm.runtime, "settings", replace(settings, throttle=replace(settings.throttle, **limits))
    )


def _same(first, second) -> None:
    """The same status, body and headers: nothing tells the two apart."""
    assert first.status_code == second.status_code, (first.text, second.text)
    assert first.content == second.content
    assert dict(first.headers) == dict(second.headers)


def _login(session: ApiSession, email: str, password: str, tenant: str = "acme"):
    return session.post(LOGIN, json={"tenant": tenant, "email": email, "password": password})


def _sign_up(session: ApiSession, email: str, **fields):
    body = {"tenant": "acme", "name": "New Trader", "email": email, "password": SIGN_UP_PASSWORD, **fields}
    return session.post(REGISTER, json=body)


def _emails_to(crm: CrmKit, address: str) -> int:
    with crm.db.engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT COUNT(*) FROM email_messages WHERE to_address = :a"), {"a": address}
            ).scalar_one()
        )


def _median_seconds(samples: list[float]) -> float:
    return statistics.median(samples)


def _timed_pairs(calls: list[tuple[Callable[[int], object], Callable[[int], object]]], rounds: int) -> None:
    """Time each (known, unknown) pair of calls, interleaved so that machine load hits both alike,
    and assert the medians within a factor of two of each other."""
    for known, unknown in calls:
        times: tuple[list[float], list[float]] = ([], [])
        for n in range(rounds):
            for samples, call in zip(times, (known, unknown), strict=True):
                start = time.perf_counter()
                call(n)
                samples.append(time.perf_counter() - start)
        fast, slow = sorted((_median_seconds(times[0]), _median_seconds(times[1])))
        assert slow < 2 * fast, (times, known, unknown)


# --- the same answer -----------------------------------------------------------------------------


def test_sign_in_answers_alike_whether_the_account_exists_or_not(crm):
    acme = crm.tenant("acme")
    acme.client(email="trader@example.com", portal_password=CLIENT_PASSWORD)
    crm.operator("op@platform.example.com")
    disabled = acme.user([])
    expect(acme.admin.patch(f"/api/v1/users/{disabled.user_id}", json={"active": False}), 200)
    unknown = {"tenant": "acme", "email": "nobody@example.com", "password": WRONG}
    cases = [
        (LOGIN, {"tenant": "acme", "email": acme.admin_email, "password": WRONG}, unknown),
        (LOGIN, {"tenant": "nope", "email": acme.admin_email, "password": WRONG}, unknown),
        (LOGIN, {"tenant": "acme", "email": disabled.label, "password": PASSWORD}, unknown),
        (PORTAL_LOGIN, {"tenant": "acme", "email": "trader@example.com", "password": WRONG}, unknown),
        (
            PLATFORM_LOGIN,
            {"email": "op@platform.example.com", "password": WRONG},
            {"email": "nobody@platform.example.com", "password": WRONG},
        ),
    ]
    for path, existing, missing in cases:
        known_answer = crm.anonymous.post(path, json=existing)
        assert known_answer.status_code == 401, known_answer.text
        _same(known_answer, crm.anonymous.post(path, json=missing))
    user = expect(acme.admin.get(f"/api/v1/users/{disabled.user_id}"), 200)
    assert "locked_until" not in user  # no account lock any more: throttling is per e-mail and address


def test_a_password_reset_answers_alike_and_mails_only_accounts_that_may_sign_in(crm):
    acme = crm.tenant("acme")
    acme.client(email="trader@example.com", portal_password=CLIENT_PASSWORD)
    acme.client(email="no-portal@example.com")  # a client without a portal password
    crm.operator("op@platform.example.com")
    cases = [
        (
            RESET,
            {"tenant": "acme", "email": acme.admin_email},
            {"tenant": "acme", "email": "nobody@example.com"},
        ),
        (RESET, {"tenant": "acme", "email": acme.admin_email}, {"tenant": "nope", "email": acme.admin_email}),
        (
            PORTAL_RESET,
            {"tenant": "acme", "email": "trader@example.com"},
            {"tenant": "acme", "email": "x@example.com"},
        ),
        (
            PORTAL_RESET,
            {"tenant": "acme", "email": "trader@example.com"},
            {"tenant": "acme", "email": "no-portal@example.com"},
        ),
        (PLATFORM_RESET, {"email": "op@platform.example.com"}, {"email": "nobody@platform.example.com"}),
    ]
    for path, existing, missing in cases:
        known_answer = crm.anonymous.post(path, json=existing)
        assert known_answer.status_code == 202, known_answer.text
        _same(known_answer, crm.anonymous.post(path, json=missing))
    assert _emails_to(crm, acme.admin_email) == 2
    assert _emails_to(crm, "trader@example.com") == 2
    assert _emails_to(crm, "op@platform.example.com") == 1
    for nobody in (
        "nobody@example.com",
        "x@example.com",
        "no-portal@example.com",
        "nobody@platform.example.com",
    ):
        assert _emails_to(crm, nobody) == 0
    subject, body = crm.last_email("trader@example.com")
    assert subject == "Choose a new password" and "/portal/reset-password?token=" in body


def test_signing_up_answers_alike_for_new_and_taken_addresses(crm):
    acme = crm.tenant("acme")
    acme.client(email="taken@example.com")
    new = _sign_up(crm.anonymous, "new@example.com")
    assert new.status_code == 202, new.text
    _same(new, _sign_up(crm.anonymous, "taken@example.com"))
    assert crm.count("clients", acme.id) == 1  # nobody has an account before confirming
    subject, body = crm.last_email("taken@example.com")
    assert "already has an account" in body and "token=" not in body
    subject, body = crm.last_email("new@example.com")
    assert subject == "Confirm your registration with Acme" and "/portal/register/confirm?token=" in body


def test_answers_take_about_as_long_whether_the_account_exists_or_not(
    crm, monkeypatch, production_password_hashing
):
    _tighten(monkeypatch, crm, emails=100)  # every known-address request sends its e-mail
    acme = crm.tenant("acme")
    acme.client(email="trader@example.com", portal_password=CLIENT_PASSWORD)

    def at(n: int) -> ApiSession:  # a fresh address per round: no throttling in the measurement
        return crm.from_address(f"10.1.0.{n}")

    _timed_pairs(
        [
            (
                lambda n: _login(at(n), acme.admin_email, WRONG),
                lambda n: _login(at(n), f"nobody{n}@example.com", WRONG),
            ),
            (
                lambda n: _sign_up(at(n), "trader@example.com"),
                lambda n: _sign_up(at(n), f"new{n}@example.com"),
            ),
        ],
        rounds=5,
    )
    _timed_pairs(  # no argon2 here: fast, so more rounds against the noise
        [
            (
                lambda n: at(n).post(PORTAL_RESET, json={"tenant": "acme", "email": "trader@example.com"}),
                lambda n: at(n).post(
                    PORTAL_RESET, json={"tenant": "acme", "email": f"nobody{n}@example.com"}
                ),
            )
        ],
        rounds=9,
    )


# --- throttling ----------------------------------------------------------------------------------


def test_an_attacker_guessing_at_one_address_does_not_lock_the_user_out_at_another(crm):
    acme = crm.tenant("acme")
    attacker, user = crm.from_address("203.0.113.7"), crm.from_address("198.51.100.2")
    for _ in range(crm.runtime.settings.throttle.pair_failures):
        assert _login(attacker, acme.admin_email, WRONG).status_code == 401
    blocked = _login(attacker, acme.admin_email, PASSWORD)  # the right password is not even checked
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "too_many_attempts"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    expect(_login(user, acme.admin_email, PASSWORD), 200)
    log = expect(acme.admin.get("/api/v1/login-log", params={"success": False}), 200)["items"]
    assert sorted(e["reason"] for e in log) == ["bad_credentials"] * 5 + ["throttled"]
    assert {e["ip"] for e in log} == {"203.0.113.7"}


def test_a_blocked_attempt_answers_alike_for_known_and_unknown_accounts(crm, monkeypatch):
    _tighten(monkeypatch, crm, pair_failures=2)
    acme = crm.tenant("acme")
    attacker = crm.from_address("203.0.113.8")
    for _ in range(2):
        for email in (acme.admin_email, "nobody@example.com"):
            assert _login(attacker, email, WRONG).status_code == 401
    known, unknown = _login(attacker, acme.admin_email, WRONG), _login(attacker, "nobody@example.com", WRONG)
    assert known.status_code == unknown.status_code == 429
    assert known.content == unknown.content
    assert set(known.headers) == set(unknown.headers)
    # Blocked a second apart (one argon2 check): the waits may differ by that second.
    assert abs(int(known.headers["Retry-After"]) - int(unknown.headers["Retry-After"])) <= 2


def test_spraying_one_password_over_many_accounts_blocks_the_address(crm, monkeypatch):
    _tighten(monkeypatch, crm, address_failures=6)
    acme = crm.tenant("acme")
    sprayer, bystander = crm.from_address("203.0.113.9"), crm.from_address("198.51.100.3")
    for n in range(6):  # each account tried once: no per-account limit is reached
        assert _login(sprayer, f"user{n}@acme.example.com", "Summer-2026!").status_code == 401
    assert _login(sprayer, acme.admin_email, PASSWORD).status_code == 429
    assert sprayer.post(RESET, json={"tenant": "acme", "email": acme.admin_email}).status_code == 429
    assert _sign_up(sprayer, "spray@example.com").status_code == 429
    expect(_login(bystander, acme.admin_email, PASSWORD), 200)


def test_a_distributed_attack_on_one_account_spares_the_addresses_it_signed_in_from(crm, monkeypatch):
    _tighten(monkeypatch, crm, pair_failures=3, account_failures=4)
    acme = crm.tenant("acme")  # the kit signed the administrator in from "testclient": a known address
    for n in range(2):
        bot = crm.from_address(f"192.0.2.{n + 1}")
        for _ in range(2):
            assert _login(bot, acme.admin_email, WRONG).status_code == 401
    new_device = crm.from_address("198.51.100.4")
    assert _login(new_device, acme.admin_email, PASSWORD).status_code == 429
    expect(_login(crm.anonymous, acme.admin_email, PASSWORD), 200)


def test_blocks_double_up_to_the_cap_expire_and_are_forgotten(crm):
    settings = replace(crm.runtime.settings.throttle, account_failures=10_000, address_failures=10_000)
    attempt = throttle.Attempt("back_office", "acme", "someone@example.com", "203.0.113.10")
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def fail_until_blocked() -> int:
        with crm.db.transaction(write=True) as session:
            for _ in range(settings.pair_failures - 1):
                throttle.record_failure(session, settings, attempt, now)
                throttle.check_sign_in(session, attempt, now)  # not blocked yet
            throttle.record_failure(session, settings, attempt, now)
            with pytest.raises(TooManyAttempts) as blocked:
                throttle.check_sign_in(session, attempt, now)
            wait = blocked.value.retry_after
            with pytest.raises(TooManyAttempts):
                throttle.check_sign_in(session, attempt, now + timedelta(seconds=wait - 1))
            throttle.check_sign_in(session, attempt, now + timedelta(seconds=wait))  # over
            return wait

    waits = []
    for _ in range(6):
        waits.append(fail_until_blocked())
        now += timedelta(seconds=waits[-1])
    assert waits == [60, 120, 240, 480, 900, 900]
    now += timedelta(days=1, seconds=1)  # a quiet day: forgotten
    assert fail_until_blocked() == 60
    now += timedelta(seconds=60)
    assert fail_until_blocked() == 120
    now += timedelta(seconds=120)
    with crm.db.transaction(write=True) as session:  # signing in clears the pair
        throttle.record_success(session, attempt, now)
    assert fail_until_blocked() == 60


def test_parallel_failures_all_count(crm):
    acme = crm.tenant("acme")
    parallel = crm.runtime.settings.throttle.pair_failures - 1
    barrier = threading.Barrier(parallel)
    statuses: list[int] = []

    def guess() -> None:
        session = crm.from_address("203.0.113.11")
        barrier.wait()
        statuses.append(_login(session, acme.admin_email, WRONG).status_code)

    threads = [threading.Thread(target=guess) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [401] * parallel
    attempt = throttle.Attempt("back_office", "acme", acme.admin_email, "203.0.113.11")
    with crm.db.engine.connect() as connection:
        counts = dict(
            connection.execute(
                text("SELECT key, failures FROM sign_in_throttles WHERE key IN (:p, :a, :d)"),
                {"p": attempt.pair_key, "a": attempt.account_key, "d": attempt.address_key},
            ).all()
        )
    assert counts == {
        attempt.pair_key: parallel,
        attempt.account_key: parallel,
        attempt.address_key: parallel,
    }
    # One more failure reaches the limit: the parallel ones counted.
    assert _login(crm.from_address("203.0.113.11"), acme.admin_email, WRONG).status_code == 401
    assert _login(crm.from_address("203.0.113.11"), acme.admin_email, PASSWORD).status_code == 429


# --- registration confirmed by e-mail ------------------------------------------------------------


def test_a_sign_up_opens_the_account_when_confirmed_and_only_once(crm):
    acme = crm.tenant("acme")
    link = expect(acme.admin.post("/api/v1/promotion-links", json={"name": "Spring", "code": "SPRING"}), 201)
    accepted = expect(_sign_up(crm.anonymous, "new@example.com", promotion_code="spring"), 202)
    assert accepted == {"message": "Check your e-mail: we have sent you a link to confirm your registration."}
    assert crm.count("clients", acme.id) == 0
    token = crm.email_token("new@example.com")
    with crm.db.engine.connect() as connection:  # the code and the password are stored only hashed
        stored = " ".join(
            str(v) for row in connection.execute(text("SELECT * FROM account_tokens")) for v in row
        )
    assert token not in stored and SIGN_UP_PASSWORD not in stored and "$argon2id$" in stored

    registered = expect(crm.anonymous.post(CONFIRM, json={"token": token}), 201)
    client = registered["client"]
    assert (client["email"], client["client_type"]) == ("new@example.com", "trader")
    assert (
        expect(ApiSession(crm.http, registered["access_token"]).get("/api/v1/portal/me"), 200)["id"]
        == client["id"]
    )
    assert expect(acme.admin.get(f"/api/v1/clients/{client['id']}"), 200)["promotion_link_id"] == link["id"]
    again = crm.anonymous.post(CONFIRM, json={"token": token})
    assert again.status_code == 422 and again.json()["error"]["fields"][0]["field"] == "token"
    assert crm.count("clients", acme.id) == 1
    expect(
        crm.anonymous.post(
            PORTAL_LOGIN, json={"tenant": "acme", "email": "new@example.com", "password": SIGN_UP_PASSWORD}
        ),
        200,
    )


def test_racing_confirmations_open_one_account(crm):
    """Two confirmations of one code and one of a second sign-up of the same address, at once
    (threads with their own connections: a real race on PostgreSQL): one account opens."""
    acme = crm.tenant("acme")
    expect(_sign_up(crm.anonymous, "racer@example.com"), 202)
    first = crm.email_token("racer@example.com")
    expect(_sign_up(crm.anonymous, "racer@example.com"), 202)
    second = crm.email_token("racer@example.com")
    assert first != second
    barrier = threading.Barrier(3)
    statuses: list[int] = []

    def confirm(token: str) -> None:
        session = crm.from_address("198.51.100.5")
        barrier.wait()
        statuses.append(session.post(CONFIRM, json={"token": token}).status_code)

    threads = [threading.Thread(target=confirm, args=(token,)) for token in (first, first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 422, 422]
    assert crm.count("clients", acme.id) == 1


def test_unknown_used_and_expired_codes_are_refused_alike(crm):
    acme = crm.tenant("acme")
    acme.client(email="trader@example.com", portal_password=CLIENT_PASSWORD)
    expect(_sign_up(crm.anonymous, "used@example.com"), 202)
    used = crm.email_token("used@example.com")
    expect(crm.anonymous.post(CONFIRM, json={"token": used}), 201)
    expect(_sign_up(crm.anonymous, "late@example.com"), 202)
    late = crm.email_token("late@example.com")
    expect(crm.anonymous.post(PORTAL_RESET, json={"tenant": "acme", "email": "trader@example.com"}), 202)
    late_reset = crm.email_token("trader@example.com")
    refusals = [  # a registration code is no reset code
        crm.anonymous.post(f"{PORTAL_RESET}/confirm", json={"token": late, "password": NEW_PASSWORD})
    ]
    with crm.db.transaction() as session:
        session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    refusals += [
        crm.anonymous.post(CONFIRM, json={"token": code}) for code in (used, late, "Unknown-code-" + "x" * 30)
    ]
    refusals.append(  # an expired reset code
        crm.anonymous.post(f"{PORTAL_RESET}/confirm", json={"token": late_reset, "password": NEW_PASSWORD})
    )
    for response in refusals:
        assert response.status_code == 422, response.text
        assert response.json()["error"]["fields"] == [
            {"field": "token", "message": "this link is invalid, used or expired"}
        ]
    assert crm.count("clients", acme.id) == 2


# --- password reset ------------------------------------------------------------------------------


def test_a_back_office_reset_sets_the_password_ends_sessions_and_lifts_the_throttle(crm, monkeypatch):
    _tighten(monkeypatch, crm, pair_failures=2)
    acme = crm.tenant("acme")
    home = crm.from_address("198.51.100.7")
    for _ in range(2):  # the administrator forgot their password, and tried
        assert _login(home, acme.admin_email, WRONG).status_code == 401
    assert _login(home, acme.admin_email, PASSWORD).status_code == 429
    expect(home.post(RESET, json={"tenant": "acme", "email": acme.admin_email}), 202)
    earlier = crm.email_token(acme.admin_email)
    expect(home.post(RESET, json={"tenant": "acme", "email": acme.admin_email}), 202)
    token = crm.email_token(acme.admin_email)
    weak = home.post(f"{RESET}/confirm", json={"token": token, "password": "weakweak"})
    assert weak.status_code == 422 and weak.json()["error"]["fields"][0]["field"] == "password"
    expect(home.post(f"{RESET}/confirm", json={"token": token, "password": NEW_PASSWORD}), 204)
    assert acme.admin.get("/api/v1/me").status_code == 401  # every session ended
    expect(_login(home, acme.admin_email, NEW_PASSWORD), 200)  # and the throttle lifted
    assert _login(crm.anonymous, acme.admin_email, PASSWORD).status_code == 401
    for spent in (token, earlier):  # used, and retired by the reset
        assert (
            home.post(f"{RESET}/confirm", json={"token": spent, "password": "Other-Passw0rd-8"}).status_code
            == 422
        )


def test_a_portal_reset_sets_the_password_and_ends_the_clients_sessions(crm):
    acme = crm.tenant("acme")
    client = acme.client(email="trader@example.com", portal_password=CLIENT_PASSWORD)
    portal = acme.portal(client["id"], password=CLIENT_PASSWORD)
    expect(crm.anonymous.post(PORTAL_RESET, json={"tenant": "acme", "email": "trader@example.com"}), 202)
    token = crm.email_token("trader@example.com")
    # A portal code is no back-office code.
    assert (
        crm.anonymous.post(f"{RESET}/confirm", json={"token": token, "password": NEW_PASSWORD}).status_code
        == 422
    )
    expect(
        crm.anonymous.post(f"{PORTAL_RESET}/confirm", json={"token": token, "password": NEW_PASSWORD}), 204
    )
    assert portal.get("/api/v1/portal/me").status_code == 401
    expect(
        crm.anonymous.post(
            PORTAL_LOGIN, json={"tenant": "acme", "email": "trader@example.com", "password": NEW_PASSWORD}
        ),
        200,
    )


def test_a_platform_reset_code_sets_the_operators_password(crm):
    operator = crm.operator("op@platform.example.com")
    expect(crm.anonymous.post(PLATFORM_RESET, json={"email": "op@platform.example.com"}), 202)
    assert _emails_to(crm, "op@platform.example.com") == 1  # platform mail, in the outbox
    subject, body = crm.last_email("op@platform.example.com")
    assert subject == "Choose a new password" and "your platform account" in body
    assert "/platform/reset-password?token=" in body
    token = crm.email_token("op@platform.example.com")
    expect(
        crm.anonymous.post(f"{PLATFORM_RESET}/confirm", json={"token": token, "password": NEW_PASSWORD}), 204
    )
    assert operator.get("/api/v1/platform/tenants").status_code == 401
    expect(
        crm.anonymous.post(
            PLATFORM_LOGIN, json={"email": "op@platform.example.com", "password": NEW_PASSWORD}
        ),
        200,
    )
    spent = crm.anonymous.post(
        f"{PLATFORM_RESET}/confirm", json={"token": token, "password": "Other-Passw0rd-8"}
    )
    assert spent.status_code == 422


def test_account_emails_to_one_address_are_capped_and_answered_alike(crm):
    acme = crm.tenant("acme")
    limit = crm.runtime.settings.throttle.emails
    answers = [
        crm.anonymous.post(RESET, json={"tenant": "acme", "email": acme.admin_email})
        for _ in range(limit + 2)
    ]
    for answer in answers[1:]:
        _same(answers[0], answer)
    assert _emails_to(crm, acme.admin_email) == limit


# --- contract and storage ------------------------------------------------------------------------


def test_the_public_account_routes_document_their_answers(crm):
    paths = crm.app.openapi()["paths"]
    accepted = [RESET, PORTAL_RESET, PLATFORM_RESET, REGISTER]
    others = [LOGIN, PORTAL_LOGIN, PLATFORM_LOGIN, CONFIRM] + [f"{p}/confirm" for p in accepted[:3]]
    for path in accepted + others:
        operation = paths[path]["post"]
        assert operation["x-required-permission"] == "public"
        too_many = operation["responses"]["429"]
        assert "Retry-After" in too_many["headers"]
        assert too_many["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
        assert "422" in operation["responses"]
    for path in accepted:
        assert set(paths[path]["post"]["responses"]) >= {"202", "422", "429"}


def test_the_migration_drops_the_lockout_without_touching_the_rows(tmp_path: Path):
    """SQLite: the lockout columns go with ALTER TABLE … DROP COLUMN, not a table copy (which would
    drop `clients`, and with foreign keys on cascade into every row that refers to a client)."""
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    migrate.upgrade(url, revision="core_0003")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("PRAGMA foreign_keys=ON"))
        connection.execute(
            text(
                "INSERT INTO tenants (id, name, slug, timezone, base_currencies, active, created_at) "
                "VALUES (1, 'Acme', 'acme', 'UTC', '[\"USD\"]', 1, '2026-01-01 00:00:00.000000')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO clients (id, tenant_id, client_type, name, email, language, kyc_status, "
                "suspended, failed_logins, created_at, updated_at) VALUES (1, 1, 'trader', 'C', "
                "'c@example.com', 'en', 'not_submitted', 0, 3, '2026-01-01 00:00:00.000000', "
                "'2026-01-01 00:00:00.000000')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO popups (tenant_id, client_id, title, body, source, created_at) "
                "VALUES (1, 1, 'T', 'B', 'core', '2026-01-01 00:00:00.000000')"
            )
        )
    engine.dispose()
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        columns = {row[1] for row in connection.execute(text("PRAGMA table_info(clients)"))}
        assert "failed_logins" not in columns and "locked_until" not in columns
        assert connection.execute(text("SELECT COUNT(*) FROM popups")).scalar_one() == 1
        assert connection.execute(text("SELECT email FROM clients")).scalar_one() == "c@example.com"
    engine.dispose()


def test_the_audience_of_a_throttle_key_is_part_of_it():
    """A portal client and a staff user with one e-mail do not share a count."""
    staff = throttle.Attempt(Audience.BACK_OFFICE.value, "acme", "same@example.com", "203.0.113.1")
    client = throttle.Attempt(Audience.PORTAL.value, "acme", "same@example.com", "203.0.113.1")
    assert staff.pair_key != client.pair_key and staff.account_key != client.account_key
    assert staff.address_key == client.address_key  # the address counts across everything
