"""The client portal's pages: pop-ups and notifications, prop challenges and checkout, orders,
deposits, KYC uploads, trading accounts, and signing up (also through a promotion link)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.crm import promotion
from core.notify import service as notify
from core.sdk.testing import PASSWORD, SIGN_UP_PASSWORD, PageSession, expect


def popup(tenant: Any, client_id: int, title: str = "Hello", **kwargs: Any) -> int:
    with tenant.ctx() as ctx:
        return notify.create_popup(ctx, client_id, title, "Something for you", **kwargs).id


def challenge(tenant: Any, fee: str = "100.00", name: str | None = None) -> dict[str, Any]:
    body = {"name": name or f"Challenge {fee}", "fee": fee, "currency": "USD"}
    return expect(tenant.admin.post("/api/v1/prop/challenges", json=body), 201)


def order(tenant: Any, client_id: int, challenge_id: int) -> dict[str, Any]:
    body = {"challenge_id": challenge_id}
    return expect(tenant.portal(client_id).post("/api/v1/portal/prop/orders", json=body), 201)


def table_rows(html: str) -> int:
    return html.count("<tr>") - html.count("<thead><tr>")


PAGES = [
    "/portal/",
    "/portal/notifications",
    "/portal/challenges",
    "/portal/orders",
    "/portal/deposits",
    "/portal/kyc",
    "/portal/accounts",
]


@pytest.mark.parametrize("path", PAGES)
def test_each_page_answers_for_a_signed_in_client_and_sends_others_to_sign_in(crm, path):
    acme = crm.tenant("acme")
    pages = acme.portal_pages(acme.client()["id"])
    response = pages.get(path)
    assert response.status_code == 200, response.text[:500]
    assert response.text.count("<h1") == 1
    signed_out = PageSession(crm.app).get(path)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/portal/login")
    # A staff member's session opens no portal page.
    assert acme.pages().get(path).status_code == 303


# --- pop-ups and notifications ---------------------------------------------------------------------


def test_a_pop_up_is_a_modal_dialog_until_closed(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    pages = acme.portal_pages(client["id"])
    popup_id = popup(acme, client["id"], "Maintenance tonight")
    home = pages.get("/portal/").text
    assert (
        f'<dialog id="popup-{popup_id}" data-open-on-load aria-labelledby="popup-{popup_id}-title">' in home
    )
    assert "Use Now" not in home  # core's own message leads nowhere
    assert re.search(r'class="badge badge-on" role="status">1<', home)
    assert pages.post(f"/portal/popups/{popup_id}/read", csrf=False).status_code == 403
    assert "Maintenance tonight" in pages.get("/portal/").text
    closed = pages.post(f"/portal/popups/{popup_id}/read", headers={"referer": "http://testserver/portal/"})
    assert closed.status_code == 303 and closed.headers["location"] == "/portal/"
    home = pages.get("/portal/").text
    assert "<dialog" not in home and re.search(r'class="badge" role="status">0<', home)


def test_use_now_on_a_module_pop_up_leads_to_the_challenges_and_reads_it(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    pages = acme.portal_pages(client["id"])
    gift = popup(acme, client["id"], "A gift for you", source="coupons", data={"coupon_id": 7})
    sent = popup(
        acme,
        client["id"],
        "KYC",
        source="kyc_module",
        data={"action_url": "/portal/kyc", "action_label": "Upload"},
    )
    away = popup(acme, client["id"], "Phish", source="x", data={"action_url": "https://evil.example.com/"})
    home = pages.get("/portal/").text
    assert f'action="/portal/popups/{gift}/use"' in home and ">Use Now</button>" in home
    assert ">Upload</button>" in home
    used = pages.post(f"/portal/popups/{gift}/use")
    assert used.status_code == 303 and used.headers["location"] == "/portal/challenges"
    assert pages.post(f"/portal/popups/{sent}/use").headers["location"] == "/portal/kyc"
    assert pages.post(f"/portal/popups/{away}/use").headers["location"] == "/portal/challenges"
    assert "<dialog" not in pages.get("/portal/").text  # all three read now


def test_a_client_cannot_read_another_clients_pop_up(crm):
    acme, other = crm.tenant("acme"), crm.tenant("other")
    mine, theirs = acme.client(), acme.client()
    pages = acme.portal_pages(mine["id"])
    theirs_popup = popup(acme, theirs["id"])
    elsewhere = other.client()
    other_popup = popup(other, elsewhere["id"])
    assert pages.post(f"/portal/popups/{theirs_popup}/read").status_code == 404
    assert pages.post(f"/portal/popups/{other_popup}/use").status_code == 404
    with acme.ctx() as ctx:
        assert notify.list_popups(ctx, notify.PageRequest(page=1, per_page=5), unread=True).total == 1


def test_the_notifications_page_lists_messages_read_and_unread(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    pages = acme.portal_pages(client["id"])
    read_id = popup(acme, client["id"], "Old news")
    pages.post(f"/portal/popups/{read_id}/read")
    popup(acme, client["id"], "Fresh news")
    html = pages.get("/portal/notifications").text
    assert 'role="tablist"' in html and 'id="tab-messages"' in html and 'aria-selected="true"' in html
    assert '<section role="tabpanel" id="panel-messages" aria-labelledby="tab-messages"' in html
    assert "Old news" in html and "Fresh news" in html
    assert html.count(">Unread</span>") == 1 and html.count(">Read</span>") == 1
    fragment = pages.get("/portal/notifications?page=1", htmx=True).text
    assert "Fresh news" in fragment and "<h1" not in fragment


def test_a_module_panel_gets_its_tab_and_its_count_in_the_badge(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    client = acme.client()
    pages = acme.portal_pages(client["id"])
    popup(acme, client["id"])
    html = pages.get("/portal/notifications").text
    tab = re.search(r'<button type="button" role="tab" id="tab-fixture_ticker"[^>]*>\s*Ticker notes', html)
    assert tab is not None, html
    assert '<section role="tabpanel" aria-labelledby="tab-fixture_ticker">' in html
    assert html.index('id="tab-messages"') < html.index('id="tab-fixture_ticker"')
    selected = pages.get("/portal/notifications?tab=fixture_ticker").text
    assert re.search(r'id="tab-fixture_ticker"\s+aria-selected="true"', selected)
    # The header badge: the unread pop-up plus the module's own count.
    with acme.ctx() as ctx:
        from core.crm.clients import get_client

        expected = 1 + sum(notify.module_counts(ctx, get_client(ctx, client["id"])).values())
    assert re.search(rf'class="badge badge-on" role="status">{expected}<', html)


# --- prop challenges, checkout and orders ------------------------------------------------------------


def test_the_challenges_show_the_fee_and_the_discounted_price_a_module_offers(crm):
    acme = crm.tenant("acme")
    acme.install("coupons")
    plain, lucky = acme.client(), acme.client()
    offered = challenge(acme, "100.00", "Two steps")
    coupon = expect(
        acme.admin.post(
            "/api/v1/plugins/coupons/coupons",
            json={"name": "Welcome", "discount_method": "percentage", "discount_value": "10",
                  "distribution_method": "manual"},
        ),
        201,
    )  # fmt: skip
    body = {"client_ids": [lucky["id"]], "popup_title": "Gift", "popup_text": "10% off", "design_id": "gold"}
    expect(acme.admin.post(f"/api/v1/plugins/coupons/coupons/{coupon['id']}/distribute", json=body), 200)
    full = acme.portal_pages(plain["id"]).get("/portal/challenges").text
    assert "Two steps" in full and "100.00 USD" in full and "<del>" not in full
    assert f'href="/portal/challenges/{offered["id"]}/buy"' in full
    discounted = acme.portal_pages(lucky["id"]).get("/portal/challenges").text
    assert "<del>100.00 USD</del>" in discounted and "90.00 USD" in discounted


def test_buying_a_challenge_places_the_order_and_shows_it(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    pages = acme.portal_pages(client["id"])
    offered = challenge(acme, "250.00", "Pro")
    buy = pages.get(f"/portal/challenges/{offered['id']}/buy")
    assert buy.status_code == 200 and "250.00 USD" in buy.text
    assert pages.post(f"/portal/challenges/{offered['id']}/buy", csrf=False).status_code == 403
    assert crm.count("prop_orders") == 0
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', buy.text).group(1)
    placed = pages.post(f"/portal/challenges/{offered['id']}/buy", {"idempotency_key": key})
    assert placed.status_code == 303
    order_path = placed.headers["location"]
    assert re.fullmatch(r"/portal/orders/\d+", order_path)
    again = pages.post(f"/portal/challenges/{offered['id']}/buy", {"idempotency_key": key})
    assert again.headers["location"] == order_path and crm.count("prop_orders") == 1
    shown = pages.get(order_path).text
    assert "Pro" in shown and "250.00 USD" in shown and "Placed" in shown
    listed = pages.get("/portal/orders").text
    assert f'href="{order_path}"' in listed and "Pro" in listed
    cancelled = pages.post(f"{order_path}/cancel")
    assert cancelled.status_code == 303 and "Cancelled" in pages.get(order_path).text


def test_checkout_fields_of_modules_are_options_that_reprice_the_order(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    pages = acme.portal_pages(acme.client()["id"])
    offered = challenge(acme, "100.00")
    buy = pages.get(f"/portal/challenges/{offered['id']}/buy").text
    slot_at = buy.index('name="option.ticker_discount_pct"')
    assert buy.index('<form method="post" action="/portal/challenges') < slot_at < buy.rindex("</form>")
    quoted = pages.post(
        f"/portal/challenges/{offered['id']}/quote", {"option.ticker_discount_pct": "25"}, htmx=True
    )
    assert quoted.status_code == 200 and "75.00 USD" in quoted.text and "Ticker discount" in quoted.text
    assert "<h1" not in quoted.text
    no_option = pages.post(
        f"/portal/challenges/{offered['id']}/quote", {"option.ticker_discount_pct": ""}, htmx=True
    )
    assert "100.00 USD" in no_option.text and "Ticker discount" not in no_option.text
    placed = pages.post(f"/portal/challenges/{offered['id']}/buy", {"option.ticker_discount_pct": "10"})
    assert placed.status_code == 303
    assert "90.00 USD" in pages.get(placed.headers["location"]).text


def test_an_option_no_module_takes_is_refused_naming_its_field_and_nothing_is_ordered(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    pages = acme.portal_pages(acme.client()["id"])
    offered = challenge(acme, "100.00")
    refused = pages.post(f"/portal/challenges/{offered['id']}/buy", {"option.mystery": "1"})
    assert refused.status_code == 422
    assert 'href="#f-option.mystery"' in refused.text and "no installed module accepts" in refused.text
    assert pk.count("prop_orders") == 0


def test_a_client_never_sees_another_clients_or_tenants_orders_and_deposits(crm):
    acme, other = crm.tenant("acme"), crm.tenant("other")
    mine, theirs = acme.client(), acme.client()
    offered = challenge(acme)
    their_order = order(acme, theirs["id"], offered["id"])
    their_deposit = expect(
        acme.portal(theirs["id"]).post(
            "/api/v1/portal/deposits", json={"amount": "55.00", "currency": "USD"}
        ),
        201,
    )
    elsewhere = other.client()
    other_order = order(other, elsewhere["id"], challenge(other)["id"])
    pages = acme.portal_pages(mine["id"])
    assert pages.get(f"/portal/orders/{their_order['id']}").status_code == 404
    assert pages.post(f"/portal/orders/{their_order['id']}/cancel").status_code == 404
    assert pages.get(f"/portal/orders/{other_order['id']}").status_code == 404
    assert f"/portal/orders/{their_order['id']}" not in pages.get("/portal/orders").text
    assert "55.00 USD" not in pages.get("/portal/deposits").text
    assert their_deposit["status"] == "pending"
    assert pages.get(f"/portal/challenges/{challenge(other, name='Elsewhere')['id']}/buy").status_code == 404


# --- deposits, KYC, trading accounts -----------------------------------------------------------------


def test_requesting_a_deposit(crm):
    acme = crm.tenant("acme")
    pages = acme.portal_pages(acme.client()["id"])
    form = pages.get("/portal/deposits").text
    assert '<option value="USD"' in form and '<option value="EUR"' in form
    invalid = pages.post("/portal/deposits", {"amount": "-5", "currency": "USD"})
    assert invalid.status_code == 422 and 'id="amount-error"' in invalid.text
    wrong_currency = pages.post("/portal/deposits", {"amount": "5", "currency": "JPY"})
    assert wrong_currency.status_code == 422 and 'id="currency-error"' in wrong_currency.text
    assert pages.post("/portal/deposits", {"amount": "5", "currency": "USD"}, csrf=False).status_code == 403
    assert crm.count("deposits") == 0
    done = pages.post("/portal/deposits", {"amount": "1234.5", "currency": "USD", "note": "by wire"})
    assert done.status_code == 303 and done.headers["location"] == "/portal/deposits"
    listed = pages.get("/portal/deposits").text
    assert "1,234.50 USD" in listed and "by wire" in listed and "Pending" in listed
    assert "1,234.50 USD" not in pages.get("/portal/deposits?status=approved").text


def test_uploading_a_kyc_document(crm):
    acme = crm.tenant("acme")
    pages = acme.portal_pages(acme.client()["id"])
    assert 'enctype="multipart/form-data"' in pages.get("/portal/kyc").text

    def upload(name: str, content: bytes = b"%PDF-1.4 scan", csrf: bool = True, **fields: str) -> Any:
        return pages.post(
            "/portal/kyc", {"doc_type": "passport", **fields}, csrf=csrf, files={"file": (name, content)}
        )

    wrong_kind = upload("passport.exe")
    assert wrong_kind.status_code == 422 and 'id="file-error"' in wrong_kind.text
    empty = upload("passport.pdf", b"")
    assert empty.status_code == 422 and "the file is empty" in empty.text
    no_type = pages.post("/portal/kyc", {"doc_type": "tax_return"}, files={"file": ("a.pdf", b"x")})
    assert no_type.status_code == 422 and 'id="doc_type-error"' in no_type.text
    assert upload("passport.pdf", csrf=False).status_code == 403
    assert crm.count("kyc_documents") == 0
    done = upload("C:\\scans\\passport.pdf")
    assert done.status_code == 303
    listed = pages.get("/portal/kyc").text
    assert "passport.pdf" in listed and "scans" not in listed and "Passport" in listed
    assert crm.count("kyc_documents") == 1


def test_a_kyc_file_over_the_limit_is_refused(crm, monkeypatch):
    from core.web.routes import portal_money

    monkeypatch.setattr(portal_money, "KYC_MAX_BYTES", 10)
    acme = crm.tenant("acme")
    pages = acme.portal_pages(acme.client()["id"])
    refused = pages.post("/portal/kyc", {"doc_type": "selfie"}, files={"file": ("me.png", b"x" * 11)})
    assert refused.status_code == 422 and "must be at most" in refused.text
    assert crm.count("kyc_documents") == 0


def test_the_trading_accounts_are_the_clients_own(crm):
    acme = crm.tenant("acme")
    mine, theirs = acme.client(), acme.client()
    for client, login in ((mine, "500100"), (theirs, "500200")):
        body = {"client_id": client["id"], "platform": "mt5", "login": login, "account_type": "Standard",
                "currency": "USD", "leverage": 200}  # fmt: skip
        expect(acme.admin.post("/api/v1/trading-accounts", json=body), 201)
    html = acme.portal_pages(mine["id"]).get("/portal/accounts").text
    assert "500100" in html and "MT5" in html and "1:200" in html and "500200" not in html


# --- signing up, also through a promotion link; password reset ----------------------------------------


def test_signing_up_through_a_promotion_link_sets_its_referrer_and_client_type(crm):
    acme = crm.tenant("acme", name="Acme Brokers")
    ib = acme.client(client_type="ib")
    link = expect(
        acme.admin.post(
            "/api/v1/promotion-links", json={"name": "Spring IB", "code": "SPRING", "client_type": "ib",
                                             "referrer_id": ib["id"]},
        ),
        201,
    )  # fmt: skip
    with acme.ctx() as ctx:
        url = promotion.signup_url(ctx, promotion.get_link(ctx, link["id"]))
    assert url.endswith("/portal/register?company=acme&ref=SPRING")
    visitor = PageSession(crm.app)
    assert visitor.get(url[url.index("/portal/") :]).status_code == 200
    form = visitor.get("/portal/register?company=acme&ref=spring")  # codes ignore case
    assert form.status_code == 200
    assert "Open an account with Acme Brokers" in form.text and "Spring IB" in form.text
    assert 'name="promotion_code" value="spring"' in form.text and 'name="tenant" value="acme"' in form.text
    sent = visitor.post(
        "/portal/register",
        {"tenant": "acme", "promotion_code": "spring", "name": "Nina", "email": "nina@example.com",
         "password": SIGN_UP_PASSWORD, "language": "en"},
    )  # fmt: skip
    assert sent.status_code == 303 and sent.headers["location"] == "/portal/register/sent"
    assert "Check your e-mail" in visitor.get("/portal/register/sent").text
    token = crm.email_token("nina@example.com")
    confirm_page = visitor.get(f"/portal/register/confirm?token={token}")
    assert f'name="token" value="{token}"' in confirm_page.text
    assert crm.count("clients", acme.id) == 1  # opening the link's page opened nothing
    opened = visitor.post("/portal/register/confirm", {"token": token})
    assert opened.status_code == 303 and opened.headers["location"] == "/portal/"
    assert "crm_session_portal=" in opened.headers["set-cookie"]
    assert visitor.get("/portal/").status_code == 200
    clients = expect(acme.admin.get("/api/v1/clients?q=nina"), 200)["items"]
    assert [(c["referrer_id"], c["client_type"]) for c in clients] == [(ib["id"], "ib")]
    reused = visitor.post("/portal/register/confirm", {"token": token})
    assert reused.status_code == 422 and 'id="token-error"' in reused.text


def test_an_invalid_sign_up_names_the_field_and_sends_nothing(crm):
    crm.tenant("acme")
    visitor = PageSession(crm.app)
    base = {"tenant": "acme", "name": "Nina", "email": "nina@example.com", "password": SIGN_UP_PASSWORD}
    before = crm.count("email_messages")
    bad_email = visitor.post("/portal/register", {**base, "email": "not-an-address"})
    assert bad_email.status_code == 422 and 'id="email-error"' in bad_email.text
    assert 'value="Nina"' in bad_email.text and SIGN_UP_PASSWORD not in bad_email.text
    unknown_code = visitor.post("/portal/register", {**base, "promotion_code": "NOPE"})
    assert unknown_code.status_code == 422 and 'id="promotion_code-error"' in unknown_code.text
    unknown_company = visitor.post("/portal/register", {**base, "tenant": "nope"})
    assert unknown_company.status_code == 422 and 'id="tenant-error"' in unknown_company.text
    assert visitor.post("/portal/register", base, csrf=False).status_code == 403
    assert crm.count("email_messages") == before and crm.count("account_tokens") == 0


def test_choosing_a_new_password_through_the_reset_pages(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    acme.portal(client["id"])  # a portal password
    visitor = PageSession(crm.app)
    assert 'href="/portal/reset-password"' in visitor.get("/portal/login").text
    asked = visitor.post("/portal/reset-password", {"tenant": "acme", "email": client["email"]})
    assert asked.status_code == 200 and "a link to choose a new password is on its way" in asked.text
    token = crm.email_token(client["email"])
    assert f'value="{token}"' in visitor.get(f"/portal/reset-password?token={token}").text
    weak = visitor.post("/portal/reset-password/confirm", {"token": token, "password": "short"})
    assert weak.status_code == 422 and 'id="password-error"' in weak.text
    done = visitor.post("/portal/reset-password/confirm", {"token": token, "password": "A-New-Passw0rd-9"})
    assert done.status_code == 200 and "Your password is changed" in done.text
    signed_in = visitor.post(
        "/portal/login", {"company": "acme", "email": client["email"], "password": "A-New-Passw0rd-9"}
    )
    assert signed_in.status_code == 303
    old = PageSession(crm.app).post(
        "/portal/login", {"company": "acme", "email": client["email"], "password": PASSWORD}
    )
    assert old.status_code == 401


def test_a_refused_quote_answers_in_place_naming_the_option(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    pages = acme.portal_pages(client["id"])
    offered = challenge(acme)
    quoted = pages.post(f"/portal/challenges/{offered['id']}/quote", {"option.mystery": "1"}, htmx=True)
    assert quoted.status_code == 422 and "<h1" not in quoted.text
    assert 'href="#f-option.mystery"' in quoted.text
    assert crm.count("prop_orders") == 0
