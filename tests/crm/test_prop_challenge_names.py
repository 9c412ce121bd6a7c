"""Prop challenge names are unique per broker, ignoring case, as group, rank and role names are."""

from __future__ import annotations

from core.testing import expect

CHALLENGES = "/api/v1/prop/challenges"


def _create(acme, name: str):
    return acme.admin.post(CHALLENGES, json={"name": name, "fee": "100", "currency": "USD"})


def test_challenge_names_are_unique_per_broker_ignoring_case(crm):
    acme = crm.tenant("acme")
    pro = expect(_create(acme, "Pro 100k"), 201)
    starter = expect(_create(acme, "Starter"), 201)
    before = crm.snapshot()
    taken = _create(acme, "PRO 100K")
    assert taken.status_code == 409 and taken.json()["error"]["fields"][0]["field"] == "name"
    renamed = acme.admin.patch(f"{CHALLENGES}/{starter['id']}", json={"name": "pro 100k"})
    assert renamed.status_code == 409 and renamed.json()["error"]["fields"][0]["field"] == "name"
    assert crm.snapshot() == before
    assert expect(acme.admin.get(f"{CHALLENGES}/{starter['id']}"), 200)["name"] == "Starter"
    # Its own name in another case, an edit that keeps the name, and another broker are all fine.
    expect(acme.admin.patch(f"{CHALLENGES}/{pro['id']}", json={"name": "PRO 100k"}), 200)
    expect(acme.admin.patch(f"{CHALLENGES}/{pro['id']}", json={"name": "PRO 100k", "fee": "120"}), 200)
    expect(_create(crm.tenant("globex"), "Pro 100k"), 201)
