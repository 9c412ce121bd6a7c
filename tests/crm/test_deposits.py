"""Deposits: portal requests and manual entries, one decision each, data permissions."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from core.audit.models import OperationLog
from core.config import Settings
from core.testing import expect
from core.testing.processes import processes


def _manual(session, client_id: int, amount="100.00", currency="USD", **extra):
    return session.post(
        "/api/v1/deposits", json={"client_id": client_id, "amount": amount, "currency": currency, **extra}
    )


def test_portal_request_then_approval(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    portal = acme.portal(client["id"])
    requested = expect(portal.post("/api/v1/portal/deposits", json={"amount": 250.5, "currency": "EUR"}), 201)
    assert (requested["kind"], requested["status"], requested["amount"]) == ("request", "pending", "250.50")
    approved = expect(
        acme.admin.post(f"/api/v1/deposits/{requested['id']}/approve", json={"note": "ok"}), 200
    )
    me = expect(acme.admin.get("/api/v1/me"), 200)
    assert approved["status"] == "approved" and approved["decided_by_user_id"] == me["id"]
    assert approved["decided_at"] is not None and approved["decision_note"] == "ok"
    mine = expect(portal.get("/api/v1/portal/deposits"), 200)
    assert [d["status"] for d in mine["items"]] == ["approved"]


def test_manual_entries_record_who_entered_them(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    clerk = acme.user(["deposits.create", "deposits.read", "clients.read"])
    entered = expect(_manual(clerk, client["id"], "1000"), 201)
    assert (entered["kind"], entered["status"], entered["created_by_user_id"]) == (
        "manual",
        "pending",
        clerk.user_id,
    )
    assert entered["amount"] == "1000.00"


def test_amounts_are_exact_strings_or_numbers(crm):
    acme = crm.tenant("acme", currencies=("USD", "JPY"))
    client = acme.client()
    assert expect(_manual(acme.admin, client["id"], "0.1"), 201)["amount"] == "0.10"
    assert expect(_manual(acme.admin, client["id"], 0.3), 201)["amount"] == "0.30"
    assert expect(_manual(acme.admin, client["id"], "12345678901.99"), 201)["amount"] == "12345678901.99"
    assert expect(_manual(acme.admin, client["id"], "1500", "JPY"), 201)["amount"] == "1500"


def test_invalid_amounts_and_currencies_write_nothing(crm):
    acme = crm.tenant("acme", currencies=("USD", "JPY"))
    client = acme.client()
    before = crm.snapshot()
    for body, field in [
        ({"amount": "-5"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "1.005"}, "amount"),
        ({"amount": "10.5", "currency": "JPY"}, "amount"),
        ({"currency": "EUR"}, "currency"),
        ({"currency": "ZZZ"}, "currency"),
        ({"client_id": 999999}, "client_id"),
        ({"note": "x" * 501}, "note"),
        ({"status": "approved"}, "status"),
    ]:
        payload = {"client_id": client["id"], "amount": "10.00", "currency": "USD", **body}
        response = acme.admin.post("/api/v1/deposits", json=payload)
        assert response.status_code == 422, (body, response.text)
        assert field in [f["field"] for f in response.json()["error"]["fields"]], (body, response.text)
    assert crm.snapshot() == before


def test_a_decision_is_final_and_repeating_it_changes_nothing(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    deposit = expect(_manual(acme.admin, client["id"]), 201)
    first = expect(acme.admin.post(f"/api/v1/deposits/{deposit['id']}/approve"), 200)
    again = expect(acme.admin.post(f"/api/v1/deposits/{deposit['id']}/approve"), 200)
    assert again == first
    assert acme.admin.post(f"/api/v1/deposits/{deposit['id']}/reject").status_code == 409
    edit = acme.admin.patch(f"/api/v1/deposits/{deposit['id']}", json={"amount": "5.00"})
    assert edit.status_code == 409 and "cannot be edited" in edit.json()["error"]["message"]
    log = expect(
        acme.admin.get(
            "/api/v1/operation-log", params={"entity": "deposits", "entity_id": str(deposit["id"])}
        ),
        200,
    )
    assert [e["action"] for e in log["items"]] == ["update", "create"]


def test_pending_deposits_can_be_corrected(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    deposit = expect(_manual(acme.admin, client["id"]), 201)
    fixed = expect(
        acme.admin.patch(f"/api/v1/deposits/{deposit['id']}", json={"amount": "120", "currency": "EUR"}), 200
    )
    assert (fixed["amount"], fixed["currency"]) == ("120.00", "EUR")


def test_suspended_clients_cannot_request_deposits(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    portal = acme.portal(client["id"])
    with acme.ctx() as ctx:
        from core.crm.models import Client

        ctx.session.get(Client, client["id"]).suspended = True
    # The token is refused outright once the client is suspended.
    assert portal.post("/api/v1/portal/deposits", json={"amount": "10", "currency": "USD"}).status_code == 401


def test_data_permissions_apply_to_deposits(crm):
    acme = crm.tenant("acme")
    team1, team2 = acme.team(), acme.team()
    approver = acme.user(["deposits.read", "deposits.approve"], scope="team", team_id=team1)
    ours = acme.client(team_id=team1, assigned_user_id=None)
    theirs = acme.client(team_id=team2, assigned_user_id=None)
    our_deposit = expect(_manual(acme.admin, ours["id"]), 201)
    their_deposit = expect(_manual(acme.admin, theirs["id"]), 201)
    listed = expect(approver.get("/api/v1/deposits"), 200)
    assert [d["id"] for d in listed["items"]] == [our_deposit["id"]]
    assert approver.get(f"/api/v1/deposits/{their_deposit['id']}").status_code == 404
    assert approver.post(f"/api/v1/deposits/{their_deposit['id']}/approve").status_code == 404
    expect(approver.post(f"/api/v1/deposits/{our_deposit['id']}/approve"), 200)
    export = approver.get("/api/v1/deposits/export").text.strip().splitlines()
    assert len(export) == 2 and export[1].startswith(str(our_deposit["id"]))


def test_clients_see_only_their_own_deposits(crm):
    acme = crm.tenant("acme")
    alice, bob = acme.client(), acme.client()
    expect(_manual(acme.admin, bob["id"]), 201)
    assert expect(acme.portal(alice["id"]).get("/api/v1/portal/deposits"), 200)["total"] == 0


def test_list_filters(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    a = expect(_manual(acme.admin, client["id"], currency="EUR"), 201)
    expect(_manual(acme.admin, client["id"]), 201)
    expect(acme.admin.post(f"/api/v1/deposits/{a['id']}/reject"), 200)
    assert expect(acme.admin.get("/api/v1/deposits", params={"status": "rejected"}), 200)["total"] == 1
    assert expect(acme.admin.get("/api/v1/deposits", params={"currency": "USD"}), 200)["total"] == 1
    assert expect(acme.admin.get("/api/v1/deposits", params={"kind": "request"}), 200)["total"] == 0


def _decide(url: str, tenant_id: int, deposit_id: int, approve: bool, barrier) -> str:
    from core.context import bind
    from core.crm import deposits
    from core.crm.models import Deposit
    from core.errors import DomainError
    from core.runtime import Runtime

    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    with runtime.db.transaction(tenant_id=tenant_id) as warm_up:
        # Connect and set up the mappers before the start line, so that all race from there.
        warm_up.get(Deposit, deposit_id)
    barrier.wait()
    try:
        with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
            result = deposits.decide(bind(session, None, runtime, "race"), deposit_id, approve=approve)
            return result.status.value
    except DomainError as error:
        return error.code
    finally:
        runtime.db.dispose()


def test_racing_decisions_from_several_processes_leave_exactly_one(crm, crm_database_url):
    acme = crm.tenant("acme")
    client = acme.client()
    deposit = expect(_manual(acme.admin, client["id"]), 201)
    context = processes()
    votes = [True, False, True, False, True, False]
    barrier = context.Manager().Barrier(len(votes))
    with context.Pool(len(votes)) as pool:
        results = pool.starmap(
            _decide, [(crm_database_url, acme.id, deposit["id"], v, barrier) for v in votes]
        )
    final = expect(acme.admin.get(f"/api/v1/deposits/{deposit['id']}"), 200)["status"]
    winners = [r for r in results if r == final]
    assert final in ("approved", "rejected")
    assert len(winners) == 3 and results.count("conflict") == 3  # same vote: idempotent; other: 409
    with acme.ctx() as ctx:
        changes = ctx.session.scalars(
            select(OperationLog).where(
                OperationLog.entity == "deposits",
                OperationLog.entity_id == str(deposit["id"]),
                OperationLog.action == "update",
            )
        ).all()
    assert len(changes) == 1 and changes[0].after["status"] == final
