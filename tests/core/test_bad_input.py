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


def test_malformed_json_is_a_422(crm):
    acme = crm.tenant("acme")
    before = crm.snapshot()
    response = acme.admin.post(
        "/api/v1/clients", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "body"
    assert crm.snapshot() == before


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
