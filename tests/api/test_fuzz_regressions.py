"""Requests the fuzzer (``test_fuzz.py``) found answering 500 before the bounds of issue 8, kept as
regression tests: each must now be a 4xx naming what is wrong, and write nothing.

Most were found by running the fuzz test against the code as it was (commit 4a30770) on SQLite and
PostgreSQL: every one is an id one past the largest 64-bit integer, which the database could not
compare (``bigint out of range`` on PostgreSQL, ``Python int too large to convert to SQLite INTEGER``
on SQLite).
"""

from __future__ import annotations

import pytest

from core.testing import expect

BEYOND = 2**63  # one past the largest id any table can hold

# (method, path, JSON body, expected status, field named) — a path id answers 404, an id in a body
# or a query 422 naming it.
SEEDS = [
    ("PATCH", f"/api/v1/ranks/{BEYOND}", {}, 404, None),
    ("PATCH", "/api/v1/ranks/{rank}/tiers/" + str(BEYOND), {"name": "0"}, 404, None),
    ("DELETE", "/api/v1/ranks/{rank}/tiers/" + str(BEYOND), None, 404, None),
    ("PATCH", f"/api/v1/deposits/{BEYOND}", {}, 404, None),
    ("POST", f"/api/v1/deposits/{BEYOND}/approve", None, 404, None),
    ("POST", f"/api/v1/deposits/{BEYOND}/reject", None, 404, None),
    ("POST", f"/api/v1/kyc-documents/{BEYOND}/verify", None, 404, None),
    ("POST", f"/api/v1/kyc-documents/{BEYOND}/reject", None, 404, None),
    ("POST", f"/api/v1/prop/orders/{BEYOND}/paid", None, 404, None),
    ("POST", f"/api/v1/prop/orders/{BEYOND}/failed", None, 404, None),
    ("POST", f"/api/v1/prop/orders/{BEYOND}/cancel", None, 404, None),
    ("POST", "/api/v1/api-keys", {"name": "0", "role_id": BEYOND}, 422, "role_id"),
    (
        "POST",
        "/api/v1/popups",
        {"body": "0", "recipients": {"client_ids": [BEYOND]}, "title": "0"},
        422,
        "recipients.client_ids.0",
    ),
    ("GET", f"/api/v1/operation-log?action=&actor_id={BEYOND}", None, 422, "actor_id"),
    ("GET", f"/api/v1/operation-log/export?action=&actor_id={BEYOND}", None, 422, "actor_id"),
    ("POST", "/api/v1/plugins/tier_upgrade/records/upgrade", {"record_ids": [BEYOND]}, 422, "record_ids.0"),
    ("POST", "/api/v1/plugins/tier_upgrade/records/reject", {"record_ids": [BEYOND]}, 422, "record_ids.0"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"), SEEDS, ids=[f"{s[0]} {s[1]}" for s in SEEDS]
)
def test_a_request_the_fuzzer_once_broke_is_refused_cleanly(crm, method, path, body, status, field):
    acme = crm.tenant("acme")
    acme.install("tier_upgrade")
    rank = expect(acme.admin.post("/api/v1/ranks", json={"name": "R", "tiers": [{"name": "T"}]}), 201)
    before = crm.snapshot()
    kwargs = {"json": body} if body is not None else {}
    response = acme.admin.request(method, path.format(rank=rank["id"]), **kwargs)
    assert response.status_code == status, response.text
    if field is not None:
        assert field in [f["field"] for f in response.json()["error"]["fields"]], response.text
    assert crm.snapshot() == before


def test_a_time_before_the_first_representable_instant_is_refused(crm):
    # Found by the fuzzer with its negative-data check on: UTC of 0001-01-01T00:00+00:01 is in year 0.
    acme = crm.tenant("acme")
    operator = crm.operator()
    before = crm.snapshot()
    response = operator.post(
        f"/api/v1/platform/tenants/{acme.id}/marketplace/coupons/licence",
        json={"expires_at": "0001-01-01T00:00:00+00:01"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"][0]["field"] == "expires_at"
    assert crm.snapshot() == before
