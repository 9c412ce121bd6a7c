"""PATCH changes only the fields the request names: a nullable field sent as null is cleared, and
null for a field that cannot be empty is a 422 naming it that writes nothing."""

from __future__ import annotations

import pytest

from core.sdk.testing import expect


def test_a_client_s_nullable_fields_can_be_cleared(crm):
    acme = crm.tenant("acme")
    group = expect(acme.admin.post("/api/v1/client-groups", json={"name": "VIP"}), 201)
    referrer = acme.client()
    client = acme.client(phone="+44 20 7946 0000", group_id=group["id"], referrer_id=referrer["id"])
    body = {"phone": None, "group_id": None, "referrer_id": None}
    cleared = expect(acme.admin.patch(f"/api/v1/clients/{client['id']}", json=body), 200)
    assert {name: cleared[name] for name in body} == body
    assert cleared["name"] == client["name"]  # fields the request did not name are kept


def test_a_user_s_team_and_a_promotion_link_s_referrer_can_be_cleared(crm):
    acme = crm.tenant("acme")
    member = acme.user(team_id=acme.team())
    user = expect(acme.admin.patch(f"/api/v1/users/{member.user_id}", json={"team_id": None}), 200)
    assert user["team_id"] is None
    referrer = acme.client()
    link = expect(
        acme.admin.post("/api/v1/promotion-links", json={"name": "Spring", "referrer_id": referrer["id"]}),
        201,
    )
    cleared = expect(
        acme.admin.patch(f"/api/v1/promotion-links/{link['id']}", json={"referrer_id": None}), 200
    )
    assert cleared["referrer_id"] is None


def _group(acme) -> str:
    group = expect(acme.admin.post("/api/v1/client-groups", json={"name": "VIP"}), 201)
    return f"/api/v1/client-groups/{group['id']}"


def _rank(acme) -> str:
    body = {"name": "IB", "tiers": [{"name": "Bronze"}]}
    return f"/api/v1/ranks/{expect(acme.admin.post('/api/v1/ranks', json=body), 201)['id']}"


def _team(acme) -> str:
    return f"/api/v1/teams/{acme.team('Sales')}"


def _client(acme) -> str:
    return f"/api/v1/clients/{acme.client()['id']}"


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (_group, "name"),
        (_group, "description"),
        (_rank, "name"),
        (_rank, "sort_order"),
        (_team, "name"),
        (_team, "description"),
        (_client, "name"),
        (_client, "email"),
        (_client, "language"),
    ],
)
def test_null_for_a_field_that_cannot_be_empty_is_refused_naming_it(crm, make, field):
    acme = crm.tenant("acme")
    path = make(acme)
    before = expect(acme.admin.get(path), 200)
    response = acme.admin.patch(path, json={field: None})
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]
    assert acme.admin.get(path).json() == before


def test_the_schema_offers_null_only_for_clearable_fields(crm):
    schemas = crm.app.openapi()["components"]["schemas"]
    client = schemas["ClientUpdate"]["properties"]
    assert {"type": "null"} in client["phone"]["anyOf"]
    assert "anyOf" not in client["name"]
    assert "anyOf" not in schemas["ClientGroupUpdate"]["properties"]["description"]
