"""Trading accounts and KYC documents."""

from __future__ import annotations

from core.testing import expect


def _open(session, client_id: int, login="100200", platform="mt5", currency="USD"):
    return session.post(
        "/api/v1/trading-accounts",
        json={
            "client_id": client_id,
            "platform": platform,
            "login": login,
            "account_type": "Standard",
            "currency": currency,
        },
    )


def test_open_and_edit_trading_accounts(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    account = expect(_open(acme.admin, client["id"]), 201)
    assert account["leverage"] == 100 and not account["archived"]
    edited = expect(
        acme.admin.patch(
            f"/api/v1/trading-accounts/{account['id']}", json={"leverage": 500, "archived": True}
        ),
        200,
    )
    assert (edited["leverage"], edited["archived"]) == (500, True)
    assert expect(acme.admin.get("/api/v1/trading-accounts", params={"archived": False}), 200)["total"] == 0


def test_logins_are_unique_per_platform(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    expect(_open(acme.admin, client["id"]), 201)
    duplicate = _open(acme.admin, client["id"])
    assert duplicate.status_code == 409 and duplicate.json()["error"]["fields"][0]["field"] == "login"
    expect(_open(acme.admin, client["id"], platform="mt4"), 201)


def test_account_currency_must_be_a_company_currency(crm):
    acme = crm.tenant("acme", currencies=("USD",))
    client = acme.client()
    before = crm.snapshot()
    response = _open(acme.admin, client["id"], currency="EUR")
    assert response.status_code == 422 and response.json()["error"]["fields"][0]["field"] == "currency"
    assert crm.snapshot() == before


def test_accounts_follow_data_permissions_and_the_portal_shows_mine(crm):
    acme = crm.tenant("acme")
    agent = acme.user(["trading_accounts.read", "trading_accounts.manage"], scope="own")
    mine = acme.client(assigned_user_id=agent.user_id)
    other = acme.client()
    expect(_open(acme.admin, mine["id"], login="1"), 201)
    theirs = expect(_open(acme.admin, other["id"], login="2"), 201)
    assert expect(agent.get("/api/v1/trading-accounts"), 200)["total"] == 1
    assert agent.get(f"/api/v1/trading-accounts/{theirs['id']}").status_code == 404
    assert _open(agent, other["id"], login="3").status_code == 422
    portal = acme.portal(mine["id"])
    assert [a["login"] for a in expect(portal.get("/api/v1/portal/trading-accounts"), 200)["items"]] == ["1"]


def _status(crm, acme, client_id):
    return expect(acme.admin.get(f"/api/v1/clients/{client_id}"), 200)["kyc_status"]


def test_kyc_status_follows_the_documents(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    portal = acme.portal(client["id"])
    assert _status(crm, acme, client["id"]) == "not_submitted"
    passport = expect(
        portal.post(
            "/api/v1/portal/kyc-documents", json={"doc_type": "passport", "file_name": "passport.pdf"}
        ),
        201,
    )
    assert _status(crm, acme, client["id"]) == "pending"
    expect(acme.admin.post(f"/api/v1/kyc-documents/{passport['id']}/verify"), 200)
    assert _status(crm, acme, client["id"]) == "pending"  # proof of address still missing
    bill = expect(
        portal.post(
            "/api/v1/portal/kyc-documents", json={"doc_type": "proof_of_address", "file_name": "bill.jpg"}
        ),
        201,
    )
    rejected = expect(
        acme.admin.post(f"/api/v1/kyc-documents/{bill['id']}/reject", json={"note": "blurry"}), 200
    )
    assert rejected["review_note"] == "blurry" and _status(crm, acme, client["id"]) == "rejected"
    again = expect(
        portal.post(
            "/api/v1/portal/kyc-documents", json={"doc_type": "proof_of_address", "file_name": "bill2.jpg"}
        ),
        201,
    )
    expect(acme.admin.post(f"/api/v1/kyc-documents/{again['id']}/verify"), 200)
    assert _status(crm, acme, client["id"]) == "verified"


def test_a_review_is_final(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    document = expect(
        acme.admin.post(
            "/api/v1/kyc-documents",
            json={"client_id": client["id"], "doc_type": "id_card", "file_name": "id.png"},
        ),
        201,
    )
    expect(acme.admin.post(f"/api/v1/kyc-documents/{document['id']}/verify"), 200)
    expect(acme.admin.post(f"/api/v1/kyc-documents/{document['id']}/verify"), 200)
    assert acme.admin.post(f"/api/v1/kyc-documents/{document['id']}/reject").status_code == 409


def test_kyc_documents_follow_data_permissions(crm):
    acme = crm.tenant("acme")
    reviewer = acme.user(["kyc.read", "kyc.review"], scope="own")
    other = acme.client()
    document = expect(
        acme.admin.post(
            "/api/v1/kyc-documents",
            json={"client_id": other["id"], "doc_type": "selfie", "file_name": "me.jpg"},
        ),
        201,
    )
    assert expect(reviewer.get("/api/v1/kyc-documents"), 200)["total"] == 0
    assert reviewer.post(f"/api/v1/kyc-documents/{document['id']}/verify").status_code == 404
    stranger = acme.portal(acme.client()["id"])
    assert expect(stranger.get("/api/v1/portal/kyc-documents"), 200)["total"] == 0
