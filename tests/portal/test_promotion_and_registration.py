"""Promotion links and client self-registration through them (confirmed by e-mail: the kit's
``crm.register`` asks, reads the code from the outbox and confirms)."""

from __future__ import annotations

from core.testing import ApiSession, expect


def _register(crm, slug="acme", **fields):
    body = {
        "tenant": slug,
        "name": "New Trader",
        "email": "new@example.com",
        "password": "Sign-Up-Passw0rd",
        **fields,
    }
    return crm.anonymous.post("/api/v1/portal/register", json=body)


def test_registration_through_a_link_sets_type_referrer_source_and_owner(crm):
    acme = crm.tenant("acme")
    team = acme.team("IB desk")
    manager = acme.user(["clients.read"], scope="own", team_id=team)
    ib = acme.client(client_type="ib", assigned_user_id=manager.user_id)
    link = expect(
        acme.admin.post(
            "/api/v1/promotion-links",
            json={"name": "IB landing", "client_type": "ib", "referrer_id": ib["id"], "code": "Summer-2026"},
        ),
        201,
    )
    registered = crm.register("acme", "new@example.com", promotion_code="summer-2026")  # codes ignore case
    client = registered["client"]
    assert (client["client_type"], client["referrer_id"]) == ("ib", ib["id"])
    record = expect(acme.admin.get(f"/api/v1/clients/{client['id']}"), 200)
    assert record["promotion_link_id"] == link["id"]
    assert (record["assigned_user_id"], record["team_id"]) == (manager.user_id, team)
    assert client["id"] in {c["id"] for c in expect(manager.get("/api/v1/clients"), 200)["items"]}
    assert expect(acme.admin.get(f"/api/v1/promotion-links/{link['id']}"), 200)["registrations"] == 1
    portal = ApiSession(crm.http, registered["access_token"])
    assert expect(portal.get("/api/v1/portal/me"), 200)["email"] == "new@example.com"


def test_registration_without_a_link_makes_an_unreferred_trader(crm):
    crm.tenant("acme")
    client = crm.register("acme", "new@example.com")["client"]
    assert (client["client_type"], client["referrer_id"]) == ("trader", None)


def test_bad_registrations_write_nothing(crm):
    acme = crm.tenant("acme")
    acme.client(email="taken@example.com")
    disabled = expect(acme.admin.post("/api/v1/promotion-links", json={"name": "Old", "enabled": False}), 201)
    before = crm.snapshot()
    cases = [
        ({"tenant": "nope"}, 422, "tenant"),
        ({"promotion_code": "NOPE1234"}, 422, "promotion_code"),
        ({"promotion_code": disabled["code"]}, 422, "promotion_code"),
        ({"password": "weak"}, 422, "password"),
        ({"email": "bad"}, 422, "email"),
        ({"country": "QQ"}, 422, "country"),
        ({"client_type": "ib"}, 422, "client_type"),  # the type comes from the link, not the caller
    ]
    for fields, status, field in cases:
        response = _register(crm, **fields)
        assert response.status_code == status, (fields, response.text)
        assert field in [f["field"] for f in response.json()["error"]["fields"]], (fields, response.text)
    assert crm.snapshot() == before


def test_link_codes_are_unique_ignoring_case_and_generated_when_omitted(crm):
    acme = crm.tenant("acme")
    expect(acme.admin.post("/api/v1/promotion-links", json={"name": "A", "code": "PROMO1"}), 201)
    clash = acme.admin.post("/api/v1/promotion-links", json={"name": "B", "code": "promo1"})
    assert clash.status_code == 409 and clash.json()["error"]["fields"][0]["field"] == "code"
    generated = expect(acme.admin.post("/api/v1/promotion-links", json={"name": "C"}), 201)
    assert len(generated["code"]) == 8 and generated["code"].isalnum()


def test_links_in_use_are_disabled_not_deleted(crm):
    acme = crm.tenant("acme")
    link = expect(acme.admin.post("/api/v1/promotion-links", json={"name": "Used"}), 201)
    crm.register("acme", "new@example.com", promotion_code=link["code"])
    assert acme.admin.delete(f"/api/v1/promotion-links/{link['id']}").status_code == 409
    off = expect(acme.admin.patch(f"/api/v1/promotion-links/{link['id']}", json={"enabled": False}), 200)
    assert off["enabled"] is False
    unused = expect(acme.admin.post("/api/v1/promotion-links", json={"name": "Unused"}), 201)
    expect(acme.admin.delete(f"/api/v1/promotion-links/{unused['id']}"), 204)


def test_a_links_referrer_must_be_visible_to_its_creator(crm):
    acme = crm.tenant("acme")
    marketer = acme.user(["promotion_links.manage", "promotion_links.read"], scope="own")
    stranger = acme.client()
    response = marketer.post("/api/v1/promotion-links", json={"name": "X", "referrer_id": stranger["id"]})
    assert response.status_code == 422 and response.json()["error"]["fields"][0]["field"] == "referrer_id"


def test_profile_and_password_change(crm):
    crm.tenant("acme")
    registered = crm.register("acme", "new@example.com")
    portal = ApiSession(crm.http, registered["access_token"])
    other = crm.anonymous.post(
        "/api/v1/portal/auth/login",
        json={"tenant": "acme", "email": "new@example.com", "password": "Sign-Up-Passw0rd"},
    )
    other_session = ApiSession(crm.http, expect(other, 200)["access_token"])
    updated = expect(portal.patch("/api/v1/portal/me", json={"name": "Renamed", "language": "de"}), 200)
    assert (updated["name"], updated["language"]) == ("Renamed", "de")
    assert portal.patch("/api/v1/portal/me", json={"email": "x@example.com"}).status_code == 422
    expect(
        portal.post(
            "/api/v1/portal/me/password",
            json={"current_password": "Sign-Up-Passw0rd", "new_password": "Changed-Passw0rd-1"},
        ),
        204,
    )
    assert other_session.get("/api/v1/portal/me").status_code == 401
    assert portal.get("/api/v1/portal/me").status_code == 200
