"""Client metrics: core's own answer for many clients at once, and a plugin's are checked on load."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from core.contract import ClientMetric
from core.crm.metrics import available_metrics
from core.db.base import utcnow
from core.plugins.host import PluginRejected, check_metrics
from core.sdk import MetricQuery
from core.testing import expect


def _measure(acme, name: str, client_ids=None, **query) -> dict[int, object]:
    with acme.ctx() as ctx:
        metric = available_metrics(ctx)[name]
        rows = metric.measure(ctx, MetricQuery(client_ids=client_ids, now=utcnow(), **query))
        values: dict[int, object] = {}
        for client_id, value in rows:
            if metric.kind == "set":
                values.setdefault(client_id, set()).add(value)  # type: ignore[union-attr]
            else:
                values[client_id] = value
        return values


def _deposit(acme, client_id: int, amount: str, currency: str = "USD") -> dict:
    deposit = expect(
        acme.admin.post(
            "/api/v1/deposits", json={"client_id": client_id, "amount": amount, "currency": currency}
        ),
        201,
    )
    if deposit["status"] != "approved":
        deposit = expect(acme.admin.post(f"/api/v1/deposits/{deposit['id']}/approve"), 200)
    return deposit


def test_deposit_metrics_add_up_per_client_and_currency(crm):
    acme = crm.tenant("acme", currencies=("USD", "EUR"))
    rich, poor, idle = acme.client(), acme.client(), acme.client()
    _deposit(acme, rich["id"], "1000.50")
    _deposit(acme, rich["id"], "99.50")
    _deposit(acme, rich["id"], "70", "EUR")
    _deposit(acme, poor["id"], "5")
    usd = _measure(acme, "deposits_sum", currency="USD")
    assert usd == {rich["id"]: Decimal("1100.00"), poor["id"]: Decimal("5")}
    assert _measure(acme, "deposits_count") == {rich["id"]: 3, poor["id"]: 1}
    # Asked about some clients only, the others are not measured; the idle one is at the default.
    assert _measure(acme, "deposits_count", client_ids=[poor["id"], idle["id"]]) == {poor["id"]: 1}
    # A window that ends before the deposits were approved counts none of them.
    with acme.ctx() as ctx:
        metric = available_metrics(ctx)["deposits_count"]
        past = MetricQuery(client_ids=None, now=utcnow() - timedelta(days=2), window_days=1)
        assert list(metric.measure(ctx, past)) == []


def test_kyc_accounts_and_referral_metrics(crm):
    acme = crm.tenant("acme")
    ib = acme.client(client_type="ib", country="DE")
    direct = acme.client(referrer_id=ib["id"])
    acme.client(referrer_id=direct["id"])
    portal = acme.portal(direct["id"])
    passport = expect(
        portal.post("/api/v1/portal/kyc-documents", json={"doc_type": "passport", "file_name": "p.pdf"}), 201
    )
    expect(acme.admin.post(f"/api/v1/kyc-documents/{passport['id']}/verify"), 200)
    expect(
        acme.admin.post(
            "/api/v1/trading-accounts",
            json={
                "client_id": direct["id"],
                "platform": "mt5",
                "login": "5001",
                "account_type": "ECN",
                "currency": "USD",
            },
        ),
        201,
    )
    assert _measure(acme, "kyc_documents_verified") == {direct["id"]: {"passport"}}
    assert _measure(acme, "trading_account_types") == {direct["id"]: {"ECN"}}
    assert _measure(acme, "client_type")[ib["id"]] == "ib"
    assert _measure(acme, "country")[ib["id"]] == "DE"
    assert _measure(acme, "direct_downlines") == {ib["id"]: 1, direct["id"]: 1}
    # Every level: the walk over the whole tree and the recursive query for a few agree.
    assert _measure(acme, "all_downlines") == {ib["id"]: 2, direct["id"]: 1}
    assert _measure(acme, "all_downlines", client_ids=[ib["id"]]) == {ib["id"]: 2}


def test_metrics_are_the_tenants_own(crm):
    acme, other = crm.tenant("acme"), crm.tenant("other")
    theirs = other.client()
    _deposit(other, theirs["id"], "10")
    assert _measure(acme, "deposits_count") == {}
    assert _measure(acme, "days_registered") == {}


def _metric(**fields) -> ClientMetric:
    base = {"name": "loyalty.points", "label": "Points", "kind": "number", "measure": lambda ctx, q: []}
    return ClientMetric(**{**base, **fields})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "points"}, "must be named 'loyalty.<metric>'"),
        ({"name": "other.points"}, "must be named 'loyalty.<metric>'"),
        ({"kind": "weight"}, "has kind"),
        ({"kind": "amount"}, "an amount is per currency"),
        ({"per_currency": True}, "only an amount is per currency"),
        ({"kind": "choice"}, "lists its choices"),
        ({"label": " "}, "needs a label"),
        ({"measure": None}, "no measure function"),
    ],
)
def test_a_plugins_metric_is_checked_when_it_loads(fields, message):
    with pytest.raises(PluginRejected, match=message):
        check_metrics([_metric(**fields)], "loyalty")


def test_a_plugin_may_not_offer_one_metric_twice():
    with pytest.raises(PluginRejected, match="offered twice"):
        check_metrics([_metric(), _metric()], "loyalty")
    assert [m.name for m in check_metrics([_metric()], "loyalty")] == ["loyalty.points"]
