"""Leads: create, edit, delete, lists with filters and CSV, tags, activities, bulk actions, data
permissions through owner and participants, and the duplicate check."""

from __future__ import annotations

import csv
import io

from core.sdk.testing import expect
from plugins.leads.tests.support import API


def test_a_lead_is_kept_with_normalized_contacts_tags_and_its_timeline(desk):
    hot = expect(desk.admin.post(f"{API}/tags", json={"name": "Hot", "colour": "#dc2626"}), 201)
    colleague = desk.tenant.user(["leads.read"])
    lead = desk.lead(
        email="Lena.Lead@Example.COM",
        phone="07911 123456",
        country="GB",
        source="webinar",
        tag_ids=[hot["id"]],
        participant_ids=[colleague.user_id],
    )
    assert lead["email"] == "lena.lead@example.com" and lead["phone_e164"] == "+447911123456"
    assert (lead["status"], lead["portal_status"], lead["client_id"]) == (
        "not_followed_up",
        "unregistered",
        None,
    )
    assert [t["name"] for t in lead["tags"]] == ["Hot"] and lead["participant_ids"] == [colleague.user_id]
    assert lead["quick_actions"] == ["registration_email", "portal_account", "bind"]
    changed = expect(
        desk.admin.patch(f"{API}/leads/{lead['id']}", json={"status": "intention", "phone": None}), 200
    )
    assert changed["status"] == "intention" and changed["phone_e164"] is None
    assert changed["joined_at"] == lead["joined_at"]  # the system's, never edited
    # joined_at is not an editable field: an unknown field is a 422 naming it, nothing written
    bad = desk.admin.patch(f"{API}/leads/{lead['id']}", json={"joined_at": "2020-01-01T00:00:00Z"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "joined_at"
    note = expect(
        desk.admin.post(
            f"{API}/leads/{lead['id']}/activities", json={"kind": "call", "text": "Called, interested"}
        ),
        201,
    )
    timeline = desk.activities(lead)
    assert [a["kind"] for a in timeline] == ["call", "status", "created"]
    assert timeline[0]["id"] == note["id"] and "Not Followed Up → Intention" in timeline[1]["text"]
    expect(desk.admin.delete(f"{API}/leads/{lead['id']}"), 204)
    assert desk.admin.get(f"{API}/leads/{lead['id']}").status_code == 404


def test_bad_input_names_the_field_and_writes_nothing(desk):
    before = desk.crm.count("leads_leads", desk.tenant.id)
    for body, field in [
        ({"name": ""}, "name"),
        ({"name": "X", "email": "not-an-address"}, "email"),
        ({"name": "X", "phone": "call me"}, "phone"),
        ({"name": "X", "status": "hot"}, "status"),
        ({"name": "X", "owner_user_id": 999999}, "owner_user_id"),
        ({"name": "X", "tag_ids": [999999]}, "tag_ids"),
    ]:
        answer = desk.admin.post(f"{API}/leads", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["error"]["fields"][0]["field"].startswith(field), answer.json()
    assert desk.crm.count("leads_leads", desk.tenant.id) == before


def test_lists_filter_page_and_export(desk):
    tag = expect(desk.admin.post(f"{API}/tags", json={"name": "Event"}), 201)
    desk.lead(name="Ann Web", email="ann@example.com", source="website")
    desk.lead(
        name="Bob Event", email="bob@example.com", source="event", status="intention", tag_ids=[tag["id"]]
    )
    desk.lead(name="Cid Event", phone="+49 30 1234567", source="event")

    def names(**query):
        return [lead["name"] for lead in expect(desk.admin.get(f"{API}/leads", params=query), 200)["items"]]

    assert names() == ["Cid Event", "Bob Event", "Ann Web"]
    assert names(source="event") == ["Cid Event", "Bob Event"]
    assert names(status="intention") == ["Bob Event"]
    assert names(tag_id=tag["id"]) == ["Bob Event"]
    assert names(q="ANN") == ["Ann Web"] and names(q="1234567") == ["Cid Event"]
    assert names(registered="true") == []
    page = expect(desk.admin.get(f"{API}/leads", params={"per_page": 2, "page": 2}), 200)
    assert (page["total"], [lead["name"] for lead in page["items"]]) == (3, ["Ann Web"])
    exported = desk.admin.get(f"{API}/leads.csv", params={"source": "event"})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["name"], r["tags"]) for r in rows] == [("Cid Event", ""), ("Bob Event", "Event")]
    assert desk.admin.get(f"{API}/leads", params={"per_page": 0}).status_code == 422


def test_data_permissions_go_through_owner_participants_and_team(desk):
    team = desk.tenant.team("Sales")
    own = desk.tenant.user(["leads.read", "leads.update"], scope="own", team_id=team)
    mate = desk.tenant.user(["leads.read"], scope="team", team_id=team)
    outsider = desk.tenant.user(["leads.read"], scope="own")
    mine = desk.lead(own, name="Mine")  # owned by its creator
    shared = desk.lead(name="Shared", participant_ids=[own.user_id])
    desk.lead(name="Admin's")

    def seen(session):
        return sorted(lead["name"] for lead in expect(session.get(f"{API}/leads"), 200)["items"])

    assert seen(own) == ["Mine", "Shared"]
    assert seen(mate) == ["Mine"]  # owned by a user of the team
    assert seen(outsider) == []
    assert outsider.get(f"{API}/leads/{mine['id']}").status_code == 404
    assert own.get(f"{API}/leads/{shared['id']}").status_code == 200
    # another broker never sees them
    other = desk.crm.tenant("globex")
    expect(other.admin.post("/api/v1/marketplace/leads/install"), 200)
    assert other.admin.get(f"{API}/leads/{mine['id']}").status_code == 404
    assert expect(other.admin.get(f"{API}/leads"), 200)["total"] == 0


def test_bulk_actions_assign_round_robin_status_tags_and_delete(desk):
    team = desk.tenant.team("Desk")
    first, second = (desk.tenant.user(["leads.read"], team_id=team) for _ in range(2))
    leads = [desk.lead(name=f"L{i}") for i in range(4)]
    ids = [lead["id"] for lead in leads]

    def bulk(**body):
        return expect(desk.admin.post(f"{API}/leads/bulk", json={"lead_ids": ids, **body}), 200)

    assert bulk(action="round_robin", team_id=team) == {"changed": 4, "skipped": []}
    owners = [desk.get(lead)["owner_user_id"] for lead in leads]
    assert owners == [first.user_id, second.user_id, first.user_id, second.user_id]
    bulk(action="assign_owner", owner_user_id=second.user_id)
    assert {desk.get(lead)["owner_user_id"] for lead in leads} == {second.user_id}
    bulk(action="status", status="no_response")
    assert {desk.get(lead)["status"] for lead in leads} == {"no_response"}
    tag = expect(desk.admin.post(f"{API}/tags", json={"name": "Cold"}), 201)
    bulk(action="add_tags", tag_ids=[tag["id"]])
    bulk(action="add_tags", tag_ids=[tag["id"]])  # twice: still once
    assert [len(desk.get(lead)["tags"]) for lead in leads] == [1, 1, 1, 1]
    bulk(action="remove_tags", tag_ids=[tag["id"]])
    assert [len(desk.get(lead)["tags"]) for lead in leads] == [0, 0, 0, 0]
    missing = desk.admin.post(f"{API}/leads/bulk", json={"lead_ids": ids, "action": "status"})
    assert missing.status_code == 422
    unknown = desk.admin.post(f"{API}/leads/bulk", json={"lead_ids": [*ids, 999999], "action": "delete"})
    assert unknown.status_code == 422 and unknown.json()["error"]["fields"][0]["field"] == "lead_ids"
    assert expect(desk.admin.post(f"{API}/leads/bulk", json={"lead_ids": ids, "action": "delete"}), 200) == {
        "changed": 4,
        "skipped": [],
    }
    assert desk.crm.count("leads_leads", desk.tenant.id) == 0


def test_duplicates_match_normalized_email_and_phone_never_the_name(desk):
    lead = desk.lead(name="Lena Lead", email="lena@example.com", phone="+44 7911 123456")
    client = desk.tenant.client(
        name="Lena Lead", email="LENA@example.com".lower(), phone="07911 123456", country="GB"
    )
    desk.lead(name="Lena Lead")  # same name, nothing else: never a duplicate

    def probe(**query):
        found = expect(desk.admin.get(f"{API}/duplicates", params=query), 200)
        return [(d["kind"], d["id"], d["matched_on"]) for d in found]

    assert probe(email="Lena@Example.com") == [
        ("client", client["id"], ["email"]),
        ("lead", lead["id"], ["email"]),
    ]
    assert probe(phone="07911123456", country="GB") == [
        ("client", client["id"], ["phone"]),
        ("lead", lead["id"], ["phone"]),
    ]
    assert probe(email="lena@example.com", exclude_lead_id=lead["id"]) == [
        ("client", client["id"], ["email"])
    ]
    assert len(probe(email="lena@example.com", exclude_lead_id=2**63 - 1)) == 2  # any id the schema takes
    # only what the user may see: another broker's, or another user's lead under "own" scope, are not
    other = desk.crm.tenant("globex")
    expect(other.admin.post("/api/v1/marketplace/leads/install"), 200)
    expect(other.admin.post(f"{API}/leads", json={"name": "Elsewhere", "email": "lena@example.com"}), 201)
    assert probe(email="lena@example.com") == [
        ("client", client["id"], ["email"]),
        ("lead", lead["id"], ["email"]),
    ]
    own = desk.tenant.user(["leads.read"], scope="own")
    assert expect(own.get(f"{API}/duplicates", params={"email": "lena@example.com"}), 200) == []
    # a number shared by many records (a switchboard) says nothing: not shown
    for i in range(6):
        desk.lead(name=f"Office {i}", phone="+44 20 7946 0000")
    assert probe(phone="+442079460000") == []
