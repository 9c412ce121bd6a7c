"""Pop-ups: sent to clients and groups, shown at next login until dismissed."""

from __future__ import annotations

from core.testing import expect


def test_popups_reach_clients_and_groups_once_each(crm):
    acme = crm.tenant("acme")
    vip = expect(acme.admin.post("/api/v1/client-groups", json={"name": "VIP"}), 201)
    gold = expect(acme.admin.post("/api/v1/client-groups", json={"name": "Gold"}), 201)
    alice = acme.client(group_id=vip["id"])
    bob = acme.client(group_id=gold["id"])
    carol = acme.client()
    sent = expect(
        acme.admin.post(
            "/api/v1/popups",
            json={
                "recipients": {
                    "client_ids": [alice["id"], carol["id"]],
                    "group_ids": [vip["id"], gold["id"]],
                },
                "title": "Maintenance",
                "body": "Saturday 02:00 UTC",
            },
        ),
        201,
    )
    assert sent["recipients"] == 3
    for client in (alice, bob, carol):
        portal = acme.portal(client["id"])
        unread = expect(portal.get("/api/v1/portal/popups", params={"unread": True}), 200)["items"]
        assert [p["title"] for p in unread] == ["Maintenance"]
        assert expect(portal.get("/api/v1/portal/notifications/count"), 200)["unread_popups"] == 1


def test_dismissing_a_popup(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    expect(
        acme.admin.post(
            "/api/v1/popups",
            json={"recipients": {"client_ids": [client["id"]]}, "title": "Hi", "body": "Welcome"},
        ),
        201,
    )
    portal = acme.portal(client["id"])
    popup = expect(portal.get("/api/v1/portal/popups"), 200)["items"][0]
    read = expect(portal.post(f"/api/v1/portal/popups/{popup['id']}/read"), 200)
    assert read["read_at"] is not None
    assert expect(portal.post(f"/api/v1/portal/popups/{popup['id']}/read"), 200)["read_at"] == read["read_at"]
    assert expect(portal.get("/api/v1/portal/notifications/count"), 200)["unread_popups"] == 0
    other = acme.portal(acme.client()["id"])
    assert other.post(f"/api/v1/portal/popups/{popup['id']}/read").status_code == 404


def test_recipients_must_be_within_the_senders_data_permissions(crm):
    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    sender = acme.user(["notifications.send", "notifications.read"], scope="own")
    mine = acme.client(assigned_user_id=sender.user_id)
    not_mine = acme.client()
    foreign = globex.client()
    foreign_group = expect(globex.admin.post("/api/v1/client-groups", json={"name": "G"}), 201)
    before = crm.snapshot()
    for recipients, field in [
        ({"client_ids": [not_mine["id"]]}, "recipients.client_ids"),
        ({"client_ids": [mine["id"], foreign["id"]]}, "recipients.client_ids"),
        ({"group_ids": [foreign_group["id"]]}, "recipients.group_ids"),
        ({}, "recipients.client_ids"),
    ]:
        response = sender.post("/api/v1/popups", json={"recipients": recipients, "title": "T", "body": "B"})
        assert response.status_code == 422, response.text
        assert field in [f["field"] for f in response.json()["error"]["fields"]]
    assert crm.snapshot() == before
    expect(
        sender.post(
            "/api/v1/popups", json={"recipients": {"client_ids": [mine["id"]]}, "title": "T", "body": "B"}
        ),
        201,
    )
    assert expect(sender.get("/api/v1/popups"), 200)["total"] == 1


def test_group_sends_skip_members_outside_the_senders_scope(crm):
    acme = crm.tenant("acme")
    sender = acme.user(["notifications.send"], scope="own")
    group = expect(acme.admin.post("/api/v1/client-groups", json={"name": "All"}), 201)
    acme.client(group_id=group["id"], assigned_user_id=sender.user_id)
    acme.client(group_id=group["id"])
    sent = expect(
        sender.post(
            "/api/v1/popups", json={"recipients": {"group_ids": [group["id"]]}, "title": "T", "body": "B"}
        ),
        201,
    )
    assert sent["recipients"] == 1
