"""Trading accounts: scope, input rules, filters, export, and racing duplicate logins."""

from __future__ import annotations

import csv
import io
import threading
import time
from dataclasses import replace

from sqlalchemy import select

from core.config import Settings
from core.testing import expect
from core.testing.processes import processes


def _open(session, client_id: int, login: str = "100200", platform: str = "mt5", **extra):
    body = {
        "client_id": client_id,
        "platform": platform,
        "login": login,
        "account_type": "Standard",
        "currency": "USD",
        **extra,
    }
    return session.post("/api/v1/trading-accounts", json=body)


def _field_names(response) -> list[str]:
    return [f["field"] for f in response.json()["error"]["fields"]]


def test_bad_input_names_the_field_and_writes_nothing(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    account = expect(_open(acme.admin, client["id"], login="1"), 201)
    before = crm.snapshot()
    for extra, field in [
        ({"platform": "metatrader9"}, "platform"),
        ({"login": ""}, "login"),
        ({"login": "12 34"}, "login"),
        ({"leverage": 0}, "leverage"),
        ({"leverage": 10_000}, "leverage"),
        ({"account_type": ""}, "account_type"),
        ({"currency": "XYZ"}, "currency"),
        ({"client_id": 999_999}, "client_id"),
        ({"archived": True}, "archived"),
    ]:
        body = {"client_id": client["id"], "platform": "mt5", "login": "2", "account_type": "Standard"}
        response = acme.admin.post("/api/v1/trading-accounts", json={**body, "currency": "USD", **extra})
        assert response.status_code == 422, (extra, response.text)
        assert field in _field_names(response), (extra, response.text)
    for body, field in [
        ({"leverage": -1}, "leverage"),
        ({"login": "3"}, "login"),  # the login is fixed once opened
        ({"currency": "EUR"}, "currency"),
    ]:
        response = acme.admin.patch(f"/api/v1/trading-accounts/{account['id']}", json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in _field_names(response), (body, response.text)
    assert crm.snapshot() == before


def test_a_login_is_unique_per_company_and_platform_only(crm):
    acme, rival = crm.tenant("acme"), crm.tenant("rival")
    alice, bob = acme.client(), acme.client()
    expect(_open(acme.admin, alice["id"], login="777"), 201)
    before = crm.snapshot()
    duplicate = _open(acme.admin, bob["id"], login="777")
    assert duplicate.status_code == 409 and _field_names(duplicate) == ["login"]
    assert crm.snapshot() == before
    expect(_open(acme.admin, bob["id"], login="777", platform="ctrader"), 201)
    expect(_open(rival.admin, rival.client()["id"], login="777"), 201)


def test_team_users_cannot_see_or_act_on_another_teams_accounts(crm):
    acme = crm.tenant("acme")
    team1, team2 = acme.team(), acme.team()
    dealer = acme.user(["trading_accounts.read", "trading_accounts.manage"], scope="team", team_id=team1)
    ours = acme.client(team_id=team1, assigned_user_id=None)
    theirs = acme.client(team_id=team2, assigned_user_id=None)
    our_account = expect(_open(acme.admin, ours["id"], login="10"), 201)
    their_account = expect(_open(acme.admin, theirs["id"], login="20"), 201)
    before = crm.snapshot()
    assert dealer.get(f"/api/v1/trading-accounts/{their_account['id']}").status_code == 404
    patched = dealer.patch(f"/api/v1/trading-accounts/{their_account['id']}", json={"leverage": 1})
    assert patched.status_code == 404
    opened = _open(dealer, theirs["id"], login="30")
    assert opened.status_code == 422 and _field_names(opened) == ["client_id"]
    assert crm.snapshot() == before
    listed = expect(dealer.get("/api/v1/trading-accounts"), 200)
    assert [a["id"] for a in listed["items"]] == [our_account["id"]]
    rows = dealer.get("/api/v1/trading-accounts/export").text.strip().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == [str(our_account["id"])]


def test_reading_is_not_managing(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    reader = acme.user(["trading_accounts.read"])
    account = expect(_open(acme.admin, client["id"]), 201)
    before = crm.snapshot()
    assert _open(reader, client["id"], login="9").status_code == 403
    assert reader.patch(f"/api/v1/trading-accounts/{account['id']}", json={"leverage": 1}).status_code == 403
    assert crm.snapshot() == before
    assert expect(reader.get(f"/api/v1/trading-accounts/{account['id']}"), 200)["leverage"] == 100


def test_list_filters_and_export(crm):
    acme = crm.tenant("acme")
    alice, bob = acme.client(), acme.client()
    expect(_open(acme.admin, alice["id"], login="1", platform="mt4"), 201)
    eur = expect(_open(acme.admin, alice["id"], login="2", currency="EUR", leverage=30), 201)
    expect(_open(acme.admin, bob["id"], login="3", platform="fortex"), 201)

    def logins(**params) -> list[str]:
        listed = expect(acme.admin.get("/api/v1/trading-accounts", params=params), 200)
        return [a["login"] for a in listed["items"]]

    assert logins() == ["3", "2", "1"]
    assert logins(client_id=alice["id"]) == ["2", "1"]
    assert logins(platform="fortex") == ["3"]
    assert logins(currency="EUR") == ["2"]
    assert logins(per_page=1, page=3) == ["1"]
    export = acme.admin.get("/api/v1/trading-accounts/export", params={"currency": "EUR"})
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == 1
    assert {k: rows[0][k] for k in ("id", "client_id", "platform", "login", "currency", "leverage")} == {
        "id": str(eur["id"]),
        "client_id": str(alice["id"]),
        "platform": "mt5",
        "login": "2",
        "currency": "EUR",
        "leverage": "30",
    }


def test_the_portal_lists_my_open_accounts_only(crm):
    acme = crm.tenant("acme")
    me, someone = acme.client(), acme.client()
    expect(_open(acme.admin, me["id"], login="1"), 201)
    old = expect(_open(acme.admin, me["id"], login="2"), 201)
    expect(_open(acme.admin, someone["id"], login="3"), 201)
    expect(acme.admin.patch(f"/api/v1/trading-accounts/{old['id']}", json={"archived": True}), 200)
    portal = acme.portal(me["id"])
    assert [a["login"] for a in expect(portal.get("/api/v1/portal/trading-accounts"), 200)["items"]] == ["1"]
    assert portal.post("/api/v1/portal/trading-accounts", json={}).status_code == 405


def test_another_companys_accounts_do_not_exist(crm):
    acme, rival = crm.tenant("acme"), crm.tenant("rival")
    account = expect(_open(acme.admin, acme.client()["id"]), 201)
    assert rival.admin.get(f"/api/v1/trading-accounts/{account['id']}").status_code == 404
    assert (
        rival.admin.patch(f"/api/v1/trading-accounts/{account['id']}", json={"leverage": 2}).status_code
        == 404
    )
    assert expect(rival.admin.get("/api/v1/trading-accounts"), 200)["total"] == 0


def _open_in_process(url: str, tenant_id: int, client_id: int, barrier) -> str:
    from core.context import bind
    from core.crm import trading_accounts
    from core.crm.models import TradingAccount, TradingPlatform
    from core.crm.schemas import TradingAccountIn
    from core.errors import DomainError
    from core.runtime import Runtime

    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    data = TradingAccountIn(
        client_id=client_id, platform=TradingPlatform.MT5, login="5000", account_type="ECN", currency="USD"
    )
    with runtime.db.transaction(tenant_id=tenant_id) as warm_up:
        # Connect and set up the mappers before the start line, so that all race from there.
        warm_up.scalar(select(TradingAccount.id).limit(1))
    barrier.wait()
    try:
        with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
            trading_accounts.open_account(bind(session, None, runtime, "race"), data)
            return "opened"
    except DomainError as error:
        return f"{error.code}:{','.join(f.field for f in error.fields)}"
    finally:
        runtime.db.dispose()


def test_racing_processes_open_a_login_once(crm, crm_database_url):
    acme = crm.tenant("acme")
    client = acme.client()
    context = processes()
    racers = 5
    barrier = context.Manager().Barrier(racers)
    with context.Pool(racers) as pool:
        results = pool.starmap(
            _open_in_process, [(crm_database_url, acme.id, client["id"], barrier)] * racers
        )
    assert sorted(results) == ["conflict:login"] * (racers - 1) + ["opened"]
    assert expect(acme.admin.get("/api/v1/trading-accounts", params={"platform": "mt5"}), 200)["total"] == 1


def test_a_login_taken_by_a_transaction_still_in_flight_is_a_conflict_on_login(crm):
    """The second request passes the "is it free?" check while the first has not committed; its
    insert then waits on the unique index and must still answer 409 naming ``login``."""
    from core.context import bind
    from core.crm import trading_accounts
    from core.crm.models import TradingPlatform
    from core.crm.schemas import TradingAccountIn
    from core.errors import Conflict

    acme = crm.tenant("acme")
    alice, bob = acme.client(), acme.client()
    runtime = crm.runtime

    def request(client_id: int) -> TradingAccountIn:
        return TradingAccountIn(
            client_id=client_id,
            platform=TradingPlatform.MT4,
            login="4242",
            account_type="Pro",
            currency="USD",
        )

    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            with runtime.db.transaction(tenant_id=acme.id, write=True) as session:
                trading_accounts.open_account(bind(session, None, runtime, "second"), request(bob["id"]))
            outcome.append(None)
        except BaseException as error:  # handed to the test thread to assert on
            outcome.append(error)

    with runtime.db.transaction(tenant_id=acme.id, write=True) as session:
        trading_accounts.open_account(bind(session, None, runtime, "first"), request(alice["id"]))
        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.5)  # let the second request reach its insert while this one is uncommitted
    racer.join(timeout=30)

    assert len(outcome) == 1 and isinstance(outcome[0], Conflict), outcome
    assert [f.field for f in outcome[0].fields] == ["login"]
    listed = expect(acme.admin.get("/api/v1/trading-accounts", params={"platform": "mt4"}), 200)
    assert [a["client_id"] for a in listed["items"]] == [alice["id"]]
