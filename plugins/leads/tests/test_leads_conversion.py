"""Conversion, the seed's three quick actions: a registration e-mail whose link registers and
converts exactly this lead, a portal account prefilled from the lead, and a bind to an existing
client; each once, with Registered leads read-only and their quick actions gone."""

from __future__ import annotations

from core.sdk.testing import expect
from plugins.leads.tests.support import API

PASSWORD = "Lead-Passw0rd-1"


def _act(desk, lead, action, body=None, key=None, session=None):
    headers = {"Idempotency-Key": key} if key else {}
    return (session or desk.admin).post(
        f"{API}/leads/{lead['id']}/{action}", json=body or {}, headers=headers
    )


def test_the_registration_email_registers_and_converts_exactly_this_lead(desk):
    lead = desk.lead(name="Lena Lead", email="lena@example.com", phone="+44 7911 123456", country="GB")
    other = desk.lead(name="Other Lead", email="other@example.com")
    sent = expect(_act(desk, lead, "registration-email", {"client_type": "ib"}), 200)["lead"]
    assert sent["last_email_sent_at"] is not None and sent["portal_status"] == "unregistered"
    _, body = desk.crm.last_email("lena@example.com")
    assert "/portal/invitation?token=" in body and "introducing broker" in body
    # resending is allowed, but not at once
    again = _act(desk, lead, "registration-email", {"client_type": "ib"})
    assert again.status_code == 429 and "resend in" in again.json()["error"]["message"]
    token = desk.crm.email_token("lena@example.com")
    opened = expect(
        desk.crm.anonymous.post(
            "/api/v1/portal/invitation/accept", json={"token": token, "password": PASSWORD}
        ),
        201,
    )
    client = opened["client"]
    assert (client["client_type"], client["name"]) == ("ib", "Lena Lead")
    after = desk.get(lead)
    assert (after["portal_status"], after["client_id"], after["conversion"]) == (
        "registered",
        client["id"],
        "registration_email",
    )
    assert after["quick_actions"] == []
    assert desk.get(other)["portal_status"] == "unregistered"  # exactly this lead
    for action, body in [
        ("registration-email", {}),
        ("portal-account", {}),
        ("bind", {"email": "x@example.com"}),
    ]:
        refused = _act(desk, lead, action, body)
        assert refused.status_code == 409 and "Registered already" in refused.json()["error"]["message"]
    assert desk.admin.patch(f"{API}/leads/{lead['id']}", json={"name": "New"}).status_code == 409
    assert desk.admin.delete(f"{API}/leads/{lead['id']}").status_code == 409
    kinds = [a["kind"] for a in desk.activities(lead)]
    assert kinds[:2] == ["converted", "registration_email"]
    # the client page's panel: the lead it came from, and its timeline
    panel = expect(desk.admin.get(f"{API}/clients/{client['id']}/lead"), 200)
    assert panel["lead"]["id"] == lead["id"] and panel["activities"][0]["kind"] == "converted"
    assert expect(desk.admin.get(f"{API}/clients/{desk.tenant.client()['id']}/lead"), 200) is None


def test_a_portal_account_is_opened_from_the_lead_and_welcomed(desk):
    owner = desk.tenant.user(
        ["leads.read", "leads.update", "leads.convert", "clients.create", "clients.read"]
    )
    lead = desk.lead(
        owner, name="Marek Nowak", email="marek@example.com", phone="+48 512 345 678", country="PL"
    )
    converted = expect(_act(desk, lead, "portal-account", {"client_type": "trader"}, session=owner), 200)[
        "lead"
    ]
    assert converted["portal_status"] == "registered" and converted["conversion"] == "portal_account"
    client = expect(desk.admin.get(f"/api/v1/clients/{converted['client_id']}"), 200)
    assert (client["name"], client["email"], client["phone"], client["country"]) == (
        "Marek Nowak",
        "marek@example.com",
        "+48 512 345 678",
        "PL",
    )
    assert client["assigned_user_id"] == owner.user_id  # the lead's owner looks after the client
    subject, body = desk.crm.last_email("marek@example.com")
    assert subject.startswith("Welcome") and "/portal/reset-password?token=" in body
    token = desk.crm.email_token("marek@example.com")
    expect(
        desk.crm.anonymous.post(
            "/api/v1/portal/auth/password-reset/confirm", json={"token": token, "password": PASSWORD}
        ),
        204,
    )
    signed_in = desk.crm.anonymous.post(
        "/api/v1/portal/auth/login",
        json={"tenant": desk.tenant.slug, "email": "marek@example.com", "password": PASSWORD},
    )
    assert signed_in.status_code == 200


def test_an_address_that_is_a_client_already_is_bound_not_registered_again(desk):
    existing = desk.tenant.client(email="bound@example.com", phone=None, country=None)
    lead = desk.lead(email="Bound@Example.com", phone="+44 7911 123456", country="GB")
    for action in ("registration-email", "portal-account"):
        refused = _act(desk, lead, action, {})
        assert refused.status_code == 409 and f"client {existing['id']}" in refused.json()["error"]["message"]
    preview = expect(_act(desk, lead, "bind-preview", {"email": "bound@example.com"}), 200)
    assert preview["client_id"] == existing["id"]
    assert preview["fills"] == {"phone": "+44 7911 123456", "country": "GB"}
    bound = expect(_act(desk, lead, "bind", {"email": "BOUND@example.com"}), 200)["lead"]
    assert (bound["client_id"], bound["conversion"]) == (existing["id"], "bind")
    client = expect(desk.admin.get(f"/api/v1/clients/{existing['id']}"), 200)
    assert (client["phone"], client["country"]) == ("+44 7911 123456", "GB")  # only the empty ones
    # a client is one lead's at most
    second = desk.lead(email="someone@example.com")
    taken = _act(desk, second, "bind", {"client_id": existing["id"]})
    assert taken.status_code == 409 and desk.get(second)["portal_status"] == "unregistered"
    unknown = _act(desk, second, "bind", {"client_id": 999999})
    assert unknown.status_code == 422 and unknown.json()["error"]["fields"][0]["field"] == "client_id"
    both = _act(desk, second, "bind", {"client_id": existing["id"], "email": "x@example.com"})
    assert both.status_code == 422


def test_a_repeated_idempotency_key_does_nothing_again(desk):
    lead = desk.lead(email="twice@example.com")
    first = expect(_act(desk, lead, "portal-account", {}, key="k-1"), 200)
    again = expect(_act(desk, lead, "portal-account", {}, key="k-1"), 200)
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["lead"]["client_id"] == first["lead"]["client_id"]
    assert desk.crm.count("clients", desk.tenant.id) == 1
    misused = _act(
        desk,
        desk.lead(email="else@example.com"),
        "bind",
        {"client_id": first["lead"]["client_id"]},
        key="k-1",
    )
    assert misused.status_code == 422 and misused.json()["error"]["fields"][0]["field"] == "Idempotency-Key"


def test_auto_bind_binds_a_client_who_registered_by_other_means(desk):
    lead = desk.lead(email="self@example.com")
    registered = desk.crm.register(desk.tenant.slug, "someone@example.com")  # no lead: nothing happens
    assert registered["client"]["id"]
    desk.settings(auto_bind=True)
    client = desk.crm.register(desk.tenant.slug, "self@example.com")["client"]
    after = desk.get(lead)
    assert (after["client_id"], after["conversion"]) == (client["id"], "auto_bind")


def test_converting_needs_the_convert_permission(desk):
    reader = desk.tenant.user(["leads.read", "leads.update"])
    lead = desk.lead(reader, email="perm@example.com")
    assert _act(desk, lead, "registration-email", {}, session=reader).status_code == 403


def test_the_client_page_shows_the_lead_it_came_from_to_who_may_see_leads(desk):
    lead = desk.lead(name="Chen Wei", email="chen@example.com", source="event")
    expect(
        desk.admin.post(f"{API}/leads/{lead['id']}/activities", json={"kind": "call", "text": "First call"}),
        201,
    )
    client_id = expect(_act(desk, lead, "portal-account", {}), 200)["lead"]["client_id"]
    page = desk.tenant.pages().get(f"/backoffice/clients/{client_id}").text
    assert 'id="lead-panel"' in page and "Chen Wei" in page and "First call" in page and "event" in page
    desk.tenant.user(["clients.read"], email="clerk@acme.example.com")
    clerk = desk.tenant.pages("clerk@acme.example.com").get(f"/backoffice/clients/{client_id}").text
    assert "Chen Wei" in clerk and 'id="lead-panel"' not in clerk  # no leads.read: no panel
