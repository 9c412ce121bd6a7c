"""The operation log: every back-office write, with who, when, which record, before and after."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import JSON, column, insert, table, text
from sqlalchemy.engine import make_url

from core.audit.recorder import LogEntry, record_action, record_actions
from core.crm.models import TradingAccount, TradingPlatform
from core.db import migrate
from core.db.engine import make_engine, normalize_url
from core.db.types import UTCDateTime
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


def _entry_about(crm, tenant_id, entity, entity_id, action):
    with crm.db.engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT client_id FROM operation_log WHERE tenant_id = :t AND entity = :e "
                "AND entity_id = :i AND action = :a"
            ),
            {"t": tenant_id, "e": entity, "i": str(entity_id), "a": action},
        ).scalar_one()


def test_each_entry_names_the_client_it_is_about(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    deposit = expect(
        acme.admin.post(
            "/api/v1/deposits", json={"client_id": client["id"], "amount": "5", "currency": "USD"}
        ),
        201,
    )
    expect(acme.admin.post(f"/api/v1/deposits/{deposit['id']}/approve"), 200)
    group = expect(acme.admin.post("/api/v1/client-groups", json={"name": "VIP"}), 201)
    with acme.ctx() as ctx:  # a client-owned row deleted in another unit of work than its creation
        account = TradingAccount(
            client_id=client["id"],
            platform=TradingPlatform.MT5,
            login="1001",
            account_type="std",
            currency="USD",
        )
        ctx.session.add(account)
        ctx.session.flush()
        account_id = account.id
    with acme.ctx() as ctx:
        ctx.session.delete(ctx.session.get(TradingAccount, account_id))
    assert _entry_about(crm, acme.id, "clients", client["id"], "create") == client["id"]
    # The approval changes only the status columns: the client comes from the row, not the change.
    assert _entry_about(crm, acme.id, "deposits", deposit["id"], "update") == client["id"]
    assert _entry_about(crm, acme.id, "trading_accounts", account_id, "delete") == client["id"]
    assert _entry_about(crm, acme.id, "client_groups", group["id"], "create") is None
    entry = _entries(acme.admin, entity="clients", entity_id=str(client["id"]))[0]
    assert entry["client_id"] == client["id"]


def test_actions_logged_by_hand_name_their_client_per_entry(crm):
    acme = crm.tenant("acme")
    first, second = acme.client(), acme.client()
    with acme.ctx() as ctx:
        record_action(
            ctx.session, entity="clients", entity_id=str(first["id"]), action="flag", client_id=first["id"]
        )
        record_actions(
            ctx.session,
            entity="clients",
            action="nudge",
            entries=[
                LogEntry(str(second["id"]), None, {"n": 1}, client_id=second["id"]),
                ("-", None, {"n": 2}),
            ],
        )
    assert _entry_about(crm, acme.id, "clients", first["id"], "flag") == first["id"]
    assert _entry_about(crm, acme.id, "clients", second["id"], "nudge") == second["id"]
    assert _entry_about(crm, acme.id, "clients", "-", "nudge") is None  # a plain tuple: about no client


@contextmanager
def _scratch_database(url: str, tmp_path) -> Iterator[str]:
    """A database of its own, to migrate step by step: a file on SQLite, a schema on PostgreSQL."""
    if make_url(url).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    schema = f"scratch_{uuid.uuid4().hex[:12]}"
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        scratch = make_url(normalize_url(url)).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scratch.render_as_string(hide_password=False)
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def test_the_migration_finds_the_client_of_entries_written_before_it(crm_database_url, tmp_path):
    now = datetime.now(UTC)
    tenants = table(
        "tenants",
        *(column(c) for c in ("id", "name", "slug", "timezone", "active")),
        column("base_currencies", JSON()),
        column("created_at", UTCDateTime()),
    )
    client_columns = ("id", "tenant_id", "client_type", "name", "email", "language", "kyc_status")
    clients = table(
        "clients",
        *(column(c) for c in (*client_columns, "suspended", "failed_logins")),
        column("created_at", UTCDateTime()),
        column("updated_at", UTCDateTime()),
    )
    account_columns = ("id", "tenant_id", "client_id", "platform", "login", "account_type", "currency")
    accounts = table(
        "trading_accounts",
        *(column(c) for c in (*account_columns, "leverage", "archived")),
        column("created_at", UTCDateTime()),
    )
    log_columns = ("tenant_id", "actor_kind", "actor_label", "operation", "entity", "entity_id", "action")
    log = table(
        "operation_log",
        column("id"),
        *(column(c) for c in log_columns),
        column("at", UTCDateTime()),
        column("before", JSON()),
        column("after", JSON()),
    )
    # (entity, entity id, before, after) -> the client the migration must find (None: no client)
    cases = [
        ("clients", "1", None, {"name": "Renamed"}, 1),
        ("trading_accounts", "10", None, {"client_id": 2, "login": "1001"}, 2),  # a creation
        ("trading_accounts", "10", {"leverage": 100}, {"leverage": 200}, 2),  # an update: from the row
        ("trading_accounts", "99", {"client_id": 1, "login": "9"}, None, 1),  # a deletion
        ("trading_accounts", "98", {"leverage": 1}, {"leverage": 2}, None),  # updated, since deleted
        ("tier_upgrade_records", "7", {"status": "pending"}, {"status": "success", "client_id": 1}, 1),
        ("users", "5", None, {"name": "Staff"}, None),
        ("popups", "-", None, {"title": "Hello", "recipients": 3}, None),
        ("clients", "1/2", None, {"client_id": "not a number"}, None),
        ("tenants", "1", None, None, None),
    ]
    with _scratch_database(crm_database_url, tmp_path) as url:
        migrate.upgrade(url, revision="core_0002")
        engine = make_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(
                    insert(tenants),
                    {
                        "id": 1,
                        "name": "Acme",
                        "slug": "acme",
                        "timezone": "UTC",
                        "active": True,
                        "base_currencies": ["USD"],
                        "created_at": now,
                    },
                )
                connection.execute(
                    insert(clients),
                    [
                        {
                            "id": n,
                            "tenant_id": 1,
                            "client_type": "trader",
                            "name": f"C{n}",
                            "email": f"c{n}@example.com",
                            "language": "en",
                            "kyc_status": "not_submitted",
                            "suspended": False,
                            "failed_logins": 0,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for n in (1, 2)
                    ],
                )
                connection.execute(
                    insert(accounts),
                    {
                        "id": 10,
                        "tenant_id": 1,
                        "client_id": 2,
                        "platform": "mt5",
                        "login": "1001",
                        "account_type": "std",
                        "currency": "USD",
                        "leverage": 200,
                        "archived": False,
                        "created_at": now,
                    },
                )
                connection.execute(
                    insert(log),
                    [
                        {
                            "id": n,
                            "tenant_id": 1,
                            "actor_kind": "system",
                            "actor_label": "system",
                            "operation": "test",
                            "entity": entity,
                            "entity_id": entity_id,
                            "action": "x",
                            "at": now,
                            "before": before,
                            "after": after,
                        }
                        for n, (entity, entity_id, before, after, _) in enumerate(cases, start=1)
                    ],
                )
            migrate.upgrade(url)
            with engine.connect() as connection:
                found = dict(connection.execute(text("SELECT id, client_id FROM operation_log")).all())
        finally:
            engine.dispose()
    assert found == {n: case[-1] for n, case in enumerate(cases, start=1)}
