"""Bad input gets a 4xx naming the field, and writes nothing."""

from __future__ import annotations

import pytest

CLIENT = {"client_type": "trader", "name": "Valid Name", "email": "valid@example.com"}

CASES = [
    # (method, path, body, status, field)
    ("POST", "/api/v1/clients", {**CLIENT, "client_type": "whale"}, 422, "client_type"),
    ("POST", "/api/v1/clients", {**CLIENT, "name": 42}, 422, "name"),
    ("POST", "/api/v1/clients", {**CLIENT, "name": "x" * 201}, 422, "name"),
    ("POST", "/api/v1/clients", {**CLIENT, "name": "   "}, 422, "name"),
    ("POST", "/api/v1/clients", {**CLIENT, "email": "not-an-email"}, 422, "email"),
    ("POST", "/api/v1/clients", {**CLIENT, "country": "XX"}, 422, "country"),
    ("POST", "/api/v1/clients", {**CLIENT, "language": "zz"}, 422, "language"),
    ("POST", "/api/v1/clients", {**CLIENT, "phone": "call me"}, 422, "phone"),
    ("POST", "/api/v1/clients", {**CLIENT, "favourite_colour": "red"}, 422, "favourite_colour"),
    ("POST", "/api/v1/clients", {**CLIENT, "referrer_id": "abc"}, 422, "referrer_id"),
    ("POST", "/api/v1/clients", {**CLIENT, "referrer_id": 999999}, 422, "referrer_id"),
    ("POST", "/api/v1/clients", {**CLIENT, "group_id": 999999}, 422, "group_id"),
    ("POST", "/api/v1/clients", {**CLIENT, "rank_id": 999999}, 422, "rank_id"),
    ("POST", "/api/v1/clients", {**CLIENT, "assigned_user_id": 999999}, 422, "assigned_user_id"),
    ("POST", "/api/v1/clients", {**CLIENT, "team_id": 999999}, 422, "team_id"),
    ("POST", "/api/v1/clients", {**CLIENT, "portal_password": "weak"}, 422, "portal_password"),
    ("POST", "/api/v1/clients", {"name": "No Type", "email": "a@example.com"}, 422, "client_type"),
    ("POST", "/api/v1/ranks", {"name": "R", "tiers": []}, 422, "tiers"),
    ("POST", "/api/v1/ranks", {"name": "R", "tiers": [{"name": "A"}, {"name": "a"}]}, 422, "tiers"),
    ("POST", "/api/v1/roles", {"name": "R", "data_scope": "galaxy"}, 422, "data_scope"),
    ("POST", "/api/v1/roles", {"name": "R", "permissions": ["no.such"]}, 422, "permissions"),
    (
        "POST",
        "/api/v1/users",
        {"email": "u@example.com", "name": "U", "password": "Str0ng-Password", "role_ids": [999999]},
        422,
        "role_ids",
    ),
    (
        "POST",
        "/api/v1/api-keys",
        {"name": "k", "role_id": 1, "expires_at": "2030-01-01T00:00:00"},
        422,
        "expires_at",
    ),
    ("PATCH", "/api/v1/tenant", {"base_currencies": ["USD", "XYZ"]}, 422, "base_currencies.1"),
    ("PATCH", "/api/v1/tenant", {"base_currencies": ["USD", "USD"]}, 422, "base_currencies"),
    ("PATCH", "/api/v1/tenant", {"timezone": "Mars/Olympus"}, 422, "timezone"),
    ("GET", "/api/v1/clients?per_page=100000", None, 422, "per_page"),
    ("GET", "/api/v1/clients?page=0", None, 422, "page"),
    ("GET", "/api/v1/clients?created_from=yesterday", None, 422, "created_from"),
    # Text that no database can store, and names that name nothing.
    ("POST", "/api/v1/clients", {**CLIENT, "name": "Ann\u0000Lee"}, 422, "name"),
    ("POST", "/api/v1/clients", {**CLIENT, "name": "Ann\u0007Lee"}, 422, "name"),
    ("POST", "/api/v1/clients", {**CLIENT, "name": "Ann\nLee"}, 422, "name"),
    ("POST", "/api/v1/clients", {**CLIENT, "name": "\u200b\u2060\ufeff"}, 422, "name"),
    ("POST", "/api/v1/client-groups", {"name": "VIP", "description": "a\u0000b"}, 422, "description"),
    ("POST", "/api/v1/client-groups", {"name": "\u3000\u00a0"}, 422, "name"),
    ("GET", "/api/v1/clients?q=%00", None, 422, "q"),
    ("GET", "/api/v1/clients?q=" + "x" * 101, None, 422, "q"),
    # Ids a table cannot hold, and lists that name a record twice.
    ("POST", "/api/v1/clients", {**CLIENT, "referrer_id": 2**63}, 422, "referrer_id"),
    ("POST", "/api/v1/clients", {**CLIENT, "referrer_id": 0}, 422, "referrer_id"),
    ("GET", "/api/v1/clients?group_id=9223372036854775808", None, 422, "group_id"),
    ("GET", "/api/v1/clients?group_id=%D9%A1", None, 422, "group_id"),
    (
        "POST",
        "/api/v1/roles",
        {"name": "R", "permissions": ["clients.read", "clients.read"]},
        422,
        "permissions",
    ),
    ("POST", "/api/v1/roles", {"name": "R", "permissions": ["x" * 101]}, 422, "permissions.0"),
    # Values of another JSON type are not quietly converted, and no query parameter is ignored.
    (
        "POST",
        "/api/v1/ranks",
        {"name": "R", "sort_order": False, "tiers": [{"name": "A"}]},
        422,
        "sort_order",
    ),
    ("POST", "/api/v1/promotion-links", {"name": "L", "enabled": 0}, 422, "enabled"),
    ("GET", "/api/v1/clients?suspended=1", None, 422, "suspended"),
    ("GET", "/api/v1/clients?created_to=0.5", None, 422, "created_to"),
    ("GET", "/api/v1/clients?created_from=1700000000", None, 422, "created_from"),
    ("GET", "/api/v1/clients?grup_id=1", None, 422, "grup_id"),
    ("GET", "/api/v1/jobs/schedules?plugn=coupons", None, 422, "plugn"),
    ("GET", "/api/v1/clients/1/downlines?depth=1", None, 422, "depth"),
    # Money: ASCII digits, at most 10^12, no more decimals than the currency has; real currencies.
    (
        "POST",
        "/api/v1/prop/challenges",
        {"name": "C", "fee": "\u0661\u0660\u0660", "currency": "USD"},
        422,
        "fee",
    ),
    ("POST", "/api/v1/prop/challenges", {"name": "C", "fee": "1_000", "currency": "USD"}, 422, "fee"),
    ("POST", "/api/v1/prop/challenges", {"name": "C", "fee": "1e3", "currency": "USD"}, 422, "fee"),
    (
        "POST",
        "/api/v1/prop/challenges",
        {"name": "C", "fee": "1000000000000.01", "currency": "USD"},
        422,
        "fee",
    ),
    ("POST", "/api/v1/prop/challenges", {"name": "C", "fee": 1e300, "currency": "USD"}, 422, "fee"),
    ("POST", "/api/v1/prop/challenges", {"name": "C", "fee": "10", "currency": "XXX"}, 422, "currency"),
    ("POST", "/api/v1/prop/challenges", {"name": "C", "fee": "10", "currency": "XAU"}, 422, "currency"),
    ("POST", "/api/v1/prop/challenges", {"name": "C", "fee": "10", "currency": "usd"}, 422, "currency"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"), CASES, ids=[f"{c[0]} {c[1]} {c[4]}" for c in CASES]
)
def test_bad_input_is_refused_with_the_field_named(crm, method, path, body, status, field):
    acme = crm.tenant("acme")
    before = crm.snapshot()
    response = acme.admin.request(method, path, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert field in [f["field"] for f in error["fields"]], error
    assert crm.snapshot() == before


def test_an_unpaired_surrogate_escaped_in_json_is_refused(crm):
    # JSON can spell a lone surrogate ("\\ud800"); no database can store it as text.
    acme = crm.tenant("acme")
    before = crm.snapshot()
    body = b'{"client_type": "trader", "name": "Ann \\ud800", "email": "ann@example.com"}'
    response = acme.admin.post("/api/v1/clients", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"][0]["field"] == "name"
    assert crm.snapshot() == before


def test_malformed_json_is_a_documented_400(crm):
    acme = crm.tenant("acme")
    before = crm.snapshot()
    response = acme.admin.post(
        "/api/v1/clients", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert response.json()["error"]["fields"][0]["field"] == "body"
    assert crm.snapshot() == before
    documented = crm.app.openapi()["paths"]["/api/v1/clients"]["post"]["responses"]
    assert "400" in documented


@pytest.mark.parametrize(
    "path", ["/api/v1/clients/0", "/api/v1/clients/9223372036854775808", "/api/v1/clients/x"]
)
def test_a_path_id_no_record_can_have_is_404(crm, path):
    acme = crm.tenant("acme")
    response = acme.admin.get(path)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"


def test_a_405_lists_every_method_the_path_allows(crm):
    acme = crm.tenant("acme")
    response = acme.admin.put("/api/v1/clients", json={})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST"
    client = acme.client()
    response = acme.admin.post(f"/api/v1/clients/{client['id']}", json={})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, PATCH"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_the_largest_amount_is_accepted_and_stored_exactly(crm):
    acme = crm.tenant("acme")
    body = {"name": "Whale", "fee": "1000000000000.00", "currency": "USD"}
    created = acme.admin.post("/api/v1/prop/challenges", json=body)
    assert created.status_code == 201, created.text
    assert (
        acme.admin.get(f"/api/v1/prop/challenges/{created.json()['id']}").json()["fee"] == "1000000000000.00"
    )
    schema = crm.app.openapi()["components"]["schemas"]["PropChallengeIn"]["properties"]["fee"]
    assert schema["anyOf"][0]["maximum"] == 1e12


def test_a_cycle_in_an_update_changes_nothing_else_in_the_same_request(crm):
    acme = crm.tenant("acme")
    parent = acme.client()
    child = acme.client(referrer_id=parent["id"])
    before = crm.snapshot()
    response = acme.admin.patch(
        f"/api/v1/clients/{parent['id']}", json={"name": "Renamed", "referrer_id": child["id"]}
    )
    assert response.status_code == 422
    assert acme.admin.get(f"/api/v1/clients/{parent['id']}").json()["name"] == parent["name"]
    assert crm.snapshot() == before
