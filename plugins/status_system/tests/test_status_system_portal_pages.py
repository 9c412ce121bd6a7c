"""The client portal's pages: the progress bar in every page's header, the home widget and the
status details page (the checklist in words and figures), hidden statuses never named, a lock never
shown as such, KYC onboarding, and only the signed-in client's own data."""

from __future__ import annotations

import re

from sqlalchemy import event

from core.sdk import Client
from core.sdk.testing import PageSession, expect
from plugins.status_system.portal_pages import DETAILS, badge
from plugins.status_system.tests.support import API, Broker, deposits_at_least

AT_LEAST_ONE_DEPOSIT = {"metric": "deposits_count", "operator": ">=", "value": 1}
PORTAL_PAGES = ("/portal/", "/portal/deposits", "/portal/kyc", "/portal/notifications", DETAILS)


def _bars(html: str) -> list[tuple[str, str]]:
    """Every progress bar of a page: (its accessible name, its value)."""
    return [
        (label, value)
        for value, label in re.findall(
            r'<progress role="progressbar"[^>]*aria-valuenow="(\d+)"[^>]*aria-label="([^"]*)"', html
        )
    ]


def _header(html: str) -> str:
    match = re.search(r'<header class="topbar">.*?</header>', html, re.S)
    assert match, "no portal header"
    return match.group(0)


def test_the_header_shows_the_status_and_the_bar_toward_the_next_on_every_portal_page(broker):
    client = broker.client()
    broker.deposit(client, "400")
    pages = broker.tenant.portal_pages(client["id"])
    for path in PORTAL_PAGES:
        response = pages.get(path)
        assert response.status_code == 200, path
        html = response.text
        header = _header(html)
        assert _bars(header) == [("Base — 40 % of the way to Silver", "40")], path
        assert f'href="{DETAILS}"' in header, path  # the badge links to the details
    # The home has the larger widget too, with what is left.
    home = pages.get("/portal/").text
    assert ("Base — 40 % of the way to Silver", "40") in _bars(home.split("</header>", 1)[1])
    assert "need USD 600.00 more: approved deposits" in home
    # The nav entry.
    assert f'href="{DETAILS}"' in home and "My status" in home


def test_the_bar_moves_with_an_approved_deposit_and_says_when_the_top_is_reached(broker):
    client = broker.client()
    pages = broker.tenant.portal_pages(client["id"])
    assert _bars(_header(pages.get(DETAILS).text)) == [("Base — 0 % of the way to Silver", "0")]
    broker.deposit(client, "1500")  # Silver; Gold needs 10,000
    assert _bars(_header(pages.get(DETAILS).text)) == [("Silver — 15 % of the way to Gold", "15")]
    broker.deposit(client, "9000")
    html = pages.get(DETAILS).text
    assert _bars(_header(html)) == [("Gold — the top status", "100")]
    assert "You hold the top status" in html


def test_the_details_page_lists_what_is_met_and_what_is_missing_in_words_and_figures(broker):
    expect(
        broker.admin.patch(
            f"{API}/statuses/{broker.silver['id']}",
            json={
                "caption": "For our regular traders",
                "description": "Silver traders get faster withdrawals.\n\nAnd a personal manager.",
                "grants": "Withdrawals within a day",
                "criteria": {"all": [deposits_at_least("1000"), AT_LEAST_ONE_DEPOSIT]},
            },
        ),
        200,
    )
    client = broker.client()
    broker.deposit(client, "400")
    html = broker.tenant.portal_pages(client["id"]).get(DETAILS).text
    assert "<h1>My status</h1>" in html
    assert "Your status: Base" in html
    assert "Your way to Silver" in html
    # 0.4 for the amount, 1 for the count: the mean is 70 %.
    assert ("Base — 70 % of the way to Silver", "70") in _bars(html.split("</header>", 1)[1])
    assert "Approved deposits (USD): at least USD 1,000.00 (now USD 400.00)" in html
    assert "need USD 600.00 more: approved deposits" in html
    assert re.search(r'class="met">\s*<span class="mark" aria-hidden="true">✓</span>', html)
    assert re.search(r'class="missing">\s*<span class="mark" aria-hidden="true">✗</span>', html)
    assert 'href="/portal/deposits">Request a deposit</a>' in html
    # The ladder with the client's place, and what the next status gives.
    ladder = html.split('class="status-ladder"', 1)[1].split("</ol>", 1)[0]
    assert [n.strip() for n in re.findall(r"</span>(Base|Silver|Gold)", ladder)] == ["Base", "Silver", "Gold"]
    assert re.search(r'<li aria-current="step">.*?Base', ladder, re.S)
    assert "Gives you: Withdrawals within a day" in ladder
    # Once Silver: what it means and grants.
    broker.deposit(client, "600")
    html = broker.tenant.portal_pages(client["id"]).get(DETAILS).text
    assert "Your status: Silver" in html and "For our regular traders" in html
    assert "<p>Silver traders get faster withdrawals.</p>" in html
    assert "<p>And a personal manager.</p>" in html
    assert "Withdrawals within a day" in html


def test_hidden_statuses_are_never_shown_to_clients(broker):
    broker.status(
        "Shadow", criteria=deposits_at_least("5000"), visible_to_clients=False, position=2
    )  # between Silver and Gold, for staff only
    names = [s["name"] for s in expect(broker.admin.get(f"{API}/statuses"), 200)]
    assert names == ["Base", "Silver", "Shadow", "Gold"]
    silver, hidden = broker.client(), broker.client()
    broker.deposit(silver, "1500")
    broker.deposit(hidden, "6000")
    assert broker.status_of(hidden) == "Shadow"
    # Silver's next visible status is Gold: the hidden one in between is skipped.
    html = broker.tenant.portal_pages(silver["id"]).get(DETAILS).text
    assert _bars(_header(html)) == [("Silver — 15 % of the way to Gold", "15")]
    assert "Shadow" not in html
    # A client holding the hidden status is shown the highest visible status below it.
    for path in PORTAL_PAGES:
        html = broker.tenant.portal_pages(hidden["id"]).get(path).text
        assert "Shadow" not in html, path
        assert _bars(_header(html)) == [("Silver — 60 % of the way to Gold", "60")], path
    # With no visible status below, nothing is shown.
    expect(broker.admin.patch(f"{API}/statuses/{broker.base['id']}", json={"visible_to_clients": False}), 200)
    newcomer = broker.client()
    pages = broker.tenant.portal_pages(newcomer["id"])
    assert _bars(_header(pages.get("/portal/").text)) == []
    html = pages.get(DETAILS).text
    assert "There is no status to show yet." in html and "Base" not in html


def test_a_locked_status_is_shown_as_the_status_only(broker):
    client = broker.client()
    broker.deposit(client, "1500")
    broker.assign(client, broker.silver, "lock", reason="under review by compliance")
    broker.deposit(client, "20000")  # the rules alone would give Gold
    html = broker.tenant.portal_pages(client["id"]).get(DETAILS).text
    assert "Your status: Silver" in html
    assert "under review" not in html and not re.search(r"\block(ed)?\b", html, re.I)
    assert _bars(_header(html)) == []  # no bar toward a status the rules cannot give
    assert "Your way to Gold" not in html


def test_the_client_is_warned_before_a_demotion_with_what_keeps_the_status(broker):
    client = broker.silver_at_risk()
    pages = broker.tenant.portal_pages(client["id"])
    for page in (DETAILS, "/portal/"):  # the details page, and the home page's widget
        html = pages.get(page).text
        warning = html.split('class="status-warning" role="alert"', 1)[1].split("</div>", 1)[0]
        assert "Your Silver status is at risk." in warning
        assert "Approved deposits (USD), last 30 days: at least USD 900.00 (now USD 920.00)" in warning
    # Every portal page's header says so, linking to what keeps the status.
    assert "At risk: see what keeps it" in _header(pages.get("/portal/deposits").text)


def test_kyc_onboarding_reads_document_by_document_and_links_to_the_upload_page(crm):
    broker = Broker.__new__(Broker)
    broker.crm, broker.tenant = crm, crm.tenant("onboard")
    broker.admin = broker.tenant.admin
    expect(broker.admin.post("/api/v1/marketplace/status_system/install"), 200)

    def documents(*types: str) -> dict:
        return {"metric": "kyc_documents_verified", "operator": "includes_all", "value": list(types)}

    broker.status("Registered")
    broker.status("Identity verified", criteria=documents("passport"))
    broker.status("Ready to trade", criteria=documents("passport", "proof_of_address"))
    client = broker.client()
    pages = broker.tenant.portal_pages(client["id"])
    html = pages.get(DETAILS).text
    assert "still missing: Passport" in html
    assert 'href="/portal/kyc">Upload your documents</a>' in html
    assert 'href="/portal/kyc">Go to my KYC documents</a>' in html
    document = expect(
        broker.admin.post(
            "/api/v1/kyc-documents",
            json={"client_id": client["id"], "doc_type": "passport", "file_name": "passport.pdf"},
        ),
        201,
    )
    expect(broker.admin.post(f"/api/v1/kyc-documents/{document['id']}/verify", json={}), 200)
    html = pages.get(DETAILS).text
    assert "Your status: Identity verified" in html
    assert ("Identity verified — 50 % of the way to Ready to trade", "50") in _bars(html)
    assert "Verified documents: all of Passport, Proof of address" in html
    assert "still missing: Proof of address" in html
    assert "Passport: verified" in html and "Proof of address: still missing" in html
    assert 'href="/portal/kyc"' in html


def test_a_client_sees_only_their_own_standing(broker):
    mine, theirs = broker.client(name="Mia Own"), broker.client(name="Theo Other")
    broker.deposit(mine, "400")
    broker.deposit(theirs, "7777")
    for path in PORTAL_PAGES:
        html = broker.tenant.portal_pages(mine["id"]).get(path).text
        assert "7,777" not in html and "Theo Other" not in html, path
        assert _bars(_header(html)) == [("Base — 40 % of the way to Silver", "40")], path
    html = broker.tenant.portal_pages(theirs["id"]).get(DETAILS).text
    assert "now USD 7,777.00" in html and "400.00" not in html
    # The page takes no client id: there is nothing to point at another client.
    assert (
        broker.tenant.portal_pages(mine["id"]).get(f"{DETAILS}?client_id={theirs['id']}").text.count("7,777")
        == 0
    )


def test_the_details_page_needs_a_signed_in_client_of_a_tenant_with_the_module(broker, crm):
    signed_out = PageSession(crm.app).get(DETAILS)
    assert signed_out.status_code == 303 and "/portal/login" in signed_out.headers["location"]
    other = crm.tenant("nomodule")
    client = other.client()
    assert other.portal_pages(client["id"]).get(DETAILS).status_code == 404
    # Staff are not clients: the back office's session does not open portal pages.
    assert broker.tenant.pages().get(DETAILS).status_code == 303


def test_the_header_badge_costs_a_few_queries_whatever_the_client_holds(broker):
    """The badge is on every portal page and computed live: four queries (the ladder, the module's
    settings, the client's standing, their deposits grouped), shared with the rest of the page."""

    def queries_for(client: dict) -> list[str]:
        with broker.tenant.ctx() as ctx:
            subject = ctx.session.get(Client, client["id"])
            statements: list[str] = []
            engine = ctx.session.get_bind()

            def seen(conn, cursor, statement, *args):
                statements.append(statement)

            event.listen(engine, "before_cursor_execute", seen)
            try:
                values = badge(ctx, subject)
                again = badge(ctx, subject)  # the home widget's, from the same evaluation
            finally:
                event.remove(engine, "before_cursor_execute", seen)
            assert values["view"] == again["view"]
            return [s for s in statements if s.lstrip().upper().startswith("SELECT")]

    light, heavy = broker.client(), broker.client()
    broker.deposit(light, "100")
    for _ in range(15):
        broker.deposit(heavy, "100")
    assert len(queries_for(light)) == len(queries_for(heavy)) <= 4
