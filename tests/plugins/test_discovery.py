"""Discovery through entry points, manifest validation, and broken plugins kept out."""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator

from core.plugins.manifest import ManifestError, manifest_schema, parse_manifest
from core.testing import expect

GOOD = {
    "name": "sample",
    "display_name": "Sample",
    "version": "1.0.0",
    "summary": "A sample.",
    "category": "other",
    "vendor": {"name": "V", "url": "https://v.example.com", "email": "dev@v.example.com"},
    "price": {"model": "free"},
    "install_policy": "self_service",
    "core": ">=0.1,<1",
    "hooks": ">=1.0,<2",
    "permissions": [{"name": "sample.read", "label": "Read", "description": "Read."}],
    "settings_schema": {"type": "object", "properties": {"token": {"type": "string", "writeOnly": True}}},
    "jobs": [{"name": "sample.run", "description": "Runs."}],
}


def test_the_published_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(manifest_schema())
    assert manifest_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert parse_manifest(GOOD).name == "sample"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"name": "Bad Name"}, "$.name"),
        ({"display_name": None}, "$.display_name"),
        ({"version": "one"}, "$.version"),
        ({"category": "gambling"}, "$.category"),
        ({"vendor": {"name": "V", "url": "not a url"}}, "$.vendor.url"),
        ({"vendor": {"name": "V", "email": "nope"}}, "$.vendor.email"),
        ({"price": {"model": "paid", "amount": "10", "currency": "USD"}}, "$.price.period"),
        (
            {"price": {"model": "paid", "amount": "10.001", "currency": "USD", "period": "month"}},
            "$.price.amount",
        ),
        (
            {"price": {"model": "paid", "amount": "10", "currency": "ZZZ", "period": "month"}},
            "$.price.currency",
        ),
        ({"install_policy": "anyone"}, "$.install_policy"),
        ({"core": "around 1"}, "$.core"),
        ({"requires": [{"name": "other", "version": "≥1"}]}, "$.requires[0].version"),
        ({"requires": [{"name": "sample"}]}, "$.requires[0].name"),
        (
            {"permissions": [{"name": "clients.read", "label": "L", "description": "D"}]},
            "$.permissions[0].name",
        ),
        (
            {"permissions": [{"name": "users.manage", "label": "L", "description": "D"}]},
            "$.permissions[0].name",
        ),
        ({"jobs": [{"name": "other.run", "description": "D"}]}, "$.jobs[0].name"),
        (
            {"settings_schema": {"type": "object", "properties": {"x": {"type": "strnig"}}}},
            "$.settings_schema",
        ),
        ({"settings_schema": {"type": "array"}}, "$.settings_schema.type"),
        ({"surprise": True}, "$"),
    ],
)
def test_manifest_errors_name_the_field_by_json_path(change, path):
    manifest = copy.deepcopy(GOOD)
    for key, value in change.items():
        if value is None:
            manifest.pop(key)
        else:
            manifest[key] = value
    with pytest.raises(ManifestError) as raised:
        parse_manifest(json.loads(json.dumps(manifest)))
    assert path in [p for p, _ in raised.value.problems], raised.value.problems


EXPECTED_BROKEN = {
    "broken_import": ("broken", "cannot import broken_import.hooks"),
    "broken_hook": ("broken", "unknown hook(s) crm_deposit_aproved"),
    "broken_args": ("broken", "{'amount'} are declared in the hookimpl but can not be found"),
    "broken_manifest": ("broken", "$.summary: is required"),
    "broken_core": ("incompatible", "requires core >=99"),
    "broken_route": ("broken", "route GET /open declares no permission"),
    "broken_perm": ("broken", "$.permissions[0].name: must start with 'broken_perm.'"),
    "broken_wrapper": ("broken", "crm_deposit_approved is a hook wrapper, which the host does not support"),
    "fixture_greedy": ("incompatible", "requires fixture_ticker >=2.0, but 1.2.0 is available"),
}


def test_broken_plugins_are_reported_with_their_reason_and_the_host_serves_the_rest(pk):
    operator = pk.operator()
    listed = {p["name"]: p for p in expect(operator.get("/api/v1/platform/plugins"), 200)}
    for name, (state, reason) in EXPECTED_BROKEN.items():
        assert listed[name]["state"] == state, name
        assert reason in listed[name]["reason"], (name, listed[name]["reason"])
    assert listed["fixture_ticker"]["state"] == "loaded" and listed["fixture_ticker"]["version"] == "1.2.0"
    assert listed["fixture_ticker"]["distribution"] == "crm-test-plugins 1.0"
    # Everything else works: core, and the good plugins.
    acme = pk.tenant("acme")
    expect(pk.anonymous.get("/api/v1/health"), 200)
    acme.client()
    assert expect(acme.admin.get("/api/v1/clients"), 200)["total"] == 1
    acme.install("fixture_ticker")
    assert expect(acme.admin.get("/api/v1/plugins/fixture_ticker/hello"), 200)["greeting"] == "hello"
    # Broken plugins' routes were never mounted, and they cannot be installed.
    paths = pk.app.openapi()["paths"]
    assert not any("broken_route" in path for path in paths)
    refused = acme.admin.post("/api/v1/marketplace/broken_hook/install")
    assert refused.status_code == 409 and "crm_deposit_aproved" in refused.json()["error"]["message"]


def test_the_catalog_shows_broken_and_incompatible_modules_with_why(pk):
    acme = pk.tenant("acme")
    catalog = {e["name"]: e for e in expect(acme.admin.get("/api/v1/marketplace"), 200)}
    assert catalog["fixture_ticker"]["state"] == "available"
    assert catalog["fixture_greedy"]["state"] == "incompatible"
    assert catalog["broken_core"]["reason"].startswith("requires core")
    assert catalog["fixture_partner"]["install_policy"] == "account_manager"
    assert catalog["fixture_partner"]["price"] == {
        "model": "paid",
        "amount": "49.00",
        "currency": "USD",
        "period": "month",
    }


def test_plugin_routes_are_mounted_under_their_prefix_and_documented(pk):
    schema = pk.app.openapi()
    operation = schema["paths"]["/api/v1/plugins/fixture_ticker/hello"]["get"]
    assert operation["x-required-permission"] == "fixture_ticker.read"
    assert operation["tags"] == ["module: Ticker (test)"]
    assert "/api/v1/portal/plugins/fixture_ticker/notes/count" in schema["paths"]
    assert any(tag["name"] == "module: Ticker (test)" for tag in schema["tags"])


def test_a_second_distribution_of_the_same_plugin_is_refused(plugin_runtime):
    from core.plugins.host import PluginHost

    host = PluginHost(
        plugin_runtime.permissions.__class__(), check_router=plugin_runtime.plugins.check_router
    )
    module = plugin_runtime.plugins.plugins["fixture_ticker"].module
    assert host.load("fixture_ticker", module) is not None
    assert host.load("fixture_ticker", module) is None
    assert "another distribution already provides" in host.broken["fixture_ticker"].reason
    assert "fixture_ticker" in host.plugins
