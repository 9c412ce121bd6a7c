"""Installing, disabling, uninstalling and purging modules per tenant; policies, requirements,
licences, permissions, settings and the route gate."""

from __future__ import annotations

from datetime import timedelta

from core.db.base import utcnow
from core.testing import expect

M = "/api/v1/marketplace"
TICKER = "/api/v1/plugins/fixture_ticker"


def _state(session, name):
    return expect(session.get(f"{M}/{name}"), 200)["state"]


def test_obtaining_a_self_service_module_gives_its_permissions_to_administrators_only(pk):
    acme = pk.tenant("acme")
    installer = acme.user(["marketplace.install", "marketplace.read", "roles.read"])
    assert "fixture_ticker.read" not in {
        p["name"] for p in expect(acme.admin.get("/api/v1/permissions"), 200)
    }
    assert acme.admin.get(f"{TICKER}/hello").status_code == 404  # not installed: the route does not exist
    installed = expect(installer.post(f"{M}/fixture_ticker/install"), 200)
    assert installed["state"] == "enabled" and installed["installed_version"] == "1.2.0"
    editor = {p["name"] for p in expect(acme.admin.get("/api/v1/permissions"), 200)}
    assert {"fixture_ticker.read", "fixture_ticker.write"} <= editor
    assert "fixture_partner.read" not in editor  # only installed modules' permissions are offered
    admin_role = next(r for r in expect(acme.admin.get("/api/v1/roles"), 200) if r["is_admin"])
    assert {"fixture_ticker.read", "fixture_ticker.write"} <= set(admin_role["permissions"])
    # No escalation: the installer did not receive the module's permissions.
    assert installer.get(f"{TICKER}/hello").status_code == 403
    assert expect(acme.admin.get(f"{TICKER}/hello"), 200) == {"greeting": "hello", "tenant_id": acme.id}
    # The plugin's install hook ran for this tenant.
    assert expect(acme.admin.get(f"{TICKER}/notes"), 200) == ["installed"]
    assert acme.admin.post(f"{M}/fixture_ticker/install").status_code == 409  # already installed


def test_roles_can_grant_a_modules_permissions_only_while_it_is_installed(pk):
    acme = pk.tenant("acme")
    early = acme.admin.post("/api/v1/roles", json={"name": "Notes", "permissions": ["fixture_ticker.read"]})
    assert early.status_code == 422 and early.json()["error"]["fields"][0]["field"] == "permissions"
    acme.install("fixture_ticker")
    role = expect(
        acme.admin.post("/api/v1/roles", json={"name": "Notes", "permissions": ["fixture_ticker.read"]}), 201
    )
    reader = acme.user(role_ids=[role["id"]])
    assert reader.get(f"{TICKER}/hello").status_code == 200
    assert reader.post(f"{TICKER}/notes", json={"text": "x"}).status_code == 403


def test_account_manager_modules_are_installed_only_by_operators(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    refused = acme.admin.post(f"{M}/fixture_partner/install")
    assert refused.status_code == 403
    assert (
        "contact" in refused.json()["error"]["message"]
        and "account manager" in refused.json()["error"]["message"]
    )
    assert _state(acme.admin, "fixture_partner") == "available"
    operator = pk.operator()
    installed = expect(
        operator.post(f"/api/v1/platform/tenants/{acme.id}/marketplace/fixture_partner/install"), 200
    )
    assert installed["state"] == "enabled"
    expires = installed["licence_expires_at"]
    assert expires is not None  # a paid module: licensed for one billing period
    assert expect(acme.admin.get("/api/v1/plugins/fixture_partner/status"), 200) == {"partner": "ok"}
    log = expect(acme.admin.get("/api/v1/operation-log", params={"entity": "tenant_plugins"}), 200)["items"]
    assert [(e["entity_id"], e["action"], e["actor_kind"]) for e in log][:2] == [
        ("fixture_partner", "install", "operator"),
        ("fixture_ticker", "install", "system"),
    ]


def test_requirements_install_first_or_with_confirmation(pk):
    acme = pk.tenant("acme")
    operator = pk.operator()
    url = f"/api/v1/platform/tenants/{acme.id}/marketplace/fixture_partner/install"
    missing = operator.post(url)
    assert missing.status_code == 409
    assert missing.json()["error"]["fields"] == [
        {"field": "requires", "message": "fixture_ticker is not installed"}
    ]
    assert _state(acme.admin, "fixture_ticker") == "available"
    expect(operator.post(url, json={"with_requirements": True}), 200)
    assert (
        _state(acme.admin, "fixture_ticker") == "enabled"
        and _state(acme.admin, "fixture_partner") == "enabled"
    )


def test_incompatible_version_ranges_cannot_be_installed(pk):
    acme = pk.tenant("acme")
    response = acme.admin.post(f"{M}/fixture_greedy/install")
    assert response.status_code == 409 and "fixture_ticker >=2.0" in response.json()["error"]["message"]


def test_a_disabled_module_has_no_routes_no_events_and_keeps_its_data(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    client = acme.client()
    portal = acme.portal(client["id"])
    expect(acme.admin.post(f"{TICKER}/notes", json={"text": "kept"}), 201)
    expect(acme.admin.post(f"{M}/fixture_ticker/disable"), 200)
    assert _state(acme.admin, "fixture_ticker") == "disabled"
    assert acme.admin.get(f"{TICKER}/notes").status_code == 404
    assert portal.get("/api/v1/portal/plugins/fixture_ticker/notes/count").status_code == 404
    deposit = expect(
        acme.admin.post(
            "/api/v1/deposits", json={"client_id": client["id"], "amount": "5", "currency": "USD"}
        ),
        201,
    )
    expect(acme.admin.post(f"/api/v1/deposits/{deposit['id']}/approve"), 200)
    expect(acme.admin.post(f"{M}/fixture_ticker/enable"), 200)
    # The welcome (a client created by staff is registered) and the kept note; no deposit note.
    assert expect(acme.admin.get(f"{TICKER}/notes"), 200) == [
        "installed",
        f"welcome {client['email']} via nothing",
        "kept",
    ]


def test_uninstall_is_refused_while_another_module_needs_it_or_cascades(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_partner", with_requirements=True)
    refused = acme.admin.post(f"{M}/fixture_ticker/uninstall")
    assert refused.status_code == 409 and "fixture_partner" in refused.json()["error"]["message"]
    impact = expect(acme.admin.get(f"{M}/fixture_ticker/uninstall-impact"), 200)
    assert impact["dependents"] == ["fixture_partner"]
    assert acme.admin.post(f"{M}/fixture_ticker/disable").status_code == 409  # fixture_partner needs it
    expect(acme.admin.post(f"{M}/fixture_ticker/uninstall", json={"cascade": True}), 200)
    assert _state(acme.admin, "fixture_partner") == "available"
    assert _state(acme.admin, "fixture_ticker") == "available"


def test_uninstall_previews_its_impact_keeps_data_and_a_reinstall_restores_it(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    role = expect(
        acme.admin.post(
            "/api/v1/roles", json={"name": "Notes", "permissions": ["fixture_ticker.read", "clients.read"]}
        ),
        201,
    )
    expect(acme.admin.post(f"{TICKER}/notes", json={"text": "precious"}), 201)
    with acme.ctx() as ctx:
        from core.scheduler.service import ensure_schedule

        ensure_schedule(ctx, "fixture_ticker", "fixture_ticker.tick", cron="0 * * * *")
    impact = expect(acme.admin.get(f"{M}/fixture_ticker/uninstall-impact"), 200)
    assert impact["rows"] == {"fixture_ticker_notes": 2}
    assert impact["schedules"] == ["fixture_ticker.tick"]
    assert impact["role_permissions"] == {
        "Administrator": ["fixture_ticker.read", "fixture_ticker.write"],
        "Notes": ["fixture_ticker.read"],
    }
    uninstalled = expect(acme.admin.post(f"{M}/fixture_ticker/uninstall"), 200)
    assert uninstalled["state"] == "available" and uninstalled["data_kept"] is True
    assert acme.admin.get(f"{TICKER}/notes").status_code == 404
    notes_role = expect(acme.admin.get(f"/api/v1/roles/{role['id']}"), 200)
    assert notes_role["permissions"] == ["clients.read"]
    assert pk.count("fixture_ticker_notes", acme.id) == 2  # kept
    expect(acme.admin.post(f"{M}/fixture_ticker/install"), 200)
    assert expect(acme.admin.get(f"{TICKER}/notes"), 200)[:2] == ["installed", "precious"]


def test_purge_deletes_a_modules_data_only_when_asked_and_uninstalled(pk):
    acme, globex = pk.tenant("acme"), pk.tenant("globex")
    acme.install("fixture_ticker")
    globex.install("fixture_ticker")
    assert acme.admin.post(f"{M}/fixture_ticker/purge", json={"confirm": "fixture_ticker"}).status_code == 409
    expect(acme.admin.post(f"{M}/fixture_ticker/uninstall"), 200)
    unconfirmed = acme.admin.post(f"{M}/fixture_ticker/purge", json={"confirm": "yes"})
    assert unconfirmed.status_code == 422 and unconfirmed.json()["error"]["fields"][0]["field"] == "confirm"
    purged = expect(acme.admin.post(f"{M}/fixture_ticker/purge", json={"confirm": "fixture_ticker"}), 200)
    assert purged["rows_deleted"] == {"fixture_ticker_notes": 1}
    assert pk.count("fixture_ticker_notes", acme.id) == 0
    assert pk.count("fixture_ticker_notes", globex.id) == 1  # another tenant's data is untouched
    assert expect(acme.admin.get(f"{M}/fixture_ticker"), 200)["data_kept"] is False


def test_an_expired_licence_switches_the_module_off_until_renewed(pk):
    acme = pk.tenant("acme")
    operator = pk.operator()
    base = f"/api/v1/platform/tenants/{acme.id}/marketplace/fixture_partner"
    expect(operator.post(f"{base}/install", json={"with_requirements": True}), 200)
    assert acme.admin.get("/api/v1/plugins/fixture_partner/status").status_code == 200
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    expect(operator.post(f"{base}/licence", json={"expires_at": past}), 200)
    entry = expect(acme.admin.get(f"{M}/fixture_partner"), 200)
    assert entry["state"] == "licence_expired" and "licence expired" in entry["reason"]
    assert acme.admin.get("/api/v1/plugins/fixture_partner/status").status_code == 404
    assert (
        acme.admin.post(
            f"/api/v1/platform/tenants/{acme.id}/marketplace/fixture_partner/licence",
            json={"expires_at": past},
        ).status_code
        == 401
    )  # not an operator
    future = (utcnow() + timedelta(days=365)).isoformat()
    expect(operator.post(f"{base}/licence", json={"expires_at": future}), 200)
    assert acme.admin.get("/api/v1/plugins/fixture_partner/status").status_code == 200


def test_settings_are_validated_and_secrets_are_write_only(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    url = f"{M}/fixture_ticker/settings"
    initial = expect(acme.admin.get(url), 200)
    assert initial["values"] == {
        "greeting": "hello",
        "fail_events": False,
        "fail_counts": False,
        "fail_pricing": False,
        "tick_sleep_s": 0,
    }
    assert initial["schema"]["properties"]["api_token"]["writeOnly"] is True
    saved = expect(acme.admin.put(url, json={"values": {"greeting": "hi", "api_token": "s3cret-token"}}), 200)
    assert saved["values"]["api_token"] == "********" and saved["values"]["greeting"] == "hi"
    assert "s3cret-token" not in acme.admin.get(url).text
    assert "s3cret-token" not in acme.admin.get("/api/v1/operation-log").text
    # Sending the mask back (or leaving the secret out) keeps it.
    expect(acme.admin.put(url, json={"values": {"greeting": "hey", "api_token": "********"}}), 200)
    expect(acme.admin.put(url, json={"values": {"greeting": "yo"}}), 200)
    with acme.ctx() as ctx:
        from core.marketplace.settings import settings_of

        assert settings_of(ctx, "fixture_ticker")["api_token"] == "s3cret-token"
    bad = acme.admin.put(url, json={"values": {"greeting": 5, "colour": "red"}})
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json()["error"]["fields"]} == {"settings", "settings.greeting"}
    # The module was told about each accepted change.
    notes = expect(acme.admin.get(f"{TICKER}/notes"), 200)
    assert notes[-3:] == ["greeting hello -> hi", "greeting hi -> hey", "greeting hey -> yo"]
    assert expect(acme.admin.get(f"{TICKER}/hello"), 200)["greeting"] == "yo"


def test_two_tenants_with_different_modules_never_see_each_others_hooks(pk):
    acme, globex = pk.tenant("acme"), pk.tenant("globex")
    acme.install("fixture_ticker")
    for tenant in (acme, globex):
        client = tenant.client()
        deposit = expect(
            tenant.admin.post(
                "/api/v1/deposits", json={"client_id": client["id"], "amount": "5", "currency": "USD"}
            ),
            201,
        )
        expect(tenant.admin.post(f"/api/v1/deposits/{deposit['id']}/approve"), 200)
    assert pk.count("fixture_ticker_notes", acme.id) == 3  # installed + the new client + the deposit
    assert pk.count("fixture_ticker_notes", globex.id) == 0
    assert globex.admin.get(f"{TICKER}/notes").status_code == 404
    assert expect(globex.admin.get(f"{M}/fixture_ticker"), 200)["state"] == "available"


def test_portal_lists_the_pages_of_enabled_modules(pk):
    acme = pk.tenant("acme")
    portal = acme.portal(acme.client()["id"])
    assert expect(portal.get("/api/v1/portal/modules"), 200) == []
    acme.install("fixture_ticker")
    assert expect(portal.get("/api/v1/portal/modules"), 200) == [
        {"plugin": "fixture_ticker", "id": "notes", "label": "My notes", "path": "/notes"}
    ]
