"""The back office's deposits and KYC review: lists filtered by status, decisions behind a
confirmation, shown and allowed only to holders of the deciding permission."""

from __future__ import annotations

from core.sdk.testing import expect

DEPOSITS = "/backoffice/deposits"
KYC = "/backoffice/kyc"


def _deposit(tenant, client_id: int, amount: str = "25") -> dict:
    body = {"client_id": client_id, "amount": amount, "currency": "USD"}
    return expect(tenant.admin.post("/api/v1/deposits", json=body), 201)


def _status(tenant, deposit_id: int) -> str:
    return expect(tenant.admin.get(f"/api/v1/deposits/{deposit_id}"), 200)["status"]


def _document(tenant, client_id: int, name: str = "passport.pdf") -> dict:
    body = {"client_id": client_id, "doc_type": "passport", "file_name": name}
    return expect(tenant.admin.post("/api/v1/kyc-documents", json=body), 201)


def test_deposits_are_filtered_by_status_and_paged(crm):
    acme = crm.tenant("acme")
    client = acme.client(name="Eve Depositor")
    pending = _deposit(acme, client["id"], "11")
    approved = _deposit(acme, client["id"], "22")
    expect(acme.admin.post(f"/api/v1/deposits/{approved['id']}/approve"), 200)
    pages = acme.pages()
    listing = pages.get(f"{DEPOSITS}?status=pending")
    assert listing.status_code == 200 and "11.00 USD" in listing.text and "22.00 USD" not in listing.text
    assert "Eve Depositor" in listing.text
    everything = pages.get(f"{DEPOSITS}?status=").text
    assert "11.00 USD" in everything and "22.00 USD" in everything
    fragment = pages.get(f"{DEPOSITS}?status=approved&per_page=1", htmx=True)
    assert "<h1>" not in fragment.text and "22.00 USD" in fragment.text and "11.00 USD" not in fragment.text
    assert pending["id"] != approved["id"]
    assert pages.get(f"{DEPOSITS}?status=lost").status_code == 422


def test_approving_and_rejecting_through_the_confirmation_forms(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    first, second = _deposit(acme, client["id"]), _deposit(acme, client["id"])
    pages = acme.pages()
    listing = pages.get(f"{DEPOSITS}?status=pending").text
    assert f'action="/backoffice/deposits/{first["id"]}/approve"' in listing
    assert f'<dialog id="reject-{first["id"]}" aria-labelledby="reject-{first["id"]}-title"' in listing
    approved = pages.post(f"{DEPOSITS}/{first['id']}/approve", {"next": f"{DEPOSITS}?status=pending"})
    assert approved.status_code == 303 and approved.headers["location"] == f"{DEPOSITS}?status=pending"
    assert _status(acme, first["id"]) == "approved"
    rejected = pages.post(
        f"{DEPOSITS}/{second['id']}/reject", {"note": "wrong amount", "next": "https://evil.example"}
    )
    assert rejected.status_code == 303 and rejected.headers["location"] == DEPOSITS
    decided = expect(acme.admin.get(f"/api/v1/deposits/{second['id']}"), 200)
    assert (decided["status"], decided["decision_note"]) == ("rejected", "wrong amount")
    assert f'action="/backoffice/deposits/{first["id"]}/approve"' not in pages.get(DEPOSITS).text


def test_a_rejection_without_a_reason_shows_its_dialog_again_with_the_error(crm):
    acme = crm.tenant("acme")
    deposit = _deposit(acme, acme.client()["id"])
    refused = acme.pages().post(
        f"{DEPOSITS}/{deposit['id']}/reject", {"note": "  ", "next": f"{DEPOSITS}?status=pending"}
    )
    assert refused.status_code == 422
    dialog = refused.text.split(f'<dialog id="reject-{deposit["id"]}"')[1].split("</dialog>")[0]
    assert "data-open-on-load" in dialog and 'aria-invalid="true"' in dialog
    assert 'role="alert">give the reason for the rejection</small>' in dialog
    assert _status(acme, deposit["id"]) == "pending"


def test_without_deposits_approve_the_buttons_are_hidden_and_the_posts_refused(crm):
    acme = crm.tenant("acme")
    deposit = _deposit(acme, acme.client()["id"])
    pages = acme.pages(acme.user(["deposits.read"]).label)
    listing = pages.get(DEPOSITS)
    assert listing.status_code == 200 and "25.00 USD" in listing.text
    assert "/approve" not in listing.text and "/reject" not in listing.text
    assert pages.post(f"{DEPOSITS}/{deposit['id']}/approve").status_code == 403
    assert pages.post(f"{DEPOSITS}/{deposit['id']}/reject", {"note": "no"}).status_code == 403
    assert _status(acme, deposit["id"]) == "pending"
    assert acme.pages(acme.user(["clients.read"]).label).get(DEPOSITS).status_code == 403


def test_a_decision_without_csrf_is_refused(crm):
    acme = crm.tenant("acme")
    deposit = _deposit(acme, acme.client()["id"])
    assert acme.pages().post(f"{DEPOSITS}/{deposit['id']}/approve", csrf=False).status_code == 403
    assert _status(acme, deposit["id"]) == "pending"


def test_another_tenants_or_an_out_of_scope_deposit_is_not_found(crm):
    acme, other = crm.tenant("acme"), crm.tenant("other")
    theirs = _deposit(other, other.client()["id"])
    assert acme.pages().post(f"{DEPOSITS}/{theirs['id']}/approve").status_code == 404
    assert _status(other, theirs["id"]) == "pending"
    agent = acme.user(["deposits.read", "deposits.approve"], scope="own")
    outside = _deposit(acme, acme.client(name="Not Theirs")["id"], "99")
    pages = acme.pages(agent.label)
    assert "99.00 USD" not in pages.get(DEPOSITS).text
    assert pages.post(f"{DEPOSITS}/{outside['id']}/approve").status_code == 404
    assert _status(acme, outside["id"]) == "pending"


def test_kyc_documents_are_filtered_and_reviewed_behind_confirmations(crm):
    acme = crm.tenant("acme")
    client = acme.client(name="Fay Kyc")
    passport = _document(acme, client["id"], "fay-passport.pdf")
    bill = _document(acme, client["id"], "fay-bill.pdf")
    pages = acme.pages()
    listing = pages.get(f"{KYC}?status=pending&doc_type=")
    assert listing.status_code == 200 and "fay-passport.pdf" in listing.text and "Fay Kyc" in listing.text
    assert f'<dialog id="verify-{passport["id"]}"' in listing.text
    verified = pages.post(f"{KYC}/{passport['id']}/verify", {"next": f"{KYC}?status=pending"})
    assert verified.status_code == 303 and verified.headers["location"] == f"{KYC}?status=pending"
    rejected = pages.post(f"{KYC}/{bill['id']}/reject", {"note": "unreadable"})
    assert rejected.status_code == 303
    documents = {d["id"]: d for d in expect(acme.admin.get("/api/v1/kyc-documents"), 200)["items"]}
    assert documents[passport["id"]]["status"] == "verified"
    assert (documents[bill["id"]]["status"], documents[bill["id"]]["review_note"]) == (
        "rejected",
        "unreadable",
    )
    pending = pages.get(f"{KYC}?status=pending").text
    assert "fay-passport.pdf" not in pending and "fay-bill.pdf" not in pending
    assert "fay-bill.pdf" in pages.get(f"{KYC}?status=rejected").text


def test_kyc_review_needs_its_permission_and_csrf(crm):
    acme = crm.tenant("acme")
    document = _document(acme, acme.client()["id"])
    reader = acme.pages(acme.user(["kyc.read"]).label)
    listing = reader.get(KYC)
    assert listing.status_code == 200 and "passport.pdf" in listing.text and "/verify" not in listing.text
    assert reader.post(f"{KYC}/{document['id']}/verify").status_code == 403
    assert acme.pages().post(f"{KYC}/{document['id']}/verify", csrf=False).status_code == 403
    assert acme.pages(acme.user(["clients.read"]).label).get(KYC).status_code == 403
    status = expect(acme.admin.get(f"/api/v1/kyc-documents/{document['id']}"), 200)["status"]
    assert status == "pending"


def test_another_tenants_document_is_not_found(crm):
    acme, other = crm.tenant("acme"), crm.tenant("other")
    theirs = _document(other, other.client()["id"])
    assert acme.pages().post(f"{KYC}/{theirs['id']}/verify").status_code == 404
