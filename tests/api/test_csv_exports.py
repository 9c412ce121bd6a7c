"""Every CSV export writes times one way: datetimes ISO 8601 in UTC to the second, dates ISO."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, datetime, timedelta

from core.api.csv import DATE_FORMAT, DATETIME_FORMAT
from core.testing import expect
from plugins.tier_upgrade.tests.support import API as TIERS
from plugins.tier_upgrade.tests.support import Broker

COUPONS = "/api/v1/plugins/coupons"
LOOKS_LIKE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _a_broker_with_a_bit_of_everything(crm):
    broker = Broker(crm)
    broker.tenant.install("coupons")
    admin = broker.admin
    ib = broker.ranked(client_type="ib", name="IB")
    first, second = broker.client(ib, name="First"), broker.client(ib, name="Second")
    for client in (first, second):
        broker.deposit(client, "300")
    rule = broker.rule()
    broker.settle(rule["id"])  # the IB qualifies for Silver: a record with a date and a time
    account = {"client_id": ib["id"], "platform": "mt5", "login": "700", "account_type": "Standard"}
    expect(admin.post("/api/v1/trading-accounts", json={**account, "currency": "USD"}), 201)
    pending = {"client_id": first["id"], "amount": "20", "currency": "USD"}
    decided = expect(admin.post("/api/v1/deposits", json=pending), 201)
    expect(admin.post(f"/api/v1/deposits/{decided['id']}/approve"), 200)
    challenge = expect(
        admin.post("/api/v1/prop/challenges", json={"name": "Pro", "fee": "100", "currency": "USD"}), 201
    )
    coupon = expect(
        admin.post(
            f"{COUPONS}/coupons",
            json={
                "name": "Ten",
                "discount_method": "percentage",
                "discount_value": "10",
                "distribution_method": "manual",
                "allow_with_promo_codes": True,
            },
        ),
        201,
    )
    gift = {"client_ids": [first["id"]], "popup_title": "t", "popup_text": "t", "design_id": "gold"}
    expect(admin.post(f"{COUPONS}/coupons/{coupon['id']}/distribute", json=gift), 200)
    promo = expect(
        admin.post(
            f"{COUPONS}/promo-codes",
            json={"code": "FIVE", "name": "Five", "discount_method": "percentage", "discount_value": "5"}
            | {"allow_with_coupons": True},
        ),
        201,
    )
    portal = broker.tenant.portal(first["id"])
    order = expect(
        portal.post(
            "/api/v1/portal/prop/orders",
            json={
                "challenge_id": challenge["id"],
                "options": {"coupon_id": coupon["id"], "promo_code": "FIVE"},
            },
        ),
        201,
    )
    expect(admin.post(f"/api/v1/prop/orders/{order['id']}/paid"), 200)
    return broker, coupon, promo


def test_every_export_writes_times_in_one_format(crm):
    broker, coupon, promo = _a_broker_with_a_bit_of_everything(crm)
    # Each export, and the time columns it must fill.
    exports = {
        "/api/v1/clients/export": {"created_at"},
        "/api/v1/deposits/export": {"created_at", "decided_at"},
        "/api/v1/trading-accounts/export": {"created_at"},
        "/api/v1/prop/orders/export": {"created_at", "status_changed_at"},
        "/api/v1/operation-log/export": {"at"},
        "/api/v1/login-log/export": {"at"},
        f"{COUPONS}/coupons/{coupon['id']}/clients/export": {"granted_at"},
        f"{COUPONS}/promo-codes/{promo['id']}/clients/export": set(),
        f"{TIERS}/records/export?method=manual": {"settlement_date", "settlement_at"},
    }
    for url, required in exports.items():
        response = broker.admin.get(url)
        assert response.status_code == 200, (url, response.text)
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert rows, url
        filled: set[str] = set()
        for row in rows:
            for column, cell in row.items():
                if not LOOKS_LIKE_TIME.match(cell or ""):
                    continue
                form = DATE_FORMAT if len(cell) == 10 else DATETIME_FORMAT
                parsed = datetime.strptime(cell, form)  # raises unless it is exactly that format
                assert parsed.strftime(form) == cell, (url, column, cell)
                filled.add(column)
        assert required <= filled, (url, required - filled)
    record = next(csv.DictReader(io.StringIO(broker.admin.get(f"{TIERS}/records/export?method=manual").text)))
    assert len(record["settlement_date"]) == 10 and record["settlement_at"].endswith("Z")


def test_a_time_in_a_file_name_is_utc(crm, monkeypatch):
    acme = crm.tenant("acme")
    acme.client()
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # a server whose local time is not UTC
    time.tzset()
    try:
        response = acme.admin.get("/api/v1/clients/export")
    finally:
        monkeypatch.undo()
        time.tzset()
    name = re.fullmatch(
        r'attachment; filename="clients-(\d{8}T\d{6}Z)\.csv"', response.headers["content-disposition"]
    )
    assert name is not None, response.headers["content-disposition"]
    stamp = datetime.strptime(name.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=1)
