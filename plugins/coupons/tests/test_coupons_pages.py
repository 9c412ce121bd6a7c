"""The coupons module's pages: the coupon list and its state-dependent actions, the form, the
distribute dialog, the statistics, the promo codes, and the portal's pieces (slots)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.requests import Request

from core.sdk.testing import expect
from plugins.coupons.tests.support import API, Shop

ROOT = "/backoffice/plugins/coupons"


def _coupon_form(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Spring sale",
        "use_case": "prop_trading",
        "discount_method": "percentage",
        "discount_value": "15",
        "distribution_method": "manual",
        "use_count": "unlimited",
        "validity": "unlimited",
        **fields,
    }


def _coupons(shop: Shop) -> list[dict[str, Any]]:
    return expect(shop.admin.get(f"{API}/coupons"), 200)["items"]


def _row(html: str, coupon_id: int) -> str:
    match = re.search(rf'<tr id="coupon-{coupon_id}">(.*?)</tr>\s*(?=<tr|</tbody>)', html, re.S)
    assert match, f"no row for coupon {coupon_id}"
    return match.group(1)


def _distribution(**fields: Any) -> dict[str, Any]:
    return {
        "popup_title": "A gift",
        "popup_text": "15% off your next challenge",
        "design_id": "neon",
        **fields,
    }


# --- access ----------------------------------------------------------------------------------------


def test_the_nav_entry_and_every_page_open_with_the_read_permission(shop):
    coupon = shop.given([shop.tenant.client()["id"]])
    reader = shop.tenant.user(["coupons.read"])
    pages = shop.tenant.pages(reader.label)
    dashboard = pages.get("/backoffice/")
    assert f'href="{ROOT}/"' in dashboard.text and "Coupons" in dashboard.text
    for path in (
        f"{ROOT}/",
        f"{ROOT}/coupons/{coupon['id']}",
        f"{ROOT}/coupons/{coupon['id']}/statistics",
        f"{ROOT}/promo-codes",
    ):
        response = pages.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        assert response.text.count("<h1") == 1
    # Reading is not updating: no create button, the form is read only, the update pages refused.
    listing = pages.get(f"{ROOT}/").text
    assert "Create coupon" not in listing and ">Revoke<" not in listing and ">Revoked<" in listing
    assert pages.get(f"{ROOT}/coupons/new").status_code == 403
    assert pages.get(f"{ROOT}/promo-codes/new").status_code == 403


def test_without_the_permission_the_entry_is_hidden_and_the_pages_refused(shop):
    coupon = shop.coupon()
    clerk = shop.tenant.user(["clients.read"])
    pages = shop.tenant.pages(clerk.label)
    assert f'href="{ROOT}/"' not in pages.get("/backoffice/").text
    for path in (
        f"{ROOT}/",
        f"{ROOT}/coupons/new",
        f"{ROOT}/coupons/{coupon['id']}",
        f"{ROOT}/coupons/{coupon['id']}/distribute",
        f"{ROOT}/coupons/{coupon['id']}/statistics",
        f"{ROOT}/promo-codes",
    ):
        assert pages.get(path).status_code == 403, path
    assert pages.post(f"{ROOT}/coupons/{coupon['id']}/delete").status_code == 403
    assert len(_coupons(shop)) == 1


def test_a_tenant_without_the_module_has_no_coupon_pages(shop, crm):
    other = crm.tenant("other")
    pages = other.pages()
    assert f'href="{ROOT}/"' not in pages.get("/backoffice/").text
    assert pages.get(f"{ROOT}/").status_code == 404
    assert pages.get(f"{ROOT}/promo-codes").status_code == 404
    portal = other.portal_pages(other.client()["id"])
    assert portal.get("/portal/plugins/coupons/coupons").status_code == 404


def test_another_tenants_coupon_is_not_found(shop, crm):
    theirs = Shop(crm, slug="rival")
    coupon = theirs.coupon()
    pages = shop.tenant.pages()
    assert pages.get(f"{ROOT}/coupons/{coupon['id']}").status_code == 404
    assert pages.get(f"{ROOT}/coupons/{coupon['id']}/distribute").status_code == 404
    assert pages.post(f"{ROOT}/coupons/{coupon['id']}/delete").status_code == 404
    assert len(_coupons(theirs)) == 1


# --- the list: actions by state --------------------------------------------------------------------


def test_each_state_shows_the_actions_it_allows(shop):
    client = shop.tenant.client()
    fresh = shop.coupon(name="Fresh")
    sent = shop.given([client["id"]], name="Sent")
    gone = shop.given([client["id"]], name="Gone")
    expect(shop.admin.post(f"{API}/coupons/{gone['id']}/revoke"), 200)
    html = shop.tenant.pages().get(f"{ROOT}/").text

    undistributed = _row(html, fresh["id"])
    assert "Undistributed" in undistributed and "<td>10 %</td>" in undistributed
    assert ">Edit<" in undistributed and ">Distribute<" in undistributed and ">Delete<" in undistributed
    assert (
        ">View<" not in undistributed
        and ">Revoke<" not in undistributed
        and "Statistics" not in undistributed
    )
    assert f'<dialog id="delete-{fresh["id"]}" aria-labelledby=' in undistributed

    distributed = _row(html, sent["id"])
    assert "Distributed" in distributed
    assert ">View<" in distributed and ">Statistics<" in distributed and ">Revoke<" in distributed
    assert ">Edit<" not in distributed and ">Delete<" not in distributed and ">Distribute<" not in distributed
    assert f'<dialog id="revoke-{sent["id"]}" aria-labelledby=' in distributed

    revoked = _row(html, gone["id"])
    assert "Revoked" in revoked and ">View<" in revoked and ">Statistics<" in revoked
    assert ">Revoke<" not in revoked and ">Delete<" not in revoked and ">Edit<" not in revoked


def test_the_list_filters_and_answers_htmx_with_the_listing_only(shop):
    shop.coupon(name="Alpha deal")
    shop.coupon(name="Beta deal")
    pages = shop.tenant.pages()
    filtered = pages.get(f"{ROOT}/?q=alpha")
    assert "Alpha deal" in filtered.text and "Beta deal" not in filtered.text
    fragment = pages.get(f"{ROOT}/?q=beta", htmx=True, headers={"HX-Target": "listing"})
    assert fragment.status_code == 200 and "Beta deal" in fragment.text
    assert "<html" not in fragment.text and "Alpha deal" not in fragment.text
    assert pages.get(f"{ROOT}/?status=lost").status_code == 422


def test_delete_and_revoke_change_the_state_and_are_refused_in_the_wrong_state(shop):
    client = shop.tenant.client()
    fresh = shop.coupon()
    sent = shop.given([client["id"]])
    pages = shop.tenant.pages()
    assert pages.post(f"{ROOT}/coupons/{fresh['id']}/delete", csrf=False).status_code == 403
    assert pages.post(f"{ROOT}/coupons/{sent['id']}/delete").status_code == 409  # distributed: revoke it
    assert pages.post(f"{ROOT}/coupons/{fresh['id']}/revoke").status_code == 409
    done = pages.post(f"{ROOT}/coupons/{fresh['id']}/delete")
    assert done.status_code == 303 and done.headers["location"] == f"{ROOT}/?done=deleted"
    assert pages.post(f"{ROOT}/coupons/{sent['id']}/revoke").status_code == 303
    assert [(c["id"], c["status"]) for c in _coupons(shop)] == [(sent["id"], "revoked")]
    assert "The coupon was revoked" in pages.get(f"{ROOT}/?done=revoked").text


# --- the form --------------------------------------------------------------------------------------


def test_the_form_shows_every_field_with_its_conditional_parts(shop):
    html = shop.tenant.pages().get(f"{ROOT}/coupons/new").text
    for label in (
        "Coupon name",
        "Use case scenario",
        "Discount method",
        "Discount value",
        "Distribution method",
        "Use count per client",
        "Allow combined use with promo codes",
        "Validity period",
    ):
        assert label in html, label
    # A new coupon is a manual percentage with unlimited uses and validity: the rest is hidden.
    assert re.search(r'data-show-when="discount_method=fixed_amount"\s+hidden', html)
    assert re.search(r'data-show-when="distribution_method=promotion_links"\s+hidden', html)
    assert re.search(r'data-show-when="use_count=fixed"\s+hidden', html)
    assert re.search(r'data-show-when="validity=fixed"\s+hidden', html)


def test_a_valid_form_creates_the_coupon(shop):
    link = expect(shop.admin.post("/api/v1/promotion-links", json={"name": "Spring campaign"}), 201)
    pages = shop.tenant.pages()
    response = pages.post(
        f"{ROOT}/coupons/new",
        {
            **_coupon_form(
                discount_method="fixed_amount",
                discount_value="25",
                discount_currency="USD",
                distribution_method="promotion_links",
                promotion_link_ids=[str(link["id"])],
                use_count="fixed",
                uses_per_client="2",
                validity="fixed",
                valid_from="2030-01-01T00:00",
                valid_until="2030-02-01T00:00",
                allow_with_promo_codes="true",
            )
        },
    )
    assert response.status_code == 303, response.text[:500]
    [coupon] = _coupons(shop)
    assert coupon["name"] == "Spring sale" and coupon["status"] == "undistributed"
    assert (coupon["discount_method"], coupon["discount_value"], coupon["discount_currency"]) == (
        "fixed_amount",
        "25.00",
        "USD",
    )
    assert coupon["distribution_method"] == "promotion_links"
    assert coupon["promotion_link_ids"] == [link["id"]]
    assert coupon["uses_per_client"] == 2 and coupon["allow_with_promo_codes"] is True
    assert coupon["valid_from"].startswith("2030-01-01T00:00")
    assert "Spring sale" in pages.get(f"{ROOT}/?done=created").text


def test_the_parts_a_choice_switches_off_are_not_saved(shop):
    pages = shop.tenant.pages()
    response = pages.post(
        f"{ROOT}/coupons/new",
        _coupon_form(discount_currency="USD", uses_per_client="3", valid_from="2030-01-01T00:00"),
    )
    assert response.status_code == 303, response.text[:500]
    [coupon] = _coupons(shop)
    assert coupon["discount_currency"] is None and coupon["uses_per_client"] is None
    assert coupon["valid_from"] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"discount_value": "150"}, "discount_value"),
        ({"discount_method": "fixed_amount", "discount_value": "10"}, "discount_currency"),
        ({"use_count": "fixed"}, "uses_per_client"),
        (
            {"validity": "fixed", "valid_from": "2030-02-01T00:00", "valid_until": "2030-01-01T00:00"},
            "valid_until",
        ),
        ({"distribution_method": "promotion_links"}, "promotion_link_ids"),
    ],
)
def test_an_invalid_form_answers_422_naming_the_field_and_writes_nothing(shop, fields, field):
    pages = shop.tenant.pages()
    response = pages.post(f"{ROOT}/coupons/new", _coupon_form(**fields))
    assert response.status_code == 422, response.text[:500]
    assert f'id="{field}-error"' in response.text
    assert 'role="alert"' in response.text
    assert _coupons(shop) == []


def test_a_form_without_csrf_is_refused(shop):
    pages = shop.tenant.pages()
    assert pages.post(f"{ROOT}/coupons/new", _coupon_form(), csrf=False).status_code == 403
    assert _coupons(shop) == []


def test_an_undistributed_coupon_is_edited_a_distributed_one_only_viewed(shop):
    coupon = shop.coupon(name="Before")
    pages = shop.tenant.pages()
    form = pages.get(f"{ROOT}/coupons/{coupon['id']}").text
    assert "Edit coupon" in form and 'value="Before"' in form and ">Save<" in form
    bad = pages.post(f"{ROOT}/coupons/{coupon['id']}", _coupon_form(name="After", discount_value="0"))
    assert bad.status_code == 422 and 'id="discount_value-error"' in bad.text
    assert _coupons(shop)[0]["name"] == "Before"
    assert pages.post(f"{ROOT}/coupons/{coupon['id']}", _coupon_form(name="After")).status_code == 303
    assert [(c["name"], c["discount_value"]) for c in _coupons(shop)] == [("After", "15")]

    shop.distribute(coupon["id"], [shop.tenant.client()["id"]])
    view = pages.get(f"{ROOT}/coupons/{coupon['id']}").text
    assert "its settings can only be viewed" in view and ">Save<" not in view
    assert "Gold Ticket" in view and "A gift for you" in view  # how it was distributed
    assert pages.post(f"{ROOT}/coupons/{coupon['id']}", _coupon_form(name="Later")).status_code == 409
    assert _coupons(shop)[0]["name"] == "After"


# --- distribute ------------------------------------------------------------------------------------


def test_the_distribute_dialog_offers_clients_groups_popup_and_designs(shop):
    client = shop.tenant.client(name="Dana Client")
    expect(shop.admin.post("/api/v1/client-groups", json={"name": "VIP"}), 201)
    coupon = shop.coupon()
    pages = shop.tenant.pages()
    fragment = pages.get(f"{ROOT}/coupons/{coupon['id']}/distribute", htmx=True)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    html = fragment.text
    assert '<dialog id="distribute-dialog" data-open-on-load aria-labelledby="distribute-title"' in html
    assert f'value="{client["id"]}"' in html and "Dana Client" in html and "VIP" in html
    assert "Pop-up title" in html and "Pop-up text" in html
    assert 'aria-label="Previous design"' in html and 'aria-label="Next design"' in html
    assert html.count("data-design-tick=") == 6 and 'role="progressbar"' in html
    full = pages.get(f"{ROOT}/coupons/{coupon['id']}/distribute")
    assert full.status_code == 200 and full.text.count("<h1") == 1


def test_the_client_picker_searches_and_keeps_the_chosen_clients(shop):
    dana = shop.tenant.client(name="Dana Client")
    eve = shop.tenant.client(name="Eve Trader")
    coupon = shop.coupon()
    pages = shop.tenant.pages()
    found = pages.get(
        f"{ROOT}/coupons/{coupon['id']}/distribute/clients?q=eve&client_ids={dana['id']}", htmx=True
    ).text
    assert f'value="{dana["id"]}" checked' in found
    assert f'value="{eve["id"]}">' in found


def test_distributing_to_a_client_and_a_group(shop):
    dana = shop.tenant.client()
    group = expect(shop.admin.post("/api/v1/client-groups", json={"name": "VIP"}), 201)
    member = shop.tenant.client(group_id=group["id"])
    coupon = shop.coupon()
    pages = shop.tenant.pages()
    response = pages.post(
        f"{ROOT}/coupons/{coupon['id']}/distribute",
        _distribution(client_ids=[str(dana["id"])], group_ids=[str(group["id"])]),
        htmx=True,
    )
    assert response.status_code == 200 and response.headers["hx-redirect"] == f"{ROOT}/?done=distributed"
    assert _coupons(shop)[0]["status"] == "distributed" and _coupons(shop)[0]["design_id"] == "neon"
    holders = expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/clients"), 200)["items"]
    assert sorted(h["client_id"] for h in holders) == sorted([dana["id"], member["id"]])
    # Distributed: the dialog is no longer offered.
    assert pages.get(f"{ROOT}/coupons/{coupon['id']}/distribute").status_code == 409


def test_a_promotion_link_coupon_is_distributed_without_choosing_clients(shop):
    link = expect(shop.admin.post("/api/v1/promotion-links", json={"name": "Spring campaign"}), 201)
    coupon = shop.coupon(distribution_method="promotion_links", promotion_link_ids=[link["id"]])
    pages = shop.tenant.pages()
    dialog = pages.get(f"{ROOT}/coupons/{coupon['id']}/distribute").text
    assert "no clients to choose" in dialog and 'name="client_ids"' not in dialog
    assert pages.post(f"{ROOT}/coupons/{coupon['id']}/distribute", _distribution()).status_code == 303
    assert _coupons(shop)[0]["status"] == "distributed"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"client_ids": ["CLIENT"], "popup_title": ""}, "popup_title"),
        ({"client_ids": ["CLIENT"], "design_id": "plaid"}, "design_id"),
        ({}, "client_ids"),
    ],
)
def test_an_invalid_distribution_answers_the_dialog_with_its_errors(shop, fields, field):
    client = shop.tenant.client()
    coupon = shop.coupon()
    body = _distribution(**fields)
    if "client_ids" in body:
        body["client_ids"] = [str(client["id"])]
    response = shop.tenant.pages().post(f"{ROOT}/coupons/{coupon['id']}/distribute", body, htmx=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text and "<html" not in response.text
    assert _coupons(shop)[0]["status"] == "undistributed"
    assert expect(shop.admin.get(f"{API}/coupons/{coupon['id']}/clients"), 200)["items"] == []


def test_a_distribution_without_csrf_is_refused(shop):
    client = shop.tenant.client()
    coupon = shop.coupon()
    pages = shop.tenant.pages()
    body = _distribution(client_ids=[str(client["id"])])
    assert pages.post(f"{ROOT}/coupons/{coupon['id']}/distribute", body, csrf=False).status_code == 403
    assert _coupons(shop)[0]["status"] == "undistributed"
    ok = pages.post(f"{ROOT}/coupons/{coupon['id']}/distribute", body)
    assert ok.status_code == 303 and _coupons(shop)[0]["status"] == "distributed"


# --- statistics ------------------------------------------------------------------------------------


def test_the_statistics_show_the_figures_the_clients_and_the_challenges_used_for(shop):
    challenge = shop.challenge(name="Starter 10k")
    client, portal = shop.client(name="Dana Client")
    idle = shop.tenant.client(name="Idle Client")
    coupon = shop.given([client["id"], idle["id"]], uses_per_client=2)
    order = shop.order(portal, challenge["id"], coupon_id=coupon["id"])
    shop.settle(order["id"], "paid")
    html = shop.tenant.pages().get(f"{ROOT}/coupons/{coupon['id']}/statistics").text
    assert re.search(r'data-figure="total_available">4<', html)
    assert re.search(r'data-figure="total_redeemed">1<', html)
    assert re.search(r'data-figure="clients_with_coupon">2<', html)
    assert "Dana Client" in html and "Idle Client" in html and "Starter 10k" in html
    assert "Partly used" in html and "Unused" in html
    only_used = shop.tenant.pages().get(f"{ROOT}/coupons/{coupon['id']}/statistics?state=partly_used").text
    assert "Dana Client" in only_used and "Idle Client" not in only_used
    export = shop.tenant.pages().get(f"{ROOT}/coupons/{coupon['id']}/statistics/export")
    assert export.status_code == 200 and "Starter 10k" in export.text and "Idle Client" in export.text


# --- promo codes -----------------------------------------------------------------------------------


def _promos(shop: Shop) -> list[dict[str, Any]]:
    return expect(shop.admin.get(f"{API}/promo-codes"), 200)["items"]


def test_promo_codes_are_created_disabled_enabled_and_deleted(shop):
    pages = shop.tenant.pages()
    assert "Create promo code" in pages.get(f"{ROOT}/promo-codes/new").text
    body = {
        "code": "SPRING25",
        "name": "Spring",
        "discount_method": "percentage",
        "discount_value": "25",
        "use_count": "unlimited",
        "validity": "unlimited",
        "enabled": "true",
    }
    assert pages.post(f"{ROOT}/promo-codes/new", body, csrf=False).status_code == 403
    bad = pages.post(f"{ROOT}/promo-codes/new", {**body, "code": "no spaces"})
    assert bad.status_code == 422 and 'id="code-error"' in bad.text and _promos(shop) == []
    assert pages.post(f"{ROOT}/promo-codes/new", body).status_code == 303
    [promo] = _promos(shop)
    assert (promo["code"], promo["discount_value"], promo["enabled"]) == ("SPRING25", "25", True)
    listing = pages.get(f"{ROOT}/promo-codes").text
    assert (
        "SPRING25" in listing and ">Disable<" in listing and f'<dialog id="disable-{promo["id"]}"' in listing
    )
    assert pages.post(f"{ROOT}/promo-codes/{promo['id']}/disable").status_code == 303
    assert _promos(shop)[0]["enabled"] is False
    assert ">Enable<" in pages.get(f"{ROOT}/promo-codes").text
    assert pages.post(f"{ROOT}/promo-codes/{promo['id']}/enable").status_code == 303
    assert _promos(shop)[0]["enabled"] is True
    assert pages.post(f"{ROOT}/promo-codes/{promo['id']}/delete").status_code == 303
    assert _promos(shop) == []


# --- the portal: the page and the slots ------------------------------------------------------------


def _slot(shop: Shop, crm: Any, client_id: int, name: str, challenge_id: int | None = None) -> str:
    """A portal slot rendered as the core page renders it, for the signed-in client (the core
    pages that call these slots are built elsewhere)."""
    from core.sdk import Client, PropChallenge
    from core.sdk.testing import render_slot

    scope = {"type": "http", "method": "GET", "path": "/portal/", "headers": [], "query_string": b""}
    request = Request({**scope, "app": crm.app})
    with shop.tenant.ctx() as ctx:
        client = ctx.session.get(Client, client_id)
        if challenge_id is None:
            return str(render_slot(request, ctx, name, client))
        challenge = ctx.session.get(PropChallenge, challenge_id)
        return str(render_slot(request, ctx, name, challenge, client=client))


def test_the_notifications_tab_lists_valid_and_invalid_coupons(shop, crm):
    client = shop.tenant.client()
    other = shop.tenant.client()
    shop.given([client["id"]], name="Fresh gift")
    gone = shop.given([client["id"]], name="Withdrawn gift")
    shop.given([other["id"]], name="Someone else's")
    expect(shop.admin.post(f"{API}/coupons/{gone['id']}/revoke"), 200)
    html = _slot(shop, crm, client["id"], "portal.notifications")
    assert '<section role="tabpanel" id="tabpanel-coupons" aria-labelledby="tab-coupons"' in html
    assert "<h2>Coupons</h2>" in html
    valid, invalid = html.split("Invalid coupons")
    assert "Fresh gift" in valid and "Use now" in valid and "Withdrawn gift" not in valid
    assert "Withdrawn gift" in invalid and "Revoked" in invalid
    assert "Someone else" not in html


def test_the_checkout_fields_offer_the_usable_coupons_and_a_promo_code(shop, crm):
    usd = shop.challenge(fee="200.00")
    client = shop.tenant.client()
    big = shop.given([client["id"]], name="Big", discount_value="20")
    small = shop.given([client["id"]], name="Small", discount_value="5")
    shop.given(
        [client["id"]],
        name="Euros only",
        discount_method="fixed_amount",
        discount_value="10",
        discount_currency="EUR",
    )
    html = _slot(shop, crm, client["id"], "portal.checkout", usd["id"])
    radios = re.findall(r'<input type="radio" name="option.coupon_id:int" value="(\d*)"( checked)?', html)
    assert radios == [(str(big["id"]), " checked"), (str(small["id"]), ""), ("", "")]
    assert "40.00 USD off" in html and "10.00 USD off" in html and "Euros only" not in html
    assert 'name="option.promo_code"' in html and "Promo code" in html
    # What the fields send is what the pricing reads: the chosen coupon's id, the typed code.
    quote = shop.quote(shop.tenant.portal(client["id"]), usd["id"], coupon_id=int(radios[1][0]))
    assert expect(quote, 200)["final_price"] == "190.00"


def test_the_portal_coupons_page(shop):
    client = shop.tenant.client()
    shop.given([client["id"]], name="Fresh gift")
    portal = shop.tenant.portal_pages(client["id"])
    home = portal.get("/portal/")
    assert 'href="/portal/plugins/coupons/coupons"' in home.text
    mine = portal.get("/portal/plugins/coupons/coupons")
    assert mine.status_code == 200 and "<h1>My coupons</h1>" in mine.text and "Fresh gift" in mine.text
