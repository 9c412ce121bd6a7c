"""Data permissions on the logs: the operation log, the login log and their CSV exports show a
user only entries about clients within their data permission (all / team / own), and entries
about no client only to users who see all company data."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from core.testing import ApiSession, CrmKit, TenantHandle, expect
from plugins.tier_upgrade.tests import support as tier_upgrade

ALL_PAGES = {"per_page": 500}


@dataclass
class Broker:
    """One tenant with a user of each data permission and clients each sees differently."""

    tenant: TenantHandle
    everything: ApiSession  # all company data
    team_lead: ApiSession  # team A, and clients assigned to them
    agent: ApiSession  # team A member, own clients only
    agents_client: dict[str, Any]  # assigned to the agent, in team A: seen by all three
    team_client: dict[str, Any]  # team A, assigned to the administrator: all, team lead
    leads_client: dict[str, Any]  # assigned to the team lead, no team: all, team lead
    other_client: dict[str, Any]  # team B: all only

    def visible(self, reader: ApiSession) -> set[int]:
        """The clients each reader may see, as the data permissions define them."""
        mine = {self.agents_client["id"]}
        team = mine | {self.team_client["id"], self.leads_client["id"]}
        return {
            id(self.everything): team | {self.other_client["id"]},
            id(self.team_lead): team,
            id(self.agent): mine,
        }[id(reader)]


def _broker(crm: CrmKit, slug: str = "acme") -> Broker:
    tenant = crm.tenant(slug)
    team_a, team_b = tenant.team("A"), tenant.team("B")
    everything = tenant.user(["audit.read"], scope="all")
    team_lead = tenant.user(["audit.read"], scope="team", team_id=team_a)
    agent = tenant.user(["audit.read"], scope="own", team_id=team_a)
    broker = Broker(
        tenant=tenant,
        everything=everything,
        team_lead=team_lead,
        agent=agent,
        agents_client=tenant.client(assigned_user_id=agent.user_id, team_id=team_a),
        team_client=tenant.client(team_id=team_a),
        leads_client=tenant.client(assigned_user_id=team_lead.user_id),
        other_client=tenant.client(team_id=team_b),
    )
    clients = [broker.agents_client, broker.team_client, broker.leads_client, broker.other_client]
    for client in clients:  # client-owned rows: created, then changed (an update names no client)
        deposit = expect(
            tenant.admin.post(
                "/api/v1/deposits", json={"client_id": client["id"], "amount": "100", "currency": "USD"}
            ),
            201,
        )
        expect(tenant.admin.post(f"/api/v1/deposits/{deposit['id']}/approve"), 200)
        expect(tenant.admin.patch(f"/api/v1/clients/{client['id']}", json={"phone": "+1 555 0100"}), 200)
    expect(tenant.admin.post("/api/v1/client-groups", json={"name": "VIP"}), 201)  # about no client
    _sign_ins(crm, tenant, clients)
    return broker


def _sign_ins(crm: CrmKit, tenant: TenantHandle, clients: list[dict[str, Any]]) -> None:
    """Client sign-ins (two good, one bad password each), a staff sign-in with a bad password
    and an attempt for no account, besides the staff sign-ins of the set-up."""
    portal = "/api/v1/portal/auth/login"
    tenant.portal(clients[0]["id"])
    tenant.portal(clients[-1]["id"])
    for client in clients:
        wrong = {"tenant": tenant.slug, "email": client["email"], "password": "not-the-password"}
        assert crm.http.post(portal, json=wrong).status_code == 401
    unknown = {"tenant": tenant.slug, "email": "nobody@example.com", "password": "whatever-it-is"}
    assert crm.http.post(portal, json=unknown).status_code == 401
    staff = {"tenant": tenant.slug, "email": tenant.admin_email, "password": "not-the-password"}
    assert crm.http.post("/api/v1/auth/login", json=staff).status_code == 401


def _other_tenant(crm: CrmKit) -> tuple[TenantHandle, dict[str, Any]]:
    """Another broker with a client who signed in: none of it may show to the first one."""
    globex = crm.tenant("globex")
    client = globex.client(email="globex-client@example.com")
    globex.portal(client["id"])
    return globex, client


def _rows(crm: CrmKit, sql: str, tenant_id: int) -> list[Any]:
    with crm.db.engine.connect() as connection:
        return list(connection.execute(text(sql), {"t": tenant_id}))


def _operation_ids(crm: CrmKit, tenant_id: int, clients: set[int] | None) -> set[int]:
    """The tenant's entries about these clients (None: every entry), straight from the table."""
    rows = _rows(crm, "SELECT id, client_id FROM operation_log WHERE tenant_id = :t", tenant_id)
    return {row.id for row in rows if clients is None or row.client_id in clients}


def _login_ids(crm: CrmKit, tenant_id: int, clients: set[int] | None) -> set[int]:
    rows = _rows(crm, "SELECT id, kind, subject_id FROM login_events WHERE tenant_id = :t", tenant_id)
    return {row.id for row in rows if clients is None or (row.kind == "client" and row.subject_id in clients)}


def _listed(reader: ApiSession, path: str, **params: Any) -> list[dict[str, Any]]:
    body = expect(reader.get(path, params={**ALL_PAGES, **params}), 200)
    assert body["total"] == len(body["items"])
    return body["items"]


def _exported(reader: ApiSession, path: str, **params: Any) -> list[dict[str, str]]:
    response = reader.get(path, params=params)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_each_reader_sees_exactly_the_operations_about_their_clients_in_the_list_and_the_export(crm):
    broker = _broker(crm)
    acme = broker.tenant
    globex, outsider = _other_tenant(crm)
    for reader in (broker.everything, broker.team_lead, broker.agent):
        clients = broker.visible(reader)
        expected = _operation_ids(crm, acme.id, None if reader is broker.everything else clients)
        listed = _listed(reader, "/api/v1/operation-log")
        assert {entry["id"] for entry in listed} == expected, reader
        exported = _exported(reader, "/api/v1/operation-log/export")
        assert {int(row["id"]) for row in exported} == expected, reader
        # Client-owned rows count too: each visible client's deposit, entered and then approved.
        assert sum(entry["entity"] == "deposits" for entry in listed) == 2 * len(clients), reader
        about = {entry["client_id"] for entry in listed}
        if reader is broker.everything:
            assert None in about and clients <= about  # user, role, group and setting changes too
        else:
            assert about == clients  # each visible client's entries, and nothing about no client
            assert all(row["client_id"] for row in exported)
    # What the restricted readers miss is other clients' personal data, not just ids.
    agents_view = broker.agent.get("/api/v1/operation-log", params=ALL_PAGES).text
    assert broker.agents_client["email"] in agents_view
    for hidden in (broker.team_client, broker.leads_client, broker.other_client):
        assert hidden["email"] not in agents_view
    assert broker.other_client["email"] not in broker.team_lead.get("/api/v1/operation-log/export").text
    assert outsider["email"] not in broker.everything.get("/api/v1/operation-log/export").text
    assert _operation_ids(crm, globex.id, None).isdisjoint(_operation_ids(crm, acme.id, None))


def test_each_reader_sees_exactly_the_sign_ins_of_their_clients_in_the_list_and_the_export(crm):
    broker = _broker(crm)
    acme = broker.tenant
    globex, outsider = _other_tenant(crm)
    for reader in (broker.everything, broker.team_lead, broker.agent):
        clients = broker.visible(reader)
        expected = _login_ids(crm, acme.id, None if reader is broker.everything else clients)
        listed = _listed(reader, "/api/v1/login-log")
        assert {event["id"] for event in listed} == expected, reader
        exported = _exported(reader, "/api/v1/login-log/export")
        assert {int(row["id"]) for row in exported} == expected, reader
        if reader is broker.everything:
            kinds = {(event["kind"], event["subject_id"] is None) for event in listed}
            assert {("staff", False), ("client", True)} <= kinds  # staff, and an unknown e-mail
        else:
            assert {(event["kind"], event["subject_id"]) for event in listed} == {
                ("client", client) for client in clients
            }
            assert "nobody@example.com" not in reader.get("/api/v1/login-log/export").text
    assert outsider["email"] not in broker.everything.get("/api/v1/login-log/export").text
    assert _login_ids(crm, globex.id, None).isdisjoint(_login_ids(crm, acme.id, None))


def test_filters_apply_within_the_data_permission(crm):
    broker = _broker(crm)
    acme = broker.tenant
    mine, other = broker.agents_client["id"], broker.other_client["id"]
    deposits = _listed(broker.team_lead, "/api/v1/operation-log", entity="deposits")
    assert deposits and {e["client_id"] for e in deposits} == broker.visible(broker.team_lead)
    about_mine = _listed(broker.agent, "/api/v1/operation-log", client_id=mine)
    assert {e["id"] for e in about_mine} == _operation_ids(crm, acme.id, {mine})
    # A client outside the reader's data permission filters to nothing, like every other list.
    assert _listed(broker.agent, "/api/v1/operation-log", client_id=other) == []
    assert _exported(broker.agent, "/api/v1/operation-log/export", client_id=other) == []
    assert {e["client_id"] for e in _listed(broker.everything, "/api/v1/operation-log", client_id=other)} == {
        other
    }
    failures = _listed(broker.team_lead, "/api/v1/login-log", success="false")
    assert {(e["subject_id"], e["success"]) for e in failures} == {
        (client, False) for client in broker.visible(broker.team_lead)
    }
    exported = _exported(broker.agent, "/api/v1/login-log/export", success="false")
    assert [(row["subject_id"], row["success"]) for row in exported] == [(str(mine), "False")]
    by_email = _listed(broker.agent, "/api/v1/login-log", email=broker.other_client["email"])
    assert by_email == []


def test_out_of_range_ids_and_unknown_filters_are_refused_naming_the_field(crm):
    reader = crm.tenant("acme").admin
    for params in ({"client_id": 0}, {"client_id": 2**63}, {"actor_id": -1}):
        response = reader.get("/api/v1/operation-log", params=params)
        assert response.status_code == 422, params
        assert list(params) == [f["field"].split(".")[-1] for f in response.json()["error"]["fields"]]
    response = reader.get("/api/v1/login-log/export", params={"client": "1"})
    assert response.status_code == 422


def test_the_logs_still_need_their_permission(crm):
    acme = crm.tenant("acme")
    outsider = acme.user(["clients.read"], scope="all")
    for path in ("/api/v1/operation-log", "/api/v1/login-log", "/api/v1/login-log/export"):
        assert outsider.get(path).status_code == 403, path


def test_bulk_tier_moves_and_module_actions_show_to_who_sees_their_client(crm):
    broker = tier_upgrade.Broker(crm)
    acme = broker.tenant
    agent = acme.user(["audit.read"], scope="own")
    ib = broker.ranked(client_type="ib", assigned_user_id=agent.user_id)
    stranger = broker.ranked(client_type="ib")
    for parent in (ib, stranger):
        for _ in range(2):
            broker.deposit(broker.client(parent), "300")
    rule = broker.rule()
    broker.settle(rule["id"])
    records = [r["id"] for r in broker.report()]
    assert len(records) == 2
    expect(acme.admin.post(f"{tier_upgrade.API}/records/upgrade", json={"record_ids": records}), 200)
    # The upgrade moves tiers with one set-based UPDATE and logs each record's action by hand.
    seen = _listed(agent, "/api/v1/operation-log")
    assert {e["client_id"] for e in seen} == {ib["id"]}
    actions = {(e["entity"], e["action"]) for e in seen}
    assert {("clients", "update"), ("tier_upgrade_records", "upgrade")} <= actions
    moved = [e for e in seen if e["entity"] == "clients" and e["after"] == {"tier_id": broker.silver}]
    assert [e["entity_id"] for e in moved] == [str(ib["id"])]
    everything = {
        e["client_id"] for e in _listed(acme.admin, "/api/v1/operation-log", entity="tier_upgrade_records")
    }
    assert everything == {ib["id"], stranger["id"]}
