"""The operation log: every back-office write, with who, when, which record, before and after."""

from __future__ import annotations

import csv
import io

from core.testing import ApiSession, expect


def _entries(session, **params):
    return expect(session.get("/api/v1/operation-log", params=params), 200)["items"]


def test_create_update_delete_are_logged_with_actor_and_values(crm):
    acme = crm.tenant("acme")
    me = expect(acme.admin.get("/api/v1/me"), 200)
    group = expect(acme.admin.post("/api/v1/client-groups", json={"name": "VIP"}), 201)
    expect(acme.admin.patch(f"/api/v1/client-groups/{group['id']}", json={"description": "Top"}), 200)
    expect(acme.admin.delete(f"/api/v1/client-groups/{group['id']}"), 204)
    entries = _entries(acme.admin, entity="client_groups", entity_id=str(group["id"]))
    assert [e["action"] for e in entries] == ["delete", "update", "create"]  # newest first
    delete, update, create = entries
    assert create["after"]["name"] == "VIP" and create["before"] is None
    assert create["operation"] == "POST /api/v1/client-groups"
    assert (create["actor_kind"], create["actor_id"], create["actor_label"]) == (
        "staff",
        me["id"],
        me["label"],
    )
    assert update["before"] == {"description": ""} and update["after"] == {"description": "Top"}
    assert delete["before"]["name"] == "VIP" and delete["after"] is None


def test_rejected_requests_leave_no_log_entry(crm):
    acme = crm.tenant("acme")
    before = crm.count("operation_log", acme.id)
    response = acme.admin.post(
        "/api/v1/clients",
        json={"client_type": "trader", "name": "X", "email": "x@example.com", "country": "XX"},
    )
    assert response.status_code == 422
    assert crm.count("operation_log", acme.id) == before


def test_api_key_writes_are_attributed_to_the_key(crm):
    acme = crm.tenant("acme")
    role = acme.role(["clients.create", "clients.read"])
    key = expect(acme.admin.post("/api/v1/api-keys", json={"name": "Importer", "role_id": role}), 201)
    importer = ApiSession(crm.http, key["key"])
    client = expect(
        importer.post(
            "/api/v1/clients",
            json={"client_type": "trader", "name": "Imported", "email": "imported@example.com"},
        ),
        201,
    )
    entry = _entries(acme.admin, entity="clients", entity_id=str(client["id"]))[0]
    assert (entry["actor_kind"], entry["actor_label"]) == ("api_key", "api-key:Importer")


def test_the_log_is_private_to_its_tenant_and_needs_permission(crm):
    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    acme.client()
    assert all(e["entity"] != "clients" for e in _entries(globex.admin))
    assert acme.user(["clients.read"]).get("/api/v1/operation-log").status_code == 403


def test_the_log_exports_as_csv(crm):
    acme = crm.tenant("acme")
    acme.client(name="Exported")
    response = acme.admin.get("/api/v1/operation-log/export", params={"entity": "clients"})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1 and rows[0]["action"] == "create" and "Exported" in rows[0]["after"]
