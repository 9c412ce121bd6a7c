"""What core tells modules about clients (contract 1.5): a trading account opened, a client created
by staff, and every change of the announced client fields — each once, with (before, after).

The test plugin ``fixture_segments`` writes down each event it hears as a pop-up of its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.notify.models import Popup
from core.testing import expect


def _heard(tenant, hook: str | None = None) -> list[tuple[str, int, Any]]:
    """(hook, client id, data) of every event the listener heard, in order."""
    with tenant.ctx() as ctx:
        stmt = select(Popup).where(Popup.source == "fixture_segments").order_by(Popup.id)
        heard = [(p.title, p.client_id, p.data) for p in ctx.session.scalars(stmt)]
    return [h for h in heard if hook is None or h[0] == hook]


def _listening(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_segments")
    return acme


def test_opening_a_trading_account_is_announced_once(pk):
    acme = _listening(pk)
    client = acme.client()
    body = {
        "client_id": client["id"],
        "platform": "mt5",
        "login": "100200",
        "account_type": "Standard",
        "currency": "USD",
    }
    account = expect(acme.admin.post("/api/v1/trading-accounts", json=body), 201)
    assert _heard(acme, "crm_trading_account_opened") == [
        ("crm_trading_account_opened", client["id"], {"account_id": account["id"]})
    ]
    # A refused opening (the login is taken) announces nothing.
    assert acme.admin.post("/api/v1/trading-accounts", json=body).status_code == 409
    assert len(_heard(acme, "crm_trading_account_opened")) == 1


def test_a_client_created_by_staff_is_registered_once_and_a_sign_up_too(pk):
    acme = _listening(pk)
    client = acme.client()
    assert _heard(acme) == [("crm_client_registered", client["id"], {"link": None})]
    signed_up = pk.register("acme", "signup@example.com")["client"]
    assert _heard(acme, "crm_client_registered")[1:] == [
        ("crm_client_registered", signed_up["id"], {"link": None})
    ]


def test_each_announced_field_change_is_told_once_with_before_and_after(pk):
    acme = _listening(pk)
    referrer = acme.client(client_type="ib")
    client = acme.client(country="FR", language="fr")
    group = expect(acme.admin.post("/api/v1/client-groups", json={"name": "VIP"}), 201)
    changes = {
        "client_type": "ib",
        "country": "GR",
        "language": "el",
        "referrer_id": referrer["id"],
        "suspended": True,
        "group_id": group["id"],
        "name": "Renamed",  # not announced
    }
    expect(acme.admin.patch(f"/api/v1/clients/{client['id']}", json=changes), 200)
    updates = _heard(acme, "crm_client_updated")
    assert updates == [
        (
            "crm_client_updated",
            client["id"],
            {
                "client_type": ["trader", "ib"],
                "country": ["FR", "GR"],
                "language": ["fr", "el"],
                "referrer_id": [None, referrer["id"]],
                "suspended": [False, True],
                "group_id": [None, group["id"]],
            },
        )
    ]
    # The same values again, and a field nobody is told about: nothing more.
    expect(acme.admin.patch(f"/api/v1/clients/{client['id']}", json=changes), 200)
    expect(acme.admin.patch(f"/api/v1/clients/{client['id']}", json={"phone": "+30 210 000"}), 200)
    assert len(_heard(acme, "crm_client_updated")) == 1
    # Deleting the group takes its members out of it: each is told.
    expect(acme.admin.delete(f"/api/v1/client-groups/{group['id']}"), 204)
    assert _heard(acme, "crm_client_updated")[1:] == [
        ("crm_client_updated", client["id"], {"group_id": [group["id"], None]})
    ]


def test_a_client_changing_their_language_in_the_portal_is_told(pk):
    acme = _listening(pk)
    client = acme.client()
    portal = acme.portal(client["id"])
    expect(portal.patch("/api/v1/portal/me", json={"language": "de"}), 200)
    expect(portal.patch("/api/v1/portal/me", json={"name": "Only the name"}), 200)
    assert _heard(acme, "crm_client_updated") == [
        ("crm_client_updated", client["id"], {"language": ["en", "de"]})
    ]
