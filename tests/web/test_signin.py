"""Sign-in for people: cookie sessions per audience, CSRF on every form, error pages."""

from __future__ import annotations

from core.sdk.testing import PASSWORD, PageSession, expect


def test_the_root_is_a_page_leading_to_the_three_sign_ins(crm):
    response = PageSession(crm.app).get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for href in ("/backoffice/login", "/portal/login", "/platform/login"):
        assert f'href="{href}"' in response.text


def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(crm):
    acme = crm.tenant("acme")
    visitor = PageSession(crm.app)
    response = visitor.get("/backoffice/")
    assert response.status_code == 303
    assert response.headers["location"] == "/backoffice/login?next=/backoffice/"
    form = visitor.get(response.headers["location"]).text
    assert 'name="next" value="/backoffice/"' in form
    response = visitor.post(
        "/backoffice/login",
        {"company": "acme", "email": acme.admin_email, "password": PASSWORD, "next": "/backoffice/"},
    )
    assert response.status_code == 303 and response.headers["location"] == "/backoffice/"


def test_the_session_cookie_is_http_only_and_scoped_to_its_pages(crm):
    acme = crm.tenant("acme")
    visitor = PageSession(crm.app)
    response = visitor.post(
        "/backoffice/login", {"company": "acme", "email": acme.admin_email, "password": PASSWORD}
    )
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("crm_session_back_office=")
    assert "HttpOnly" in cookie and "Path=/backoffice" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # served over plain HTTP here; over HTTPS it is set
    assert visitor.get("/backoffice/").status_code == 200
    # The back office's cookie signs in nowhere else.
    assert visitor.get("/portal/").status_code == 303
    assert visitor.get("/platform/").status_code == 303


def test_wrong_credentials_show_the_form_again_with_one_message(crm):
    acme = crm.tenant("acme")
    visitor = PageSession(crm.app)
    wrong_password = visitor.post(
        "/backoffice/login", {"company": "acme", "email": acme.admin_email, "password": "x"}
    )
    unknown_company = visitor.post(
        "/backoffice/login", {"company": "nope", "email": acme.admin_email, "password": "x"}
    )
    for response in (wrong_password, unknown_company):
        assert response.status_code == 401
        assert 'role="alert"' in response.text and "Invalid company, e-mail or password." in response.text
        assert "crm_session" not in response.headers.get("set-cookie", "")


def test_sign_in_through_pages_is_throttled_like_the_api(crm):
    acme = crm.tenant("acme")
    visitor = PageSession(crm.app)
    statuses = [
        visitor.post(
            "/backoffice/login", {"company": "acme", "email": acme.admin_email, "password": "x"}
        ).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    refused = visitor.post(
        "/backoffice/login", {"company": "acme", "email": acme.admin_email, "password": PASSWORD}
    )
    assert refused.status_code == 429 and "Too many attempts" in refused.text


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(crm):
    acme = crm.tenant("acme")
    pages = acme.pages()
    refused = pages.post("/backoffice/logout", csrf=False)
    assert refused.status_code == 403 and "did not come from this site" in refused.text
    assert pages.get("/backoffice/").status_code == 200  # still signed in
    forged = pages.post("/backoffice/logout", csrf=False, data={"csrf_token": "forged"})
    assert forged.status_code == 403
    # The sign-in form is protected too (login CSRF).
    visitor = PageSession(crm.app)
    assert visitor.post("/backoffice/login", {"company": "acme"}, csrf=False).status_code == 403


def test_htmx_requests_carry_the_token_in_a_header(crm):
    pages = crm.tenant("acme").pages()
    response = pages.post("/backoffice/logout", htmx=True)
    assert response.status_code == 303
    assert pages.get("/backoffice/").status_code == 303  # signed out


def test_logout_ends_the_session_on_the_server(crm):
    acme = crm.tenant("acme")
    pages = acme.pages()
    token = pages.http.cookies.get("crm_session_back_office")
    expect(pages.post("/backoffice/logout"), 303)
    stolen = PageSession(crm.app)
    stolen.http.cookies.set("crm_session_back_office", token, path="/backoffice")
    assert stolen.get("/backoffice/").status_code == 303
    # The bearer token behind it is revoked for the API as well.
    assert crm.http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_next_never_leads_off_the_site(crm):
    acme = crm.tenant("acme")
    for target in ("//evil.example.com/", "https://evil.example.com/", "/portal/", "/backoffice/\\\\evil"):
        visitor = PageSession(crm.app)
        response = visitor.post(
            "/backoffice/login",
            {"company": "acme", "email": acme.admin_email, "password": PASSWORD, "next": target},
        )
        assert response.headers["location"] == "/backoffice/", target


def test_each_audience_signs_in_through_its_own_page(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    portal = acme.portal_pages(client["id"])
    assert portal.get("/portal/").status_code == 200
    operator = crm.operator_pages()
    assert operator.get("/platform/").status_code == 200
    # A client's credentials do not open the back office.
    visitor = PageSession(crm.app)
    response = visitor.post(
        "/backoffice/login", {"company": "acme", "email": client["email"], "password": PASSWORD}
    )
    assert response.status_code == 401


def test_errors_on_pages_are_pages_and_on_the_api_json(crm):
    pages = crm.tenant("acme").pages()
    missing = pages.get("/backoffice/no-such-page")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "Page not found" in missing.text
    api = crm.http.get("/api/v1/no-such-route")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_an_htmx_error_is_an_alert_for_the_notice_area(crm):
    pages = crm.tenant("acme").pages()
    response = pages.post("/backoffice/logout", htmx=True, csrf=False)
    assert response.status_code == 403
    assert response.headers["hx-retarget"] == "#flash"
    assert response.text.startswith('<div class="errors" role="alert">')


def test_a_signed_out_htmx_request_is_redirected_by_htmx(crm):
    response = PageSession(crm.app).get("/backoffice/", htmx=True)
    assert (
        response.status_code == 401
        and response.headers["hx-redirect"] == "/backoffice/login?next=/backoffice/"
    )


def test_static_files_are_served_by_the_app_and_pinned_ones_cached(crm):
    visitor = PageSession(crm.app)
    htmx = visitor.get("/static/htmx-2.0.11.min.js")
    assert htmx.status_code == 200 and "immutable" in htmx.headers["cache-control"]
    assert visitor.get("/static/crm.css").headers["cache-control"] == "no-cache"
    page = visitor.get("/backoffice/login").text
    assert "/static/htmx-2.0.11.min.js" in page and "/static/pico-2.1.1.min.css" in page
    assert "http" not in page.split("<body")[0].replace("http-equiv", "")  # nothing from a CDN


def test_over_https_the_session_cookie_is_secure(crm):
    acme = crm.tenant("acme")
    visitor = PageSession(crm.app)
    visitor.http.base_url = "https://testserver"
    visitor.get("/")
    response = visitor.post(
        "/backoffice/login", {"company": "acme", "email": acme.admin_email, "password": PASSWORD}
    )
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_the_layout_shows_the_company_as_it_is_now(crm):
    acme = crm.tenant("acme", name="Acme Brokers", timezone="Asia/Tokyo")
    pages = acme.pages()
    assert "<strong>Acme Brokers</strong>" in pages.get("/backoffice/").text
    expect(acme.admin.patch("/api/v1/tenant", json={"name": "Acme Markets"}), 200)
    assert "<strong>Acme Markets</strong>" in pages.get("/backoffice/").text
