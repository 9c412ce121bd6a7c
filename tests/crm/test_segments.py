"""Client segments (contract 1.5): offered by modules, listed and resolved by core within the
user's data permissions, and targeted by other modules (the coupons' distribution) by key.

The test plugin ``fixture_segments`` offers ``ibs`` (every IB) and ``greek`` (clients in Greece)."""

from __future__ import annotations

from typing import Any

from core.crm.segments import list_segments, segment_query
from core.errors import InvalidInput
from core.testing import expect

COUPONS = "/api/v1/plugins/coupons"
IBS, GREEK = "fixture_segments:ibs", "fixture_segments:greek"
M = "/api/v1/marketplace"


def _broker(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_segments")
    acme.install("coupons")
    return acme


def _distribute(session, coupon_id: int, **audience: Any):
    body = {"popup_title": "A gift", "popup_text": "For you", "design_id": "gold", **audience}
    return session.post(f"{COUPONS}/coupons/{coupon_id}/distribute", json=body)


def _coupon(tenant) -> dict[str, Any]:
    body = {
        "name": "Gift",
        "discount_method": "percentage",
        "discount_value": "10",
        "distribution_method": "manual",
    }
    return expect(tenant.admin.post(f"{COUPONS}/coupons", json=body), 201)


def _field(response) -> list[str]:
    return [f["field"] for f in response.json()["error"]["fields"]]


def test_segments_are_listed_from_the_enabled_modules(pk):
    acme = pk.tenant("acme")
    assert expect(acme.admin.get("/api/v1/segments"), 200) == []
    acme.install("fixture_segments")
    assert expect(acme.admin.get("/api/v1/segments"), 200) == [
        {"key": GREEK, "plugin": "fixture_segments", "label": "Clients in Greece", "description": ""},
        {"key": IBS, "plugin": "fixture_segments", "label": "Introducing brokers", "description": "Every IB"},
    ]
    assert acme.user(["deposits.read"]).get("/api/v1/segments").status_code == 403
    expect(acme.admin.post(f"{M}/fixture_segments/disable"), 200)
    assert expect(acme.admin.get("/api/v1/segments"), 200) == []


def test_a_segment_resolves_to_its_members_of_this_tenant(pk):
    acme = _broker(pk)
    ib, greek_ib = acme.client(client_type="ib"), acme.client(client_type="ib", country="GR")
    acme.client(client_type="trader")
    other = pk.tenant("other")
    other.install("fixture_segments")
    other.client(client_type="ib")
    with acme.ctx() as ctx:
        assert [s["key"] for s in list_segments(ctx)] == [GREEK, IBS]
        assert sorted(ctx.session.scalars(segment_query(ctx, IBS))) == [ib["id"], greek_ib["id"]]
        assert list(ctx.session.scalars(segment_query(ctx, GREEK))) == [greek_ib["id"]]
        for key in ("fixture_segments:nobody", "fixture_ticker:ibs", "nope", "a:b:c", ""):
            try:
                segment_query(ctx, key, field="audience.segments")
            except InvalidInput as error:
                assert error.fields[0].field == "audience.segments", key
            else:
                raise AssertionError(f"{key!r} resolved")


def test_coupons_distributed_to_a_segment_reach_exactly_its_members(pk):
    acme = _broker(pk)
    ibs = [acme.client(client_type="ib")["id"] for _ in range(3)]
    named = acme.client(country="FR")["id"]
    acme.client(country="FR")  # neither named nor an IB
    coupon = _coupon(acme)
    sent = expect(_distribute(acme.admin, coupon["id"], client_ids=[named, ibs[0]], segments=[IBS]), 200)
    assert sent["recipients"] == 4  # the segment's three and the one named besides, each once
    holders = expect(acme.admin.get(f"{COUPONS}/coupons/{coupon['id']}/clients"), 200)["items"]
    assert sorted(h["client_id"] for h in holders) == sorted([*ibs, named])


def test_a_segment_is_narrowed_to_the_clients_the_user_may_see(pk):
    acme = _broker(pk)
    agent = acme.user(["coupons.read", "coupons.update", "clients.read"], scope="own")
    mine = acme.client(client_type="ib", assigned_user_id=agent.user_id)["id"]
    acme.client(client_type="ib")  # not the agent's
    coupon = _coupon(acme)
    sent = expect(_distribute(agent, coupon["id"], segments=[IBS]), 200)
    assert sent["recipients"] == 1
    holders = expect(acme.admin.get(f"{COUPONS}/coupons/{coupon['id']}/clients"), 200)["items"]
    assert [h["client_id"] for h in holders] == [mine]


def test_a_bad_segment_is_a_422_naming_the_field_and_changes_nothing(pk):
    acme = _broker(pk)
    acme.client(client_type="ib")
    coupon = _coupon(acme)
    before = pk.snapshot()
    for segments in (
        ["fixture_segments:nobody"],  # the module offers no such segment
        ["coupons:ibs"],  # a module that offers none
        ["fixture_ticker:ibs"],  # a module not installed
        ["nope"],  # not a key
        [IBS, IBS],  # twice
        [f"fixture_segments:{'x' * 100}"],  # too long
        [f"s{n}:k" for n in range(21)],  # too many
    ):
        refused = _distribute(acme.admin, coupon["id"], segments=segments)
        assert refused.status_code == 422, segments
        assert all(f.startswith("segments") for f in _field(refused)), (segments, _field(refused))
    assert pk.snapshot() == before
    # A segment that has no member the user may see sends nothing, and says where.
    refused = _distribute(acme.admin, coupon["id"], segments=[GREEK])
    assert refused.status_code == 422 and _field(refused) == ["segments"]


def test_a_failing_segment_module_refuses_the_distribution_and_is_recorded(pk):
    import pytest

    acme = _broker(pk)
    acme.client(client_type="ib")
    expect(acme.admin.put(f"{M}/fixture_segments/settings", json={"values": {"fail_segments": True}}), 200)
    coupon = _coupon(acme)
    before = pk.snapshot()
    refused = _distribute(acme.admin, coupon["id"], segments=[IBS])
    assert refused.status_code == 422 and _field(refused) == ["segments"]
    # A refused request writes nothing (its failure record neither) …
    assert pk.snapshot() == before
    # … while a unit of work that goes on keeps the failure for the plugin-health view.
    with acme.ctx() as ctx, pytest.raises(InvalidInput):
        segment_query(ctx, IBS)
    failures = expect(acme.admin.get(f"{M}/failures"), 200)["items"]
    assert [(f["plugin"], f["hook"]) for f in failures] == [("fixture_segments", "crm_segment_members")]


def test_the_distribute_dialog_offers_the_segments_and_sends_to_the_ones_ticked(pk):
    root = "/backoffice/plugins/coupons"
    acme = pk.tenant("acme")
    acme.install("coupons")
    coupon = _coupon(acme)
    pages = acme.pages()
    dialog = pages.get(f"{root}/coupons/{coupon['id']}/distribute").text
    assert 'name="segments"' not in dialog  # no module offers any: no such fieldset
    acme.install("fixture_segments")
    ib = acme.client(client_type="ib")["id"]
    dialog = pages.get(f"{root}/coupons/{coupon['id']}/distribute").text
    assert f'name="segments" value="{IBS}"' in dialog and "Introducing brokers" in dialog
    assert f'name="segments" value="{GREEK}"' in dialog
    form = {"popup_title": "A gift", "popup_text": "For you", "design_id": "gold"}
    refused = pages.post(f"{root}/coupons/{coupon['id']}/distribute", {**form, "segments": GREEK})
    assert refused.status_code == 422 and 'href="#f-segments"' in refused.text
    assert f'value="{GREEK}" checked' in refused.text  # the choice is shown again beside its error
    sent = pages.post(f"{root}/coupons/{coupon['id']}/distribute", {**form, "segments": IBS})
    assert sent.status_code in (200, 303)
    holders = expect(acme.admin.get(f"{COUPONS}/coupons/{coupon['id']}/clients"), 200)["items"]
    assert [h["client_id"] for h in holders] == [ib]
