"""A base currency that something still uses cannot be removed: core's records and the modules'
(through the ``crm_currency_in_use`` hook) are named in the refusal."""

from __future__ import annotations

from core.testing import expect

COUPONS, TIERS = "/api/v1/plugins/coupons", "/api/v1/plugins/tier_upgrade"


def _currencies(acme, currencies: list[str]):
    return acme.admin.patch("/api/v1/tenant", json={"base_currencies": currencies})


def _euro_broker(crm):
    """A broker whose records use EUR in every way that counts, and in some that do not."""
    acme = crm.tenant("acme", currencies=("USD", "EUR", "GBP"))
    acme.install("coupons")
    acme.install("tier_upgrade")
    admin = acme.admin
    uses: dict[str, tuple[str, str]] = {}  # what uses EUR: the phrase, and the URL that ends the use

    def post(url: str, body: dict) -> dict:
        return expect(admin.post(url, json=body), 201)

    pro = post("/api/v1/prop/challenges", {"name": "Euro Pro", "fee": "100", "currency": "EUR"})
    uses["challenge"] = ("prop challenge 'Euro Pro' (fee in EUR)", f"/api/v1/prop/challenges/{pro['id']}")
    post("/api/v1/prop/challenges", {"name": "Old Euro", "fee": "100", "currency": "EUR", "active": False})
    client = acme.client()
    pending = post("/api/v1/deposits", {"client_id": client["id"], "amount": "50", "currency": "EUR"})
    uses["deposit"] = ("1 pending deposit in EUR", f"/api/v1/deposits/{pending['id']}/reject")
    approved = post("/api/v1/deposits", {"client_id": client["id"], "amount": "70", "currency": "EUR"})
    expect(admin.post(f"/api/v1/deposits/{approved['id']}/approve"), 200)  # decided: not a use
    percentage = {"discount_method": "percentage", "discount_value": "5", "distribution_method": "manual"}
    fixed = post(
        f"{COUPONS}/coupons",
        {**percentage, "name": "Euro 10", "discount_method": "fixed_amount", "discount_value": "10"}
        | {"discount_currency": "EUR"},
    )
    uses["coupon"] = ("coupon 'Euro 10' (discount in EUR)", f"{COUPONS}/coupons/{fixed['id']}")
    floor = post(
        f"{COUPONS}/coupons",
        {**percentage, "name": "Big fees", "minimum_fee": "500", "minimum_fee_currency": "EUR"},
    )
    uses["floor"] = ("coupon 'Big fees' (minimum fee in EUR)", f"{COUPONS}/coupons/{floor['id']}")
    revoked = post(
        f"{COUPONS}/coupons",
        {**percentage, "name": "Gone", "minimum_fee": "1", "minimum_fee_currency": "EUR"},
    )
    distribute = {"client_ids": [client["id"]], "popup_title": "t", "popup_text": "t", "design_id": "gold"}
    expect(admin.post(f"{COUPONS}/coupons/{revoked['id']}/distribute", json=distribute), 200)
    expect(admin.post(f"{COUPONS}/coupons/{revoked['id']}/revoke"), 200)  # revoked: not a use
    promo = post(
        f"{COUPONS}/promo-codes",
        {"code": "EURO5", "name": "Euro 5", "discount_method": "fixed_amount", "discount_value": "5"}
        | {"discount_currency": "EUR", "enabled": False},  # disabled, but it can be enabled again
    )
    uses["promo"] = ("promo code 'EURO5' (discount in EUR)", f"{COUPONS}/promo-codes/{promo['id']}")
    rank = post("/api/v1/ranks", {"name": "IB Rank", "tiers": [{"name": "Bronze"}, {"name": "Silver"}]})
    bronze, silver = (t["id"] for t in rank["tiers"])
    rule = post(
        f"{TIERS}/rules",
        {
            "name": "Gold IB",
            "method": "manual",
            "target": "ibs",
            "rank_id": rank["id"],
            "currency_relation": "or",
            "timezone": "UTC",
            "settlement_time": "18:00",
            "tiers": [
                {"tier_id": bronze, "currencies": {"USD": {"downline_total": "100"}}},
                {"tier_id": silver, "currencies": {"EUR": {"downline_total": "900"}}},
            ],
        },
    )
    uses["rule"] = ("tier upgrade rule 'Gold IB' (tier Silver)", f"{TIERS}/rules/{rule['id']}")
    return acme, uses, bronze


def test_a_base_currency_in_use_cannot_be_removed_until_nothing_uses_it(crm):
    acme, uses, bronze = _euro_broker(crm)
    before = crm.snapshot()
    refused = _currencies(acme, ["USD", "GBP"])
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "conflict" and error["message"].startswith("EUR cannot be removed")
    phrases = [f["message"] for f in error["fields"] if f["field"] == "base_currencies"]
    assert sorted(phrases) == sorted(phrase for phrase, _ in uses.values())
    assert all(phrase in error["message"] for phrase in phrases)
    assert crm.snapshot() == before
    assert expect(acme.admin.get("/api/v1/tenant"), 200)["base_currencies"] == ["USD", "EUR", "GBP"]
    # A currency nothing uses goes at once.
    assert expect(_currencies(acme, ["USD", "EUR"]), 200)["base_currencies"] == ["USD", "EUR"]
    # End each use in turn: EUR stays until the last one is gone.
    admin = acme.admin
    endings = {
        "challenge": lambda url: admin.patch(url, json={"active": False}),
        "deposit": lambda url: admin.post(url),
        "coupon": admin.delete,
        "floor": admin.delete,
        "promo": admin.delete,
        "rule": lambda url: admin.patch(
            url, json={"tiers": [{"tier_id": bronze, "currencies": {"USD": {"downline_total": "100"}}}]}
        ),
    }
    left = dict(uses)
    for name, (phrase, url) in uses.items():
        still = _currencies(acme, ["USD"])
        assert still.status_code == 409
        assert sorted(f["message"] for f in still.json()["error"]["fields"]) == sorted(
            p for p, _ in left.values()
        )
        assert endings[name](url).status_code in (200, 204), phrase
        del left[name]
    assert expect(_currencies(acme, ["USD"]), 200)["base_currencies"] == ["USD"]


def test_a_module_that_cannot_answer_refuses_the_removal(crm, monkeypatch):
    acme = crm.tenant("acme", currencies=("USD", "EUR"))
    acme.install("coupons")

    def broken(ctx, currency):
        raise RuntimeError("the coupons tables are unreachable")

    monkeypatch.setattr("plugins.coupons.service.currency_uses", broken)
    refused = _currencies(acme, ["USD"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (503, "module_failed")
    assert expect(acme.admin.get("/api/v1/tenant"), 200)["base_currencies"] == ["USD", "EUR"]
