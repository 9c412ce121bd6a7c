"""Walk every route of the OpenAPI schema: tenant A never reaches tenant B's records.

* every operation that names a record by id answers 404 to A's administrator for B's ids;
* every list A reads leaves B's records out;
* no create or update of A's can point at B's records (checked for every ``*_id``/``*_ids``
  field any request body has);
* a client-portal token opens no back-office route, and A's client reaches none of B's records.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest

from core.failures.models import PluginFailure
from core.scheduler.worker import Worker
from core.testing import expect

API = "/api/v1"


def _build(tenant, crm) -> SimpleNamespace:
    """One record of every kind, made through the API."""
    admin = tenant.admin
    r = SimpleNamespace(tenant_id=tenant.id, plugin="any")
    # Every record carries the tenant's slug somewhere, so a leak shows up in any response text.
    r.team_id = expect(admin.post(f"{API}/teams", json={"name": f"{tenant.slug} desk"}), 201)["id"]
    r.role_id = expect(
        admin.post(f"{API}/roles", json={"name": "Reader", "permissions": ["clients.read"]}), 201
    )["id"]
    r.user_id = expect(
        admin.post(
            f"{API}/users",
            json={
                "email": f"staff@{tenant.slug}.example.com",
                "name": "Staff",
                "password": "Str0ng-Passw0rd",
                "role_ids": [r.role_id],
                "team_id": r.team_id,
            },
        ),
        201,
    )["id"]
    r.key_id = expect(admin.post(f"{API}/api-keys", json={"name": "k", "role_id": r.role_id}), 201)["id"]
    r.group_id = expect(admin.post(f"{API}/client-groups", json={"name": "VIP"}), 201)["id"]
    rank = expect(
        admin.post(f"{API}/ranks", json={"name": "IB", "tiers": [{"name": "Bronze"}, {"name": "Gold"}]}), 201
    )
    r.rank_id, r.tier_id = rank["id"], rank["tiers"][0]["id"]
    r.client_id = tenant.client(name=f"{tenant.slug} client", group_id=r.group_id, rank_id=r.rank_id)["id"]
    r.deposit_id = expect(
        admin.post(f"{API}/deposits", json={"client_id": r.client_id, "amount": "10", "currency": "USD"}), 201
    )["id"]
    r.account_id = expect(
        admin.post(
            f"{API}/trading-accounts",
            json={
                "client_id": r.client_id,
                "platform": "mt5",
                "login": f"9{tenant.id}",
                "account_type": "Std",
                "currency": "USD",
            },
        ),
        201,
    )["id"]
    r.document_id = expect(
        admin.post(
            f"{API}/kyc-documents",
            json={"client_id": r.client_id, "doc_type": "passport", "file_name": "p.pdf"},
        ),
        201,
    )["id"]
    r.link_id = expect(
        admin.post(f"{API}/promotion-links", json={"name": "L", "referrer_id": r.client_id}), 201
    )["id"]
    r.challenge_id = expect(
        admin.post(f"{API}/prop/challenges", json={"name": "C", "fee": "10", "currency": "USD"}), 201
    )["id"]
    r.portal = tenant.portal(r.client_id)
    r.order_id = expect(
        r.portal.post(f"{API}/portal/prop/orders", json={"challenge_id": r.challenge_id}), 201
    )["id"]
    expect(
        admin.post(
            f"{API}/popups", json={"recipients": {"client_ids": [r.client_id]}, "title": "T", "body": "B"}
        ),
        201,
    )
    r.popup_id = expect(r.portal.get(f"{API}/portal/popups"), 200)["items"][0]["id"]
    expect(
        admin.post(
            f"{API}/emails",
            json={"recipients": {"client_ids": [r.client_id]}, "subject": "S", "body_text": "B"},
        ),
        201,
    )
    r.email_id = expect(admin.get(f"{API}/emails"), 200)["items"][0]["id"]
    tenant.install("coupons")
    terms = {"discount_method": "percentage", "discount_value": "10"}
    coupon = {**terms, "distribution_method": "manual"}
    r.coupon_id = expect(
        admin.post(f"{API}/plugins/coupons/coupons", json={**coupon, "name": f"{tenant.slug} welcome"}), 201
    )["id"]
    expect(
        admin.post(
            f"{API}/plugins/coupons/coupons/{r.coupon_id}/distribute",
            json={"client_ids": [r.client_id], "popup_title": "T", "popup_text": "B", "design_id": "classic"},
        ),
        200,
    )
    r.draft_coupon_id = expect(
        admin.post(f"{API}/plugins/coupons/coupons", json={**coupon, "name": f"{tenant.slug} draft"}), 201
    )["id"]
    r.promo_id = expect(
        admin.post(
            f"{API}/plugins/coupons/promo-codes",
            json={"code": f"{tenant.slug}10", "name": f"{tenant.slug} code", **terms},
        ),
        201,
    )["id"]
    tenant.install("tier_upgrade")
    r.rule_id = expect(
        admin.post(
            f"{API}/plugins/tier_upgrade/rules",
            json={
                "name": f"{tenant.slug} rule",
                "method": "auto",
                "target": "both",
                "rank_id": r.rank_id,
                "timezone": "UTC",
                "settlement_time": "18:00",
                "tiers": [
                    {"tier_id": rank["tiers"][1]["id"], "currencies": {"USD": {"downline_total": "0"}}}
                ],
            },
        ),
        201,
    )["id"]
    Worker(crm.runtime).run_now(tenant.slug, "tier_upgrade.settlement", key=str(r.rule_id))
    records = expect(admin.get(f"{API}/plugins/tier_upgrade/records"), 200)  # the auto report
    r.record_id = records["items"][0]["id"]
    tenant.install("status_system")
    r.status_id = expect(
        admin.post(f"{API}/plugins/status_system/statuses", json={"name": f"{tenant.slug} status"}), 201
    )["id"]
    tenant.install("leads")
    leads = f"{API}/plugins/leads"
    r.tag_id = expect(admin.post(f"{leads}/tags", json={"name": f"{tenant.slug} tag"}), 201)["id"]
    r.lead_id = expect(
        admin.post(
            f"{leads}/leads",
            json={
                "name": f"{tenant.slug} lead",
                "email": f"lead@{tenant.slug}.example.com",
                "tag_ids": [r.tag_id],
            },
        ),
        201,
    )["id"]
    expect(admin.post(f"{leads}/leads/{r.lead_id}/activities", json={"text": f"{tenant.slug} call"}), 201)
    with tenant.ctx() as ctx:  # a module's recorded failure, as the event dispatcher writes it
        failure = PluginFailure(
            plugin="any", hook="crm_deposit_approved", payload={}, error=f"{tenant.slug} boom"
        )
        ctx.session.add(failure)
        ctx.session.flush()
        r.failure_id = failure.id
    return r


@pytest.fixture
def world(crm):
    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    return SimpleNamespace(
        crm=crm,
        a=_build(acme, crm),
        b=_build(globex, crm),
        acme=acme,
        globex=globex,
        schema=crm.app.openapi(),
    )


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    for key in ("anyOf", "oneOf"):
        if key in node:
            options = [o for o in node[key] if o.get("type") != "null"]
            return _resolve(schema, options[0])
    return node


def _example(schema: dict[str, Any], node: dict[str, Any]) -> Any:
    """A minimal valid value for a JSON Schema (required properties only)."""
    node = _resolve(schema, node)
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object":
        return {name: _example(schema, node["properties"][name]) for name in node.get("required", [])}
    if kind == "array":
        return [] if not node.get("minItems") else [_example(schema, node["items"])]
    if kind == "integer":
        return 1
    if kind == "number":
        return "1"
    if kind == "boolean":
        return False
    return "Valid-Value-9"


def _operations(schema: dict[str, Any]):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method.upper(), operation


def _body(schema: dict[str, Any], operation: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    return _example(schema, content["schema"])


def _fill(path: str, ids: SimpleNamespace) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        assert hasattr(ids, name), (
            f"{path}: no record of tenant B for path parameter {name!r}: add one to _build"
        )
        return str(getattr(ids, name))

    return re.sub(r"\{(\w+)\}", one, path)


def _kind(path: str) -> str:
    if path.startswith(f"{API}/portal/"):
        return "portal"
    if path.startswith(f"{API}/platform/"):
        return "platform"
    return "back office"


def test_every_operation_naming_a_record_of_another_tenant_is_404(world):
    schema, crm = world.schema, world.crm
    checked = 0
    for path, method, operation in _operations(schema):
        if "{" not in path or _kind(path) == "platform" or operation["x-required-permission"] == "public":
            continue
        if any(not name.endswith("_id") for name in re.findall(r"\{(\w+)\}", path)):
            continue  # {plugin} names a module of the global catalog; the route acts on the caller's tenant
        session = world.a.portal if _kind(path) == "portal" else world.acme.admin
        before = crm.snapshot()
        response = session.request(method, _fill(path, world.b), json=_body(schema, operation))
        assert response.status_code == 404, f"{method} {path}: {response.status_code} {response.text}"
        assert crm.snapshot() == before, f"{method} {path} wrote something"
        checked += 1
    assert checked >= 30


# Which kind of record each list returns (the last path segment, ignoring /export).
LISTED = {
    "teams": "team_id",
    "roles": "role_id",
    "users": "user_id",
    "api-keys": "key_id",
    "client-groups": "group_id",
    "ranks": "rank_id",
    "clients": "client_id",
    "deposits": "deposit_id",
    "trading-accounts": "account_id",
    "kyc-documents": "document_id",
    "promotion-links": "link_id",
    "challenges": "challenge_id",
    "orders": "order_id",
    "popups": "popup_id",
    "emails": "email_id",
    "coupons": "coupon_id",
    "promo-codes": "promo_id",
    "rules": "rule_id",
    "records": "record_id",
    "statuses": "status_id",
    "leads": "lead_id",
    "leads.csv": "lead_id",
    "tags": "tag_id",
}


def test_every_list_leaves_out_the_other_tenants_records(world):
    checked = 0
    for path, method, operation in _operations(world.schema):
        if method != "GET" or "{" in path or _kind(path) == "platform":
            continue
        if operation["x-required-permission"] == "public":
            continue
        session = world.a.portal if _kind(path) == "portal" else world.acme.admin
        params = (
            {"per_page": 500}
            if any(p["name"] == "per_page" for p in operation.get("parameters", []))
            else None
        )
        response = session.get(path, params=params)
        assert response.status_code == 200, f"GET {path}: {response.text}"
        assert world.globex.slug not in response.text, f"GET {path} shows tenant B's data"
        kind = LISTED.get(path.removesuffix("/export").rsplit("/", 1)[-1])
        if kind is not None:
            if "text/csv" in response.headers["content-type"]:
                ids = {int(line.split(",")[0]) for line in response.text.splitlines()[1:]}
            else:
                payload = response.json()
                ids = {item["id"] for item in (payload["items"] if isinstance(payload, dict) else payload)}
            assert getattr(world.b, kind) not in ids, f"GET {path} lists tenant B's record"
            assert _kind(path) == "portal" or getattr(world.a, kind) in ids, (
                f"GET {path} misses A's own record"
            )
        checked += 1
    assert checked >= 15


# Requests of tenant A's that point a field at one of tenant B's records: (method, path, body).
def _pointing_at_b(a: SimpleNamespace, b: SimpleNamespace) -> list[tuple[str, str, dict[str, Any], str]]:
    client = {"client_type": "trader", "name": "New", "email": "pointing@example.com"}
    return [
        ("POST", f"{API}/clients", {**client, "referrer_id": b.client_id}, "referrer_id"),
        ("POST", f"{API}/clients", {**client, "group_id": b.group_id}, "group_id"),
        ("POST", f"{API}/clients", {**client, "rank_id": b.rank_id}, "rank_id"),
        ("POST", f"{API}/clients", {**client, "tier_id": b.tier_id}, "tier_id"),
        ("POST", f"{API}/clients", {**client, "team_id": b.team_id}, "team_id"),
        ("POST", f"{API}/clients", {**client, "assigned_user_id": b.user_id}, "assigned_user_id"),
        ("PATCH", f"{API}/clients/{a.client_id}", {"referrer_id": b.client_id}, "referrer_id"),
        ("PATCH", f"{API}/clients/{a.client_id}", {"group_id": b.group_id}, "group_id"),
        ("PATCH", f"{API}/clients/{a.client_id}", {"tier_id": b.tier_id}, "tier_id"),
        ("PATCH", f"{API}/clients/{a.client_id}", {"rank_id": b.rank_id}, "rank_id"),
        ("PATCH", f"{API}/clients/{a.client_id}", {"team_id": b.team_id}, "team_id"),
        ("PATCH", f"{API}/clients/{a.client_id}", {"assigned_user_id": b.user_id}, "assigned_user_id"),
        (
            "POST",
            f"{API}/deposits",
            {"client_id": b.client_id, "amount": "1", "currency": "USD"},
            "client_id",
        ),
        (
            "POST",
            f"{API}/trading-accounts",
            {
                "client_id": b.client_id,
                "platform": "mt4",
                "login": "55",
                "account_type": "Std",
                "currency": "USD",
            },
            "client_id",
        ),
        (
            "POST",
            f"{API}/kyc-documents",
            {"client_id": b.client_id, "doc_type": "passport", "file_name": "x"},
            "client_id",
        ),
        ("POST", f"{API}/promotion-links", {"name": "X", "referrer_id": b.client_id}, "referrer_id"),
        ("PATCH", f"{API}/promotion-links/{a.link_id}", {"referrer_id": b.client_id}, "referrer_id"),
        (
            "POST",
            f"{API}/users",
            {"email": "x@acme.example.com", "name": "X", "password": "Str0ng-Passw0rd", "team_id": b.team_id},
            "team_id",
        ),
        (
            "POST",
            f"{API}/users",
            {
                "email": "x@acme.example.com",
                "name": "X",
                "password": "Str0ng-Passw0rd",
                "role_ids": [b.role_id],
            },
            "role_ids",
        ),
        ("PATCH", f"{API}/users/{a.user_id}", {"role_ids": [b.role_id]}, "role_ids"),
        ("PATCH", f"{API}/users/{a.user_id}", {"team_id": b.team_id}, "team_id"),
        ("POST", f"{API}/api-keys", {"name": "X", "role_id": b.role_id}, "role_id"),
        (
            "POST",
            f"{API}/popups",
            {"recipients": {"client_ids": [b.client_id]}, "title": "T", "body": "B"},
            "recipients.client_ids",
        ),
        (
            "POST",
            f"{API}/popups",
            {"recipients": {"group_ids": [b.group_id]}, "title": "T", "body": "B"},
            "recipients.group_ids",
        ),
        (
            "POST",
            f"{API}/emails",
            {"recipients": {"client_ids": [b.client_id]}, "subject": "S", "body_text": "B"},
            "recipients.client_ids",
        ),
        (
            "POST",
            f"{API}/emails",
            {"recipients": {"group_ids": [b.group_id]}, "subject": "S", "body_text": "B"},
            "recipients.group_ids",
        ),
        ("POST", f"{API}/portal/prop/orders", {"challenge_id": b.challenge_id}, "challenge_id"),
        *_coupons_pointing_at_b(a, b),
        *_tier_upgrade_pointing_at_b(a, b),
        *_status_system_pointing_at_b(a, b),
        *_leads_pointing_at_b(a, b),
        ("POST", f"{API}/portal/prop/quote", {"challenge_id": b.challenge_id}, "challenge_id"),
    ]


def _coupons_pointing_at_b(
    a: SimpleNamespace, b: SimpleNamespace
) -> list[tuple[str, str, dict[str, Any], str]]:
    coupons, promos = f"{API}/plugins/coupons/coupons", f"{API}/plugins/coupons/promo-codes"
    terms = {"discount_method": "percentage", "discount_value": "5", "name": "X"}
    manual = {**terms, "distribution_method": "manual"}
    by_link = {**terms, "distribution_method": "promotion_links"}
    send = {"popup_title": "T", "popup_text": "B", "design_id": "classic"}
    draft = f"{coupons}/{a.draft_coupon_id}"
    return [
        ("POST", coupons, {**manual, "challenge_ids": [b.challenge_id]}, "challenge_ids"),
        ("POST", coupons, {**by_link, "promotion_link_ids": [b.link_id]}, "promotion_link_ids"),
        ("PATCH", draft, {"challenge_ids": [b.challenge_id]}, "challenge_ids"),
        (
            "PATCH",
            draft,
            {"distribution_method": "promotion_links", "promotion_link_ids": [b.link_id]},
            "promotion_link_ids",
        ),
        ("POST", f"{draft}/distribute", {**send, "client_ids": [b.client_id]}, "client_ids"),
        ("POST", f"{draft}/distribute", {**send, "group_ids": [b.group_id]}, "group_ids"),
        ("POST", promos, {**terms, "code": "POINT", "challenge_ids": [b.challenge_id]}, "challenge_ids"),
        ("PATCH", f"{promos}/{a.promo_id}", {"challenge_ids": [b.challenge_id]}, "challenge_ids"),
    ]


def _tier_upgrade_pointing_at_b(
    a: SimpleNamespace, b: SimpleNamespace
) -> list[tuple[str, str, dict[str, Any], str]]:
    rules, records = f"{API}/plugins/tier_upgrade/rules", f"{API}/plugins/tier_upgrade/records"
    rule = {"name": "X", "method": "auto", "target": "both", "timezone": "UTC", "settlement_time": "01:00"}
    tiers = [{"tier_id": b.tier_id, "currencies": {"USD": {"downline_total": "1"}}}]
    return [
        ("POST", rules, {**rule, "rank_id": b.rank_id, "tiers": tiers}, "rank_id"),
        ("PATCH", f"{rules}/{a.rule_id}", {"tiers": tiers}, "tiers.0.tier_id"),
        ("POST", f"{records}/upgrade", {"record_ids": [b.record_id]}, "record_ids"),
        ("POST", f"{records}/reject", {"record_ids": [b.record_id]}, "record_ids"),
    ]


def _status_system_pointing_at_b(
    a: SimpleNamespace, b: SimpleNamespace
) -> list[tuple[str, str, dict[str, Any], str]]:
    statuses = f"{API}/plugins/status_system/statuses"
    assign = f"{API}/plugins/status_system/clients/{a.client_id}/assign"
    return [
        ("POST", statuses, {"name": "X", "group_id": b.group_id}, "group_id"),
        ("PATCH", f"{statuses}/{a.status_id}", {"group_id": b.group_id}, "group_id"),
        ("PUT", f"{statuses}/order", {"status_ids": [b.status_id]}, "status_ids"),
        ("POST", assign, {"status_id": b.status_id, "mode": "lock", "reason": "x"}, "status_id"),
    ]


def _leads_pointing_at_b(
    a: SimpleNamespace, b: SimpleNamespace
) -> list[tuple[str, str, dict[str, Any], str]]:
    leads = f"{API}/plugins/leads/leads"
    lead = f"{leads}/{a.lead_id}"
    new = {"name": "X"}
    bulk = {"lead_ids": [a.lead_id]}
    return [
        ("POST", leads, {**new, "owner_user_id": b.user_id}, "owner_user_id"),
        ("POST", leads, {**new, "participant_ids": [b.user_id]}, "participant_ids"),
        ("POST", leads, {**new, "tag_ids": [b.tag_id]}, "tag_ids"),
        ("PATCH", lead, {"owner_user_id": b.user_id}, "owner_user_id"),
        ("PATCH", lead, {"participant_ids": [b.user_id]}, "participant_ids"),
        ("PATCH", lead, {"tag_ids": [b.tag_id]}, "tag_ids"),
        ("POST", f"{leads}/bulk", {"lead_ids": [b.lead_id], "action": "delete"}, "lead_ids"),
        (
            "POST",
            f"{leads}/bulk",
            {**bulk, "action": "assign_owner", "owner_user_id": b.user_id},
            "owner_user_id",
        ),
        ("POST", f"{leads}/bulk", {**bulk, "action": "round_robin", "team_id": b.team_id}, "team_id"),
        ("POST", f"{leads}/bulk", {**bulk, "action": "add_tags", "tag_ids": [b.tag_id]}, "tag_ids"),
        ("POST", f"{lead}/portal-account", {"group_id": b.group_id}, "group_id"),
        ("POST", f"{lead}/portal-account", {"rank_id": b.rank_id}, "rank_id"),
        ("POST", f"{lead}/bind-preview", {"client_id": b.client_id}, "client_id"),
        ("POST", f"{lead}/bind", {"client_id": b.client_id}, "client_id"),
    ]


def _id_fields(schema: dict[str, Any], node: dict[str, Any], prefix: str = "") -> set[str]:
    node = _resolve(schema, node)
    found = set()
    for name, prop in node.get("properties", {}).items():
        full = f"{prefix}{name}"
        if name.endswith("_id") or name.endswith("_ids"):
            found.add(full)
        resolved = _resolve(schema, prop)
        if resolved.get("type") == "object":
            found |= _id_fields(schema, resolved, f"{full}.")
    return found


# Id fields naming entries of a catalog every tenant shares, not a tenant's records.
CATALOG_IDS = {"design_id"}  # the coupons module's built-in designs


def test_no_create_or_update_can_point_at_another_tenants_records(world):
    cases = _pointing_at_b(world.a, world.b)
    # Every id field of every request body must be exercised by a case above.
    covered = {(method, re.sub(r"/\d+", "/{}", path), field) for method, path, _, field in cases}
    for path, method, operation in _operations(world.schema):
        content = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if content is None or _kind(path) == "platform" or operation["x-required-permission"] == "public":
            continue
        for field in _id_fields(world.schema, content["schema"]) - CATALOG_IDS:
            key = (method, re.sub(r"\{\w+\}", "{}", path), field)
            assert key in covered, f"{method} {path} field {field}: add a case pointing it at tenant B"
    for method, path, body, field in cases:
        session = world.a.portal if _kind(path) == "portal" else world.acme.admin
        before = world.crm.snapshot()
        response = session.request(method, path, json=body)
        assert response.status_code == 422, f"{method} {path} {field}: {response.status_code} {response.text}"
        assert field in [f["field"] for f in response.json()["error"]["fields"]], response.text
        assert world.crm.snapshot() == before


def test_portal_tokens_open_no_back_office_route(world):
    checked = 0
    for path, method, operation in _operations(world.schema):
        if _kind(path) != "back office" or operation["x-required-permission"] == "public":
            continue
        response = world.a.portal.request(method, _fill(path, world.a), json=_body(world.schema, operation))
        assert response.status_code == 401, f"{method} {path}: {response.status_code}"
        checked += 1
    assert checked >= 50
