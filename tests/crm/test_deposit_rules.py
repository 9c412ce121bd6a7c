"""Deposits: who may see and act on which deposit, and input that must be refused whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.access.models import PrincipalKind
from core.access.principal import Principal
from core.crm import deposits
from core.crm.models import Client
from core.crm.schemas import DepositRequestIn
from core.errors import Conflict
from core.testing import expect


def _manual(session, client_id: int, amount: str = "100.00", currency: str = "USD"):
    return session.post(
        "/api/v1/deposits", json={"client_id": client_id, "amount": amount, "currency": currency}
    )


def _field_names(response) -> list[str]:
    return [f["field"] for f in response.json()["error"]["fields"]]


def test_a_suspended_client_cannot_request_a_deposit(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    with acme.ctx() as ctx:
        ctx.session.get(Client, client["id"]).suspended = True
    before = crm.snapshot()
    me = Principal(kind=PrincipalKind.CLIENT, id=client["id"], tenant_id=acme.id, label=client["email"])
    with pytest.raises(Conflict, match="suspended"), acme.ctx(me) as ctx:
        deposits.request_deposit(ctx, client["id"], DepositRequestIn(amount=Decimal("10"), currency="USD"))
    assert crm.snapshot() == before


def test_portal_requests_refuse_bad_input_and_write_nothing(crm):
    acme = crm.tenant("acme", currencies=("USD", "JPY"))
    portal = acme.portal(acme.client()["id"])
    before = crm.snapshot()
    for body, field in [
        ({"amount": "0"}, "amount"),
        ({"amount": "10.001"}, "amount"),
        ({"amount": "1.5", "currency": "JPY"}, "amount"),
        ({"currency": "GBP"}, "currency"),
        ({"client_id": 1}, "client_id"),  # a client deposits for themself only
        ({"kind": "manual"}, "kind"),
    ]:
        response = portal.post("/api/v1/portal/deposits", json={"amount": "10", "currency": "USD", **body})
        assert response.status_code == 422, (body, response.text)
        assert field in _field_names(response), (body, response.text)
    currency_error = portal.post("/api/v1/portal/deposits", json={"amount": "10", "currency": "GBP"})
    assert "USD, JPY" in currency_error.json()["error"]["fields"][0]["message"]
    assert crm.snapshot() == before


def test_corrections_follow_the_same_rules_and_write_nothing_when_refused(crm):
    acme = crm.tenant("acme", currencies=("USD", "JPY"))
    deposit = expect(_manual(acme.admin, acme.client()["id"], "10.50"), 201)
    before = crm.snapshot()
    for body, field in [
        ({"currency": "JPY"}, "amount"),  # 10.50 has more decimals than yen allows
        ({"currency": "EUR"}, "currency"),
        ({"amount": "-1"}, "amount"),
        ({"status": "approved"}, "status"),
    ]:
        response = acme.admin.patch(f"/api/v1/deposits/{deposit['id']}", json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in _field_names(response), (body, response.text)
    assert crm.snapshot() == before
    fixed = expect(
        acme.admin.patch(f"/api/v1/deposits/{deposit['id']}", json={"amount": "1050", "currency": "JPY"}),
        200,
    )
    assert (fixed["amount"], fixed["currency"], fixed["status"]) == ("1050", "JPY", "pending")


def test_rejection_is_final_and_repeating_it_keeps_the_first_decision(crm):
    acme = crm.tenant("acme")
    deposit = expect(_manual(acme.admin, acme.client()["id"]), 201)
    rejected = expect(
        acme.admin.post(f"/api/v1/deposits/{deposit['id']}/reject", json={"note": "no proof of payment"}),
        200,
    )
    assert (rejected["status"], rejected["decision_note"]) == ("rejected", "no proof of payment")
    again = expect(
        acme.admin.post(f"/api/v1/deposits/{deposit['id']}/reject", json={"note": "second try"}), 200
    )
    assert again == rejected  # neither the note nor decided_at changes
    before = crm.snapshot()
    approve = acme.admin.post(f"/api/v1/deposits/{deposit['id']}/approve")
    assert approve.status_code == 409 and approve.json()["error"]["code"] == "conflict"
    assert acme.admin.patch(f"/api/v1/deposits/{deposit['id']}", json={"note": "x"}).status_code == 409
    assert crm.snapshot() == before


def test_each_action_needs_its_permission(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    reader = acme.user(["deposits.read"])
    outsider = acme.user(["clients.read"])
    portal = acme.portal(client["id"])
    deposit = expect(_manual(acme.admin, client["id"]), 201)
    before = crm.snapshot()
    assert reader.post(f"/api/v1/deposits/{deposit['id']}/approve").status_code == 403
    assert reader.post(f"/api/v1/deposits/{deposit['id']}/reject").status_code == 403
    assert reader.patch(f"/api/v1/deposits/{deposit['id']}", json={"amount": "1"}).status_code == 403
    assert _manual(reader, client["id"]).status_code == 403
    assert outsider.get("/api/v1/deposits").status_code == 403
    # A client's portal token does not open the back office.
    assert portal.get("/api/v1/deposits").status_code == 401
    assert portal.post(f"/api/v1/deposits/{deposit['id']}/approve").status_code == 401
    assert crm.snapshot() == before
    assert expect(reader.get(f"/api/v1/deposits/{deposit['id']}"), 200)["status"] == "pending"


def test_team_users_cannot_see_or_act_on_another_teams_deposits(crm):
    acme = crm.tenant("acme")
    team1, team2 = acme.team(), acme.team()
    clerk = acme.user(["deposits.read", "deposits.create", "deposits.approve"], scope="team", team_id=team1)
    ours = acme.client(team_id=team1, assigned_user_id=None)
    theirs = acme.client(team_id=team2, assigned_user_id=None)
    their_deposit = expect(_manual(acme.admin, theirs["id"]), 201)
    before = crm.snapshot()
    assert clerk.get(f"/api/v1/deposits/{their_deposit['id']}").status_code == 404
    assert clerk.patch(f"/api/v1/deposits/{their_deposit['id']}", json={"amount": "1"}).status_code == 404
    assert clerk.post(f"/api/v1/deposits/{their_deposit['id']}/reject").status_code == 404
    entered = _manual(clerk, theirs["id"])
    assert entered.status_code == 422 and _field_names(entered) == ["client_id"]
    assert expect(clerk.get("/api/v1/deposits", params={"client_id": theirs["id"]}), 200)["total"] == 0
    assert clerk.get("/api/v1/deposits/export").text.strip().splitlines()[1:] == []
    assert crm.snapshot() == before
    expect(_manual(clerk, ours["id"]), 201)


def test_own_users_see_only_deposits_of_clients_assigned_to_them(crm):
    acme = crm.tenant("acme")
    agent = acme.user(["deposits.read", "deposits.approve"], scope="own")
    mine = acme.client(assigned_user_id=agent.user_id)
    other = acme.client()
    my_deposit = expect(_manual(acme.admin, mine["id"]), 201)
    other_deposit = expect(_manual(acme.admin, other["id"]), 201)
    assert [d["id"] for d in expect(agent.get("/api/v1/deposits"), 200)["items"]] == [my_deposit["id"]]
    assert agent.post(f"/api/v1/deposits/{other_deposit['id']}/approve").status_code == 404
    expect(agent.post(f"/api/v1/deposits/{my_deposit['id']}/approve"), 200)


def test_another_companys_deposits_do_not_exist(crm):
    acme, rival = crm.tenant("acme"), crm.tenant("rival")
    deposit = expect(_manual(acme.admin, acme.client()["id"]), 201)
    assert rival.admin.get(f"/api/v1/deposits/{deposit['id']}").status_code == 404
    assert rival.admin.post(f"/api/v1/deposits/{deposit['id']}/approve").status_code == 404
    assert expect(rival.admin.get("/api/v1/deposits"), 200)["total"] == 0
    entered = _manual(rival.admin, deposit["client_id"])
    assert entered.status_code == 422 and _field_names(entered) == ["client_id"]


def test_filters_by_client_and_creation_time_and_paging(crm):
    acme = crm.tenant("acme")
    alice, bob = acme.client(), acme.client()
    first = expect(_manual(acme.admin, alice["id"], "1"), 201)
    expect(_manual(acme.admin, alice["id"], "2"), 201)
    expect(_manual(acme.admin, bob["id"], "3"), 201)

    alices = expect(acme.admin.get("/api/v1/deposits", params={"client_id": alice["id"]}), 200)
    assert [d["amount"] for d in alices["items"]] == ["2.00", "1.00"]  # newest first

    created = datetime.fromisoformat(first["created_at"])
    hour = timedelta(hours=1)
    window = {"created_from": (created - hour).isoformat(), "created_to": (created + hour).isoformat()}
    assert expect(acme.admin.get("/api/v1/deposits", params=window), 200)["total"] == 3
    later = {"created_from": (datetime.now(UTC) + hour).isoformat()}
    assert expect(acme.admin.get("/api/v1/deposits", params=later), 200)["total"] == 0
    earlier = {"created_to": (created - hour).isoformat()}
    assert expect(acme.admin.get("/api/v1/deposits", params=earlier), 200)["total"] == 0

    page = expect(acme.admin.get("/api/v1/deposits", params={"per_page": 2, "page": 2}), 200)
    assert page["total"] == 3 and [d["amount"] for d in page["items"]] == ["1.00"]
    unknown = acme.admin.get("/api/v1/deposits", params={"colour": "red"})
    assert unknown.status_code == 422 and _field_names(unknown) == ["colour"]


def test_export_has_the_filtered_rows(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    kept = expect(_manual(acme.admin, client["id"], "12.34", "EUR"), 201)
    expect(_manual(acme.admin, client["id"], "5.00", "USD"), 201)
    response = acme.admin.get("/api/v1/deposits/export", params={"currency": "EUR"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    header, *rows = response.text.strip().splitlines()
    assert header.split(",")[:3] == ["id", "client_id", "amount"]
    assert len(rows) == 1 and rows[0].startswith(f"{kept['id']},{client['id']},12.34,EUR")
