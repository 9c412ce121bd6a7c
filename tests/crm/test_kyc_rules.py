"""KYC documents: the status rule, scope, input rules, filters, and reviews racing each other."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.config import Settings
from core.crm.kyc import kyc_status_of
from core.crm.models import KycDocument, KycDocumentStatus, KycStatus
from core.testing import expect
from core.testing.processes import processes

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _doc(doc_type: str, status: str = "pending", reviewed_minute: int | None = None) -> KycDocument:
    reviewed = None if reviewed_minute is None else T0 + timedelta(minutes=reviewed_minute)
    return KycDocument(
        id=reviewed_minute or 0,
        doc_type=doc_type,
        file_name="f",
        status=KycDocumentStatus(status),
        reviewed_at=reviewed,
    )


@pytest.mark.parametrize(
    ("documents", "expected"),
    [
        ([], KycStatus.NOT_SUBMITTED),
        ([_doc("passport")], KycStatus.PENDING),
        ([_doc("passport", "verified", 1)], KycStatus.PENDING),  # proof of address still missing
        (
            [_doc("driving_licence", "verified", 1), _doc("proof_of_address", "verified", 2)],
            KycStatus.VERIFIED,
        ),
        (
            [_doc("id_card", "verified", 1), _doc("proof_of_address", "verified", 2), _doc("selfie")],
            KycStatus.VERIFIED,
        ),
        ([_doc("selfie", "verified", 1), _doc("proof_of_address", "verified", 2)], KycStatus.PENDING),
        ([_doc("passport", "rejected", 1), _doc("proof_of_address", "verified", 2)], KycStatus.PENDING),
        ([_doc("proof_of_address", "verified", 1), _doc("passport", "rejected", 2)], KycStatus.REJECTED),
        ([_doc("passport", "rejected", 1), _doc("passport")], KycStatus.PENDING),  # resubmitted
        (
            [
                _doc("passport", "rejected", 1),
                _doc("passport", "verified", 2),
                _doc("proof_of_address", "verified", 3),
            ],
            KycStatus.VERIFIED,
        ),
    ],
)
def test_kyc_status_rule(documents, expected):
    assert kyc_status_of(documents) is expected


def _upload(session, client_id: int, doc_type: str = "passport", file_name: str = "scan.pdf"):
    return session.post(
        "/api/v1/kyc-documents", json={"client_id": client_id, "doc_type": doc_type, "file_name": file_name}
    )


def _field_names(response) -> list[str]:
    return [f["field"] for f in response.json()["error"]["fields"]]


def test_bad_uploads_and_submissions_name_the_field_and_write_nothing(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    portal = acme.portal(client["id"])
    before = crm.snapshot()
    for body, field in [
        ({"doc_type": "tax_return"}, "doc_type"),
        ({"file_name": ""}, "file_name"),
        ({"file_name": "x" * 256}, "file_name"),
        ({"client_id": 999_999}, "client_id"),
        ({"status": "verified"}, "status"),
    ]:
        payload = {"client_id": client["id"], "doc_type": "passport", "file_name": "scan.pdf", **body}
        response = acme.admin.post("/api/v1/kyc-documents", json=payload)
        assert response.status_code == 422, (body, response.text)
        assert field in _field_names(response), (body, response.text)
    for body, field in [
        ({"doc_type": "tax_return"}, "doc_type"),
        ({"file_name": "   "}, "file_name"),
        ({"client_id": client["id"]}, "client_id"),  # a client submits for themself only
    ]:
        response = portal.post(
            "/api/v1/portal/kyc-documents", json={"doc_type": "passport", "file_name": "a.pdf", **body}
        )
        assert response.status_code == 422, (body, response.text)
        assert field in _field_names(response), (body, response.text)
    assert crm.snapshot() == before
    assert _upload(acme.admin, client["id"]).status_code == 201


def test_a_rejection_is_final_and_repeating_it_changes_nothing(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    document = expect(_upload(acme.admin, client["id"]), 201)
    rejected = expect(
        acme.admin.post(f"/api/v1/kyc-documents/{document['id']}/reject", json={"note": "expired"}), 200
    )
    me = expect(acme.admin.get("/api/v1/me"), 200)
    assert (rejected["status"], rejected["reviewed_by_user_id"]) == ("rejected", me["id"])
    assert rejected["reviewed_at"] is not None
    before = crm.snapshot()
    assert expect(acme.admin.post(f"/api/v1/kyc-documents/{document['id']}/reject"), 200) == rejected
    verify = acme.admin.post(f"/api/v1/kyc-documents/{document['id']}/verify")
    assert verify.status_code == 409 and verify.json()["error"]["code"] == "conflict"
    assert crm.snapshot() == before
    assert expect(acme.admin.get(f"/api/v1/clients/{client['id']}"), 200)["kyc_status"] == "rejected"


def test_reading_is_not_reviewing(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    reader = acme.user(["kyc.read", "clients.read"])
    outsider = acme.user(["clients.read"])
    document = expect(_upload(acme.admin, client["id"]), 201)
    before = crm.snapshot()
    assert reader.post(f"/api/v1/kyc-documents/{document['id']}/verify").status_code == 403
    assert reader.post(f"/api/v1/kyc-documents/{document['id']}/reject").status_code == 403
    assert _upload(reader, client["id"]).status_code == 403
    assert outsider.get("/api/v1/kyc-documents").status_code == 403
    assert outsider.get(f"/api/v1/kyc-documents/{document['id']}").status_code == 403
    assert crm.snapshot() == before
    assert expect(reader.get(f"/api/v1/kyc-documents/{document['id']}"), 200)["status"] == "pending"


def test_team_reviewers_cannot_see_or_act_on_another_teams_documents(crm):
    acme = crm.tenant("acme")
    team1, team2 = acme.team(), acme.team()
    reviewer = acme.user(["kyc.read", "kyc.review"], scope="team", team_id=team1)
    ours = acme.client(team_id=team1, assigned_user_id=None)
    theirs = acme.client(team_id=team2, assigned_user_id=None)
    our_document = expect(_upload(acme.admin, ours["id"]), 201)
    their_document = expect(_upload(acme.admin, theirs["id"]), 201)
    before = crm.snapshot()
    assert reviewer.get(f"/api/v1/kyc-documents/{their_document['id']}").status_code == 404
    assert reviewer.post(f"/api/v1/kyc-documents/{their_document['id']}/verify").status_code == 404
    assert reviewer.post(f"/api/v1/kyc-documents/{their_document['id']}/reject").status_code == 404
    uploaded = _upload(reviewer, theirs["id"])
    assert uploaded.status_code == 422 and _field_names(uploaded) == ["client_id"]
    assert crm.snapshot() == before
    listed = expect(reviewer.get("/api/v1/kyc-documents"), 200)
    assert [d["id"] for d in listed["items"]] == [our_document["id"]]
    expect(reviewer.post(f"/api/v1/kyc-documents/{our_document['id']}/verify"), 200)


def test_another_companys_documents_do_not_exist(crm):
    acme, rival = crm.tenant("acme"), crm.tenant("rival")
    client = acme.client()
    document = expect(_upload(acme.admin, client["id"]), 201)
    assert rival.admin.get(f"/api/v1/kyc-documents/{document['id']}").status_code == 404
    assert rival.admin.post(f"/api/v1/kyc-documents/{document['id']}/verify").status_code == 404
    assert expect(rival.admin.get("/api/v1/kyc-documents"), 200)["total"] == 0
    uploaded = _upload(rival.admin, client["id"])
    assert uploaded.status_code == 422 and _field_names(uploaded) == ["client_id"]


def test_list_filters_paging_and_the_portal_shows_mine(crm):
    acme = crm.tenant("acme")
    alice, bob = acme.client(), acme.client()
    passport = expect(_upload(acme.admin, alice["id"], "passport", "p.pdf"), 201)
    expect(_upload(acme.admin, alice["id"], "proof_of_address", "bill.pdf"), 201)
    expect(_upload(acme.admin, bob["id"], "passport", "bob.pdf"), 201)
    expect(acme.admin.post(f"/api/v1/kyc-documents/{passport['id']}/verify"), 200)

    def files(**params) -> list[str]:
        return [
            d["file_name"]
            for d in expect(acme.admin.get("/api/v1/kyc-documents", params=params), 200)["items"]
        ]

    assert files() == ["bob.pdf", "bill.pdf", "p.pdf"]
    assert files(client_id=alice["id"]) == ["bill.pdf", "p.pdf"]
    assert files(status="verified") == ["p.pdf"]
    assert files(doc_type="passport", status="pending") == ["bob.pdf"]
    assert files(per_page=2, page=2) == ["p.pdf"]
    bad = acme.admin.get("/api/v1/kyc-documents", params={"status": "lost"})
    assert bad.status_code == 422 and _field_names(bad) == ["status"]
    mine = expect(acme.portal(alice["id"]).get("/api/v1/portal/kyc-documents"), 200)
    assert [(d["file_name"], d["status"]) for d in mine["items"]] == [
        ("bill.pdf", "pending"),
        ("p.pdf", "verified"),
    ]


def _review(url: str, tenant_id: int, document_id: int, barrier) -> str:
    from core.context import bind
    from core.crm import kyc
    from core.crm.models import Client
    from core.runtime import Runtime

    runtime = Runtime.from_settings(replace(Settings.from_env(), database_url=url))
    with runtime.db.transaction(tenant_id=tenant_id) as warm_up:  # connect before the start line
        warm_up.get(Client, 1)
    barrier.wait()
    try:
        with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
            return kyc.review(bind(session, None, runtime, "race"), document_id, verify=True).status.value
    finally:
        runtime.db.dispose()


def test_documents_verified_at_the_same_time_leave_the_client_verified(crm, crm_database_url):
    """Each review recomputes the client's status from all their documents: two reviewers
    verifying the identity document and the proof of address at once must not each miss the
    other's verification and leave the client pending."""
    acme = crm.tenant("acme")
    clients = [acme.client() for _ in range(3)]
    documents = []
    for client in clients:
        documents.append(expect(_upload(acme.admin, client["id"], "id_card"), 201)["id"])
        documents.append(expect(_upload(acme.admin, client["id"], "proof_of_address"), 201)["id"])
    context = processes()
    barrier = context.Manager().Barrier(len(documents))
    with context.Pool(len(documents)) as pool:
        results = pool.starmap(_review, [(crm_database_url, acme.id, d, barrier) for d in documents])
    assert results == ["verified"] * len(documents)
    for client in clients:
        assert expect(acme.admin.get(f"/api/v1/clients/{client['id']}"), 200)["kyc_status"] == "verified"
