"""The back office's clients: the filtered list (htmx fragment, paging, CSV report) and a
client's page (referral tree, deposits, accounts, documents, the plugins' panels), within the
caller's data permissions."""

from __future__ import annotations

import csv
import io

from core.sdk.testing import expect

LIST = "/backoffice/clients"
M = "/api/v1/marketplace"


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_the_list_filters_by_every_field_as_a_get_form(crm):
    acme = crm.tenant("acme")
    group = expect(acme.admin.post("/api/v1/client-groups", json={"name": "VIP"}), 201)
    rank = expect(
        acme.admin.post("/api/v1/ranks", json={"name": "Partner", "tiers": [{"name": "Bronze"}]}), 201
    )
    ann = acme.client(name="Ann Vip", client_type="ib", group_id=group["id"], rank_id=rank["id"])
    bob = acme.client(name="Bob Plain")
    expect(acme.admin.patch(f"/api/v1/clients/{bob['id']}", json={"suspended": True}), 200)
    pages = acme.pages()
    everyone = pages.get(LIST)
    assert everyone.status_code == 200 and "Ann Vip" in everyone.text and "Bob Plain" in everyone.text
    # A GET form sends its empty fields too: they mean "no filter".
    empty = pages.get(f"{LIST}?q=&client_type=&group_id=&rank_id=&kyc_status=&suspended=")
    assert empty.status_code == 200 and "Ann Vip" in empty.text and "Bob Plain" in empty.text
    for query in (
        "q=vip",
        "client_type=ib",
        f"group_id={group['id']}",
        f"rank_id={rank['id']}",
        "suspended=false",
        "kyc_status=not_submitted&client_type=ib",
    ):
        shown = pages.get(f"{LIST}?{query}").text
        assert "Ann Vip" in shown and "Bob Plain" not in shown, query
    suspended = pages.get(f"{LIST}?suspended=true").text
    assert "Bob Plain" in suspended and "Ann Vip" not in suspended
    assert f'href="/backoffice/clients/{ann["id"]}"' in everyone.text
    assert pages.get(f"{LIST}?group_id=abc").status_code == 422
    assert pages.get(f"{LIST}?colour=red").status_code == 422


def test_an_htmx_request_gets_the_listing_block_with_paging_that_keeps_the_filters(crm):
    acme = crm.tenant("acme")
    acme.clients_bulk(55, country="DE")
    pages = acme.pages()
    fragment = pages.get(f"{LIST}?q=bulk", htmx=True)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "<h1>" not in fragment.text
    assert fragment.text.count('<td><a href="/backoffice/clients/') == 50
    assert "55 in all · page 1 of 2" in fragment.text
    assert 'hx-get="/backoffice/clients?q=bulk&amp;page=2"' in fragment.text
    assert 'hx-push-url="true"' in fragment.text
    second = pages.get(f"{LIST}?q=bulk&page=2", htmx=True)
    assert second.text.count('<td><a href="/backoffice/clients/') == 5
    whole = pages.get(LIST)
    assert 'hx-target="#listing"' in whole.text and 'hx-push-url="true"' in whole.text
    assert '<div id="listing">' in whole.text


def test_the_csv_report_has_the_list_filters_and_the_api_columns(crm):
    acme = crm.tenant("acme")
    acme.client(name="Ann Ib", client_type="ib")
    acme.client(name="Bob Trader")
    pages = acme.pages()
    listing = pages.get(f"{LIST}?client_type=ib").text
    assert 'href="/backoffice/clients/export.csv?client_type=ib"' in listing
    rows = _csv(pages.get("/backoffice/clients/export.csv?client_type=ib&q="))
    assert [r["name"] for r in rows] == ["Ann Ib"]
    api = acme.admin.get("/api/v1/clients/export?client_type=ib")
    assert api.text.splitlines()[0] == pages.get("/backoffice/clients/export.csv").text.splitlines()[0]


def test_an_agent_with_own_scope_sees_only_their_clients_in_list_export_and_pages(crm):
    acme = crm.tenant("acme")
    agent = acme.user(["clients.read"], scope="own")
    mine = acme.client(name="Mine Client", assigned_user_id=agent.user_id)
    other = acme.client(name="Other Client")
    pages = acme.pages(agent.label)
    listing = pages.get(LIST).text
    assert "Mine Client" in listing and "Other Client" not in listing
    assert [r["name"] for r in _csv(pages.get("/backoffice/clients/export.csv"))] == ["Mine Client"]
    assert pages.get(f"{LIST}/{mine['id']}").status_code == 200
    assert pages.get(f"{LIST}/{other['id']}").status_code == 404


def test_without_clients_read_the_list_the_export_and_a_client_are_refused(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    pages = acme.pages(acme.user(["deposits.read"]).label)
    for path in (LIST, "/backoffice/clients/export.csv", f"{LIST}/{client['id']}"):
        assert pages.get(path).status_code == 403, path


def test_another_tenants_client_is_not_found(crm):
    acme, other = crm.tenant("acme"), crm.tenant("other")
    theirs = other.client(name="Their Client")
    pages = acme.pages()
    assert pages.get(f"{LIST}/{theirs['id']}").status_code == 404
    assert "Their Client" not in pages.get(LIST).text


def test_a_clients_page_shows_the_referral_tree_and_their_records(crm):
    acme = crm.tenant("acme")
    top = acme.client(name="Top Ib", client_type="ib")
    middle = acme.client(name="Middle Ib", client_type="ib", referrer_id=top["id"])
    client = acme.client(name="Carol Client", referrer_id=middle["id"])
    first = acme.client(name="First Referral", referrer_id=client["id"])
    acme.client(name="Grand Child", referrer_id=first["id"])
    acme.client(name="Second Referral", referrer_id=client["id"])
    expect(
        acme.admin.post(
            "/api/v1/deposits", json={"client_id": client["id"], "amount": "125.5", "currency": "USD"}
        ),
        201,
    )
    expect(
        acme.admin.post(
            "/api/v1/trading-accounts",
            json={
                "client_id": client["id"],
                "platform": "mt5",
                "login": "880011",
                "account_type": "standard",
                "currency": "USD",
            },
        ),
        201,
    )
    expect(
        acme.admin.post(
            "/api/v1/kyc-documents",
            json={"client_id": client["id"], "doc_type": "passport", "file_name": "carol-passport.pdf"},
        ),
        201,
    )
    shown = acme.pages().get(f"{LIST}/{client['id']}")
    assert shown.status_code == 200
    text = shown.text
    assert "<h1>Carol Client</h1>" in text
    uplines = text.split('class="uplines"')[1].split("</ol>")[0]
    assert uplines.index("Middle Ib") < uplines.index("Top Ib")  # nearest first
    assert "2 direct referrals, 3 in the whole downline" in text
    first_row = text.split(f'href="/backoffice/clients/{first["id"]}"')[1].split("</tr>")[0]
    assert "<td>1</td>" in first_row  # First Referral's own direct referrals
    assert "125.50 USD" in text and "880011" in text and "carol-passport.pdf" in text


def test_sections_follow_the_callers_permissions(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    expect(
        acme.admin.post(
            "/api/v1/deposits", json={"client_id": client["id"], "amount": "77", "currency": "USD"}
        ),
        201,
    )
    text = acme.pages(acme.user(["clients.read"]).label).get(f"{LIST}/{client['id']}").text
    assert "77.00 USD" not in text and 'id="deposits-title"' not in text
    assert 'id="documents-title"' not in text and 'id="accounts-title"' not in text


PANEL = "Notes about this client"


def test_the_client_panel_slot_shows_a_plugins_panel_to_users_holding_its_permission(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    client = acme.client()
    reader = acme.user(["clients.read", "fixture_ticker.read"])
    page = acme.pages(reader.label).get(f"{LIST}/{client['id']}")
    assert page.status_code == 200 and "Notes about this client: 1" in page.text  # the ticker's welcome
    clerk = acme.user(["clients.read"])
    without = acme.pages(clerk.label).get(f"{LIST}/{client['id']}")
    assert without.status_code == 200 and PANEL not in without.text


def test_the_client_panel_is_absent_for_a_tenant_without_the_plugin(pk):
    acme, other = pk.tenant("acme"), pk.tenant("other")
    acme.install("fixture_ticker")
    client = other.client()
    page = other.pages().get(f"{LIST}/{client['id']}")
    assert page.status_code == 200 and PANEL not in page.text


def test_a_failing_panel_leaves_the_page_up_and_is_recorded(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    expect(acme.admin.put(f"{M}/fixture_ticker/settings", json={"values": {"fail_events": True}}), 200)
    client = acme.client(name="Dora Panel")
    page = acme.pages().get(f"{LIST}/{client['id']}")
    assert page.status_code == 200 and "<h1>Dora Panel</h1>" in page.text and PANEL not in page.text
    failures = expect(acme.admin.get(f"{M}/failures"), 200)["items"]
    assert [(f["plugin"], f["hook"]) for f in failures] == [("fixture_ticker", "crm_ui_slots")]
    assert "failed on purpose" in failures[0]["error"]


def test_the_filters_offer_this_companys_groups_and_ranks_only(crm):
    acme, other = crm.tenant("acme"), crm.tenant("other")
    expect(acme.admin.post("/api/v1/client-groups", json={"name": "Acme VIP"}), 201)
    expect(other.admin.post("/api/v1/client-groups", json={"name": "Other VIP"}), 201)
    expect(acme.admin.post("/api/v1/ranks", json={"name": "Acme rank", "tiers": [{"name": "T1"}]}), 201)
    expect(other.admin.post("/api/v1/ranks", json={"name": "Other rank", "tiers": [{"name": "T1"}]}), 201)
    html = acme.pages().get("/backoffice/clients").text
    assert "Acme VIP" in html and "Acme rank" in html
    assert "Other VIP" not in html and "Other rank" not in html
