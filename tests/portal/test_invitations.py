"""Invitations: a module invites an address to open a client account; the e-mailed link opens it
once, signs the client in, and tells modules which invitation it was."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from core.access.models import AccountToken
from core.crm.models import ClientType
from core.db.base import utcnow
from core.portal.invitations import invite_client
from core.testing import ApiSession, expect
from core.testing.pages import PageSession

OPEN, ACCEPT = "/api/v1/portal/invitation/open", "/api/v1/portal/invitation/accept"
PASSWORD = "Invited-Passw0rd"


def _invite(tenant, email="lead@example.com", client_type=ClientType.IB, **extra):
    with tenant.ctx() as ctx:
        return invite_client(
            ctx,
            email=email,
            name="Lena Lead",
            client_type=client_type,
            module="fixture",
            reference="lead-7",
            subject="Open your account",
            message="You are invited.",
            **extra,
        )


def test_an_invitation_opens_one_account_of_its_type_once(crm):
    acme = crm.tenant("acme")
    sent = _invite(acme, email="Lead@Example.com", phone="+44 7911 123456")
    assert sent.email == "lead@example.com" and sent.expires_at > utcnow() + timedelta(days=6)
    token = crm.email_token("lead@example.com")
    shown = expect(crm.anonymous.post(OPEN, json={"token": token}), 200)
    assert shown == {
        "company": shown["company"],
        "email": "lead@example.com",
        "name": "Lena Lead",
        "client_type": "ib",
    }
    opened = expect(crm.anonymous.post(ACCEPT, json={"token": token, "password": PASSWORD}), 201)
    client = opened["client"]
    assert (client["client_type"], client["name"], client["email"]) == ("ib", "Lena Lead", "lead@example.com")
    portal = ApiSession(crm.http, opened["access_token"])
    assert expect(portal.get("/api/v1/portal/me"), 200)["id"] == client["id"]
    # The same link again: refused, and nothing more is written.
    before = crm.count("clients", acme.id)
    again = crm.anonymous.post(ACCEPT, json={"token": token, "password": PASSWORD})
    assert again.status_code == 422 and again.json()["error"]["fields"][0]["field"] == "token"
    assert crm.count("clients", acme.id) == before
    assert crm.anonymous.post(OPEN, json={"token": token}).status_code == 422


def test_a_link_is_refused_when_expired_weak_or_the_address_has_an_account(crm):
    acme = crm.tenant("acme")
    _invite(acme, email="late@example.com")
    late = crm.email_token("late@example.com")
    with crm.db.engine.begin() as connection:
        connection.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert crm.anonymous.post(ACCEPT, json={"token": late, "password": PASSWORD}).status_code == 422
    _invite(acme, email="weak@example.com")
    weak = crm.anonymous.post(ACCEPT, json={"token": crm.email_token("weak@example.com"), "password": "abc"})
    assert weak.status_code == 422 and weak.json()["error"]["fields"][0]["field"] == "password"
    acme.client(email="taken@example.com")
    _invite(acme, email="taken@example.com")
    taken = crm.anonymous.post(
        ACCEPT, json={"token": crm.email_token("taken@example.com"), "password": PASSWORD}
    )
    assert taken.status_code == 422 and "sign in" in taken.json()["error"]["fields"][0]["message"]
    assert crm.count("clients", acme.id) == 1


def test_the_invitation_page_opens_the_account_and_signs_the_client_in(crm):
    acme = crm.tenant("acme")
    _invite(acme, client_type=ClientType.TRADER)
    token = crm.email_token("lead@example.com")
    visitor = PageSession(crm.app)
    page = visitor.get(f"/portal/invitation?token={token}")
    assert page.status_code == 200 and "lead@example.com" in page.text and "a trader" in page.text
    assert "invalid, used or expired" in visitor.get("/portal/invitation?token=nope").text
    weak = visitor.post("/portal/invitation", {"token": token, "name": "Lena Lead", "password": "short"})
    assert weak.status_code == 422 and crm.count("clients", acme.id) == 0
    opened = visitor.post("/portal/invitation", {"token": token, "name": "Lena Lead", "password": PASSWORD})
    assert opened.status_code == 303 and opened.headers["location"] == "/portal/"
    assert "lead@example.com</h1>" in visitor.get("/portal/").text  # signed in: the portal greets them
    assert crm.count("clients", acme.id) == 1
