"""Clients: records, the referral tree, ranks and tiers, filters and the CSV report."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime

from core.api.csv import format_time
from core.config import Settings
from core.testing import expect
from core.testing.processes import processes


def _tree(acme):
    """ib1 ─┬─ ib2 ─┬─ t3 ── t5
    │       └─ t4
    └─ t6"""
    ib1 = acme.client(client_type="ib", name="IB One")
    ib2 = acme.client(client_type="ib", name="IB Two", referrer_id=ib1["id"])
    t3 = acme.client(referrer_id=ib2["id"])
    t4 = acme.client(referrer_id=ib2["id"])
    t5 = acme.client(referrer_id=t3["id"])
    t6 = acme.client(referrer_id=ib1["id"])
    return ib1, ib2, t3, t4, t5, t6


def test_downlines_include_indirect_ones_with_their_depth(crm):
    acme = crm.tenant("acme")
    ib1, ib2, t3, t4, t5, t6 = _tree(acme)
    page = expect(acme.admin.get(f"/api/v1/clients/{ib1['id']}/downlines"), 200)
    assert page["total"] == 5
    depths = {row["id"]: row["depth"] for row in page["items"]}
    assert depths == {ib2["id"]: 1, t6["id"]: 1, t3["id"]: 2, t4["id"]: 2, t5["id"]: 3}
    direct = expect(acme.admin.get(f"/api/v1/clients/{ib1['id']}/downlines", params={"max_depth": 1}), 200)
    assert {row["id"] for row in direct["items"]} == {ib2["id"], t6["id"]}
    uplines = expect(acme.admin.get(f"/api/v1/clients/{t5['id']}/uplines"), 200)
    assert [c["id"] for c in uplines] == [t3["id"], ib2["id"], ib1["id"]]
    by_referrer = expect(acme.admin.get("/api/v1/clients", params={"referrer_id": ib2["id"]}), 200)
    assert {c["id"] for c in by_referrer["items"]} == {t3["id"], t4["id"]}


def test_a_referrer_that_would_make_a_cycle_is_refused(crm):
    acme = crm.tenant("acme")
    ib1, ib2, t3, _t4, t5, _t6 = _tree(acme)
    before = crm.snapshot()
    for client, referrer in ((ib1, t5), (ib1, ib1), (ib2, t3)):
        response = acme.admin.patch(f"/api/v1/clients/{client['id']}", json={"referrer_id": referrer["id"]})
        assert response.status_code == 422
        assert response.json()["error"]["fields"] == [
            {"field": "referrer_id", "message": "would make a cycle in the referral tree"}
        ]
    assert crm.snapshot() == before
    # Moving a branch elsewhere in the tree is fine.
    moved = expect(acme.admin.patch(f"/api/v1/clients/{t3['id']}", json={"referrer_id": ib1["id"]}), 200)
    assert moved["referrer_id"] == ib1["id"]


def test_rank_and_tier_stay_consistent(crm):
    acme = crm.tenant("acme")
    ib_rank = expect(
        acme.admin.post(
            "/api/v1/ranks",
            json={"name": "IB", "tiers": [{"name": "Bronze"}, {"name": "Silver"}, {"name": "Gold"}]},
        ),
        201,
    )
    other = expect(
        acme.admin.post("/api/v1/ranks", json={"name": "Trader", "tiers": [{"name": "Basic"}]}), 201
    )
    bronze, silver, _gold = ib_rank["tiers"]
    assert [t["level"] for t in ib_rank["tiers"]] == [1, 2, 3]
    client = acme.client(rank_id=ib_rank["id"])
    assert client["tier_id"] == bronze["id"]  # a rank alone starts at its lowest tier
    promoted = expect(
        acme.admin.patch(f"/api/v1/clients/{client['id']}", json={"tier_id": silver["id"]}), 200
    )
    assert (promoted["rank_id"], promoted["tier_id"]) == (ib_rank["id"], silver["id"])
    mismatch = acme.admin.patch(
        f"/api/v1/clients/{client['id']}", json={"rank_id": other["id"], "tier_id": silver["id"]}
    )
    assert mismatch.status_code == 422 and mismatch.json()["error"]["fields"][0]["field"] == "tier_id"
    moved = expect(acme.admin.patch(f"/api/v1/clients/{client['id']}", json={"rank_id": other["id"]}), 200)
    assert moved["tier_id"] == other["tiers"][0]["id"]
    assert acme.admin.delete(f"/api/v1/ranks/{other['id']}").status_code == 409  # still held


def test_emails_are_unique_per_tenant_not_across_tenants(crm):
    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    acme.client(email="same@example.com")
    duplicate = acme.admin.post(
        "/api/v1/clients", json={"client_type": "trader", "name": "Dup", "email": "SAME@example.com"}
    )
    assert duplicate.status_code == 409 and duplicate.json()["error"]["fields"][0]["field"] == "email"
    globex.client(email="same@example.com")


def test_new_clients_default_to_their_creator_and_the_creators_team(crm):
    acme = crm.tenant("acme")
    team = acme.team("Desk")
    agent = acme.user(["clients.create", "clients.read"], scope="own", team_id=team)
    created = expect(
        agent.post(
            "/api/v1/clients", json={"client_type": "trader", "name": "Lead", "email": "lead@example.com"}
        ),
        201,
    )
    assert created["assigned_user_id"] == agent.user_id and created["team_id"] == team
    assert expect(agent.get(f"/api/v1/clients/{created['id']}"), 200)["email"] == "lead@example.com"


def test_filters_and_paging(crm):
    acme = crm.tenant("acme")
    vip = expect(acme.admin.post("/api/v1/client-groups", json={"name": "VIP"}), 201)
    for i in range(7):
        acme.client(
            country="DE" if i % 2 else "FR",
            group_id=vip["id"] if i < 3 else None,
            client_type="ib" if i == 0 else "trader",
        )
    assert expect(acme.admin.get("/api/v1/clients", params={"group_id": vip["id"]}), 200)["total"] == 3
    assert expect(acme.admin.get("/api/v1/clients", params={"country": "DE"}), 200)["total"] == 3
    assert expect(acme.admin.get("/api/v1/clients", params={"client_type": "ib"}), 200)["total"] == 1
    page2 = expect(acme.admin.get("/api/v1/clients", params={"per_page": 3, "page": 2}), 200)
    assert page2["total"] == 7 and len(page2["items"]) == 3 and page2["page"] == 2
    unknown_filter = acme.admin.get("/api/v1/clients", params={"colour": "red"})
    assert (
        unknown_filter.status_code == 422 and unknown_filter.json()["error"]["fields"][0]["field"] == "colour"
    )


def test_the_client_report_exports_as_csv(crm):
    acme = crm.tenant("acme")
    acme.client(name="=HYPERLINK(evil)", country="DE")
    acme.client(name="Plain", country="FR")
    response = acme.admin.get("/api/v1/clients/export", params={"country": "DE"})
    assert response.headers["content-disposition"].startswith('attachment; filename="clients-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1 and rows[0]["country"] == "DE"
    assert rows[0]["name"] == "'=HYPERLINK(evil)"  # neutralised for spreadsheets


def test_the_client_report_says_what_the_api_says(crm):
    """Every cell of the report is the client as the API shows it (read as plain rows, not through
    the API's model): empty for none, times in the exports' one format, formulas neutralised."""
    acme = crm.tenant("acme")
    ib = acme.client(client_type="ib", name="@SUM(A1)", phone="+44 20 7946 0001", country="GB")
    acme.client(name="-12.5", referrer_id=ib["id"])
    acme.client(name="Plain")
    shown = expect(acme.admin.get("/api/v1/clients", params={"per_page": 100}), 200)["items"]
    report = list(csv.DictReader(io.StringIO(acme.admin.get("/api/v1/clients/export").text)))

    def as_written(name: str, value: object) -> str:
        if value is None:
            return ""
        if name in ("created_at", "updated_at"):
            return format_time(datetime.fromisoformat(str(value)))
        if name in ("name", "phone") and str(value)[:1] in "@+":
            return f"'{value}"
        return str(value)

    assert [list(row) for row in report[:1]] == [list(shown[0])]
    assert report == [{name: as_written(name, value) for name, value in client.items()} for client in shown]
    first, second = report[0], report[1]
    assert (first["name"], first["phone"], second["name"]) == ("'@SUM(A1)", "'+44 20 7946 0001", "-12.5")


def _race(url: str, tenant_id: int, client_id: int, referrer_id: int, barrier) -> str:
    from core.context import bind
    from core.crm import clients
    from core.crm.schemas import ClientUpdate
    from core.errors import DomainError
    from core.runtime import Runtime

    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    barrier.wait()
    try:
        with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
            ctx = bind(session, None, runtime, "race")
            clients.update_client(ctx, client_id, ClientUpdate(referrer_id=referrer_id))
        return "ok"
    except DomainError as error:
        return error.code
    finally:
        runtime.db.dispose()


def test_concurrent_reparenting_cannot_close_a_cycle(crm, crm_database_url):
    """A→B and B→A submitted at once from two processes: one wins, the other sees the cycle."""
    acme = crm.tenant("acme")
    context = processes()
    for _ in range(3):
        a, b = acme.client(), acme.client()
        barrier = context.Manager().Barrier(2)
        with context.Pool(2) as pool:
            results = pool.starmap(
                _race,
                [
                    (crm_database_url, acme.id, a["id"], b["id"], barrier),
                    (crm_database_url, acme.id, b["id"], a["id"], barrier),
                ],
            )
        assert sorted(results) == ["ok", "validation_error"]
        a_now = expect(acme.admin.get(f"/api/v1/clients/{a['id']}"), 200)
        b_now = expect(acme.admin.get(f"/api/v1/clients/{b['id']}"), 200)
        assert not (a_now["referrer_id"] == b["id"] and b_now["referrer_id"] == a["id"])


def test_a_clients_number_is_also_kept_in_e164_for_duplicate_checks(crm):
    from sqlalchemy import select

    from core.crm.models import Client

    acme = crm.tenant("acme")
    client = acme.client(phone="07911 123456", country="GB")

    def e164():
        with acme.ctx() as ctx:
            return ctx.session.scalar(select(Client.phone_e164).where(Client.id == client["id"]))

    assert e164() == "+447911123456"  # read as a British number: it has no +prefix
    expect(acme.admin.patch(f"/api/v1/clients/{client['id']}", json={"phone": "+1 (212) 555-0100"}), 200)
    assert e164() == "+12125550100"
    expect(acme.admin.patch(f"/api/v1/clients/{client['id']}", json={"phone": None}), 200)
    assert e164() is None
