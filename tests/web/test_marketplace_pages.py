"""The back office's marketplace pages: the catalogue, a module's page (Obtain, enable and
disable, the settings form generated from its JSON Schema, uninstall with its impact, purge) and
the modules' failures with replay."""

from __future__ import annotations

import re

from core.sdk.testing import expect

M = "/backoffice/marketplace"
API = "/api/v1/marketplace"


def _state(tenant, name):
    return expect(tenant.admin.get(f"{API}/{name}"), 200)["state"]


def _approve(tenant, client_id: int) -> dict:
    deposit = expect(
        tenant.admin.post(
            "/api/v1/deposits", json={"client_id": client_id, "amount": "25", "currency": "USD"}
        ),
        201,
    )
    return expect(tenant.admin.post(f"/api/v1/deposits/{deposit['id']}/approve"), 200)


def _failure(tenant) -> int:
    """One failed event of the ticker (its settings make it fail), as the tenant's records it."""
    expect(tenant.admin.put(f"{API}/fixture_ticker/settings", json={"values": {"fail_events": True}}), 200)
    _approve(tenant, tenant.client()["id"])
    return expect(tenant.admin.get(f"{API}/failures"), 200)["items"][0]["id"]


# --- the catalogue ------------------------------------------------------------------------------------


def test_the_catalogue_shows_every_module_with_its_state_and_price(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    response = acme.pages(acme.user(["marketplace.read"]).label).get(M)
    assert response.status_code == 200
    html = response.text
    assert "<h1>Marketplace</h1>" in html
    ticker = html.split('href="/backoffice/marketplace/fixture_ticker"')[1].split("</article>")[0]
    assert "Installed" in ticker and "Free" in ticker and "Self-service" in ticker
    partner = html.split('href="/backoffice/marketplace/fixture_partner"')[1].split("</article>")[0]
    assert "Available" in partner and "49.00 USD" in partner and "Account manager only" in partner
    broken = html.split('href="/backoffice/marketplace/broken_core"')[1].split("</article>")[0]
    assert "Incompatible" in broken or "Broken" in broken


def test_the_catalogue_needs_marketplace_read(pk):
    acme = pk.tenant("acme")
    pages = acme.pages(acme.user(["clients.read"]).label)
    assert pages.get(M).status_code == 403
    assert pages.get(f"{M}/fixture_ticker").status_code == 403
    assert 'href="/backoffice/marketplace"' not in pages.get("/backoffice/").text


# --- a module's page ----------------------------------------------------------------------------------


def test_a_modules_page_describes_it_and_offers_obtain_to_installers(pk):
    acme = pk.tenant("acme")
    pages = acme.pages(acme.user(["marketplace.read", "marketplace.install"]).label)
    html = pages.get(f"{M}/fixture_ticker").text
    assert "<h1>Ticker (test)</h1>" in html
    assert "Test Vendor" in html and "1.2.0" in html and "Used by the test suite." in html
    assert "fixture_ticker.write" in html and "Write ticker notes" in html  # the permissions it adds
    assert 'action="/backoffice/marketplace/fixture_ticker/install"' in html and "Obtain" in html
    # An account-manager module: no Obtain, the account manager is named instead.
    partner = pages.get(f"{M}/fixture_partner").text
    assert "Contact your account manager to obtain this module." in partner
    assert "/fixture_partner/install" not in partner
    # A reader without marketplace.install sees no Obtain button.
    reader = acme.pages(acme.user(["marketplace.read"]).label).get(f"{M}/fixture_ticker").text
    assert "/fixture_ticker/install" not in reader


def test_an_unknown_module_is_404(pk):
    acme = pk.tenant("acme")
    assert acme.pages().get(f"{M}/no_such_module").status_code == 404


def test_obtain_installs_a_self_service_module(pk):
    acme = pk.tenant("acme")
    pages = acme.pages(acme.user(["marketplace.read", "marketplace.install"]).label)
    response = pages.post(f"{M}/fixture_ticker/install")
    assert response.status_code == 303
    assert response.headers["location"] == f"{M}/fixture_ticker?notice=obtained"
    assert _state(acme, "fixture_ticker") == "enabled"
    shown = pages.get(response.headers["location"]).text
    assert "The module is installed." in shown and "Installed" in shown


def test_obtain_is_refused_without_the_permission_for_restricted_modules_and_without_csrf(pk):
    acme = pk.tenant("acme")
    reader = acme.pages(acme.user(["marketplace.read"]).label)
    assert reader.post(f"{M}/fixture_ticker/install").status_code == 403
    installer = acme.pages(acme.user(["marketplace.read", "marketplace.install"]).label)
    assert installer.post(f"{M}/fixture_ticker/install", csrf=False).status_code == 403
    refused = installer.post(f"{M}/fixture_partner/install", {"with_requirements": "true"})
    assert refused.status_code == 403 and "account manager" in refused.text
    assert _state(acme, "fixture_ticker") == "available"  # nothing was installed, not even its requirement
    assert _state(acme, "fixture_partner") == "available"


def test_enable_and_disable(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    pages = acme.pages(acme.user(["marketplace.read", "marketplace.manage"]).label)
    html = pages.get(f"{M}/fixture_ticker").text
    assert 'action="/backoffice/marketplace/fixture_ticker/disable"' in html
    assert pages.post(f"{M}/fixture_ticker/disable").status_code == 303
    assert _state(acme, "fixture_ticker") == "disabled"
    html = pages.get(f"{M}/fixture_ticker").text
    assert 'action="/backoffice/marketplace/fixture_ticker/enable"' in html
    assert pages.post(f"{M}/fixture_ticker/enable").status_code == 303
    assert _state(acme, "fixture_ticker") == "enabled"
    reader = acme.pages(acme.user(["marketplace.read"]).label)
    assert "/fixture_ticker/disable" not in reader.get(f"{M}/fixture_ticker").text
    assert reader.post(f"{M}/fixture_ticker/disable").status_code == 403
    assert _state(acme, "fixture_ticker") == "enabled"


# --- settings -----------------------------------------------------------------------------------------


def _input(html: str, name: str) -> str:
    found = re.search(rf'<(?:input|select)[^>]*name="{name}"[^>]*>', html, re.S)
    assert found, f"no input {name}"
    return found.group(0)


def test_the_settings_form_follows_the_modules_schema(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    html = acme.pages().get(f"{M}/fixture_ticker").text
    greeting = _input(html, "greeting")
    assert 'type="text"' in greeting and 'maxlength="50"' in greeting and 'value="hello"' in greeting
    token = _input(html, "api_token")
    assert 'type="password"' in token and 'minlength="8"' in token and 'value=""' in token
    sleep = _input(html, "tick_sleep_s")
    assert 'type="number"' in sleep and 'min="0"' in sleep and 'step="any"' in sleep
    assert 'type="checkbox"' in _input(html, "fail_events")
    assert '<label for="s-greeting">' in html


def test_saving_settings_keeps_a_blank_secret_and_never_shows_it(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    pages = acme.pages(acme.user(["marketplace.read", "marketplace.manage"]).label)
    saved = pages.post(f"{M}/fixture_ticker/settings", {"greeting": "hi", "api_token": "s3cret-token"})
    assert saved.status_code == 303 and saved.headers["location"].endswith("notice=saved")
    html = pages.get(f"{M}/fixture_ticker").text
    assert "s3cret-token" not in html
    assert 'placeholder="********"' in _input(html, "api_token") and "A value is saved and hidden" in html
    assert 'value="hi"' in _input(html, "greeting")
    # Left blank, the secret keeps its value; an unticked box is false.
    assert pages.post(f"{M}/fixture_ticker/settings", {"greeting": "hey", "api_token": ""}).status_code == 303
    with acme.ctx() as ctx:
        from core.marketplace.settings import settings_of

        stored = settings_of(ctx, "fixture_ticker")
    assert stored["api_token"] == "s3cret-token" and stored["greeting"] == "hey"
    assert stored["fail_events"] is False


def test_invalid_settings_answer_422_beside_the_field_and_write_nothing(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    pages = acme.pages()
    response = pages.post(
        f"{M}/fixture_ticker/settings", {"greeting": "x" * 60, "api_token": "short", "tick_sleep_s": "-1"}
    )
    assert response.status_code == 422
    html = response.text
    for name in ("greeting", "api_token", "tick_sleep_s"):
        assert f'id="{name}-error"' in html, name
    assert 'aria-invalid="true"' in _input(html, "greeting")
    assert "short" not in _input(html, "api_token")  # a secret is never sent back, even refused
    assert 'value="' + "x" * 60 + '"' in _input(html, "greeting")  # what was entered, to correct it
    expect_values = expect(acme.admin.get(f"{API}/fixture_ticker/settings"), 200)["values"]
    assert expect_values["greeting"] == "hello" and "api_token" not in expect_values
    not_a_number = pages.post(f"{M}/fixture_ticker/settings", {"tick_sleep_s": "soon"})
    assert not_a_number.status_code == 422 and 'id="tick_sleep_s-error"' in not_a_number.text


def test_settings_need_marketplace_manage_and_csrf(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    reader = acme.pages(acme.user(["marketplace.read"]).label)
    html = reader.get(f"{M}/fixture_ticker").text
    assert "Save settings" not in html and "disabled" in _input(html, "greeting")
    assert reader.post(f"{M}/fixture_ticker/settings", {"greeting": "hi"}).status_code == 403
    assert (
        acme.pages().post(f"{M}/fixture_ticker/settings", {"greeting": "hi"}, csrf=False).status_code == 403
    )
    assert expect(acme.admin.get(f"{API}/fixture_ticker/settings"), 200)["values"]["greeting"] == "hello"


# --- uninstall and purge ------------------------------------------------------------------------------


def test_uninstall_shows_its_impact_and_refuses_while_required_unless_cascading(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_partner", with_requirements=True)
    pages = acme.pages()
    html = pages.get(f"{M}/fixture_ticker").text
    dialog = html.split('id="uninstall-dialog"')[1].split("</dialog>")[0]
    assert "fixture_ticker_notes: 1 rows" in dialog  # the install note, kept
    assert "Administrator: fixture_ticker.read, fixture_ticker.write" in dialog
    assert "fixture_partner" in dialog and 'name="cascade"' in dialog
    refused = pages.post(f"{M}/fixture_ticker/uninstall")
    assert refused.status_code == 409 and "fixture_partner need the fixture_ticker module" in refused.text
    assert _state(acme, "fixture_ticker") == "enabled"
    done = pages.post(f"{M}/fixture_ticker/uninstall", {"cascade": "true"})
    assert done.status_code == 303
    assert _state(acme, "fixture_ticker") == "available" and _state(acme, "fixture_partner") == "available"


def test_purge_asks_for_the_modules_name(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    pages = acme.pages()
    assert pages.post(f"{M}/fixture_ticker/uninstall").status_code == 303
    html = pages.get(f"{M}/fixture_ticker").text
    assert 'id="purge-dialog"' in html and "Data kept" not in html.split("<h1>")[0]
    wrong = pages.post(f"{M}/fixture_ticker/purge", {"confirm": "something"})
    assert wrong.status_code == 422 and 'id="confirm-error"' in wrong.text
    assert "data-open-on-load" in wrong.text  # the dialog opens again, with the error
    assert pk.count("fixture_ticker_notes", acme.id) == 1
    assert (
        pages.post(f"{M}/fixture_ticker/purge", {"confirm": "fixture_ticker"}, csrf=False).status_code == 403
    )
    assert pages.post(f"{M}/fixture_ticker/purge", {"confirm": "fixture_ticker"}).status_code == 303
    assert pk.count("fixture_ticker_notes", acme.id) == 0
    assert 'id="purge-dialog"' not in pages.get(f"{M}/fixture_ticker").text


# --- module health ------------------------------------------------------------------------------------


def test_failures_are_listed_and_replayed(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    failure_id = _failure(acme)
    pages = acme.pages()
    html = pages.get(f"{M}/failures").text
    assert "crm_deposit_approved" in html and "misconfigured" in html
    assert f'action="/backoffice/marketplace/failures/{failure_id}/replay"' in html
    fragment = pages.get(f"{M}/failures?plugin=fixture_ticker&resolved=false", htmx=True)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert f"/failures/{failure_id}/replay" in fragment.text and 'name="csrf_token"' in fragment.text
    again = pages.post(f"{M}/failures/{failure_id}/replay")
    assert again.status_code == 303 and again.headers["location"].endswith("notice=failed_again")
    expect(acme.admin.put(f"{API}/fixture_ticker/settings", json={"values": {"fail_events": False}}), 200)
    replayed = pages.post(f"{M}/failures/{failure_id}/replay")
    assert replayed.headers["location"].endswith("notice=replayed")
    assert expect(acme.admin.get(f"{API}/failures"), 200)["items"][0]["resolved"] is True
    assert f"/failures/{failure_id}/replay" not in pages.get(f"{M}/failures").text
    assert pages.post(f"{M}/failures/{failure_id}/replay").status_code == 409  # already resolved
    filtered = pages.get(f"{M}/failures?resolved=false", htmx=True)
    assert filtered.status_code == 200 and "<html" not in filtered.text and "No failure" in filtered.text


def test_replay_needs_manage_and_another_tenants_failure_is_404(pk):
    acme, globex = pk.tenant("acme"), pk.tenant("globex")
    acme.install("fixture_ticker")
    failure_id = _failure(acme)
    reader = acme.pages(acme.user(["marketplace.read"]).label)
    assert reader.get(f"{M}/failures").status_code == 200
    assert f"/failures/{failure_id}/replay" not in reader.get(f"{M}/failures").text
    assert reader.post(f"{M}/failures/{failure_id}/replay").status_code == 403
    assert acme.pages().post(f"{M}/failures/{failure_id}/replay", csrf=False).status_code == 403
    globex.install("fixture_ticker")
    outsider = globex.pages()
    assert "misconfigured" not in outsider.get(f"{M}/failures").text
    assert outsider.post(f"{M}/failures/{failure_id}/replay").status_code == 404
    assert expect(acme.admin.get(f"{API}/failures"), 200)["items"][0]["replayed_at"] is None


def test_the_form_generator_covers_every_scalar_type_and_its_bounds():
    from core.web.routes.marketplace import settings_fields, settings_values

    schema = {
        "type": "object",
        "required": ["mode"],
        "properties": {
            "mode": {"type": "string", "enum": ["live", "demo"]},
            "retries": {"type": "integer", "minimum": 1, "maximum": 5},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.5},
            "code": {"type": "string", "pattern": "^[A-Z]+$", "minLength": 2},
            "live": {"type": "boolean"},
            "secret": {"type": "string", "writeOnly": True},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    }
    fields = {f["name"]: f for f in settings_fields(schema, {"secret": "********", "tags": ["a"]})}
    assert fields["mode"]["kind"] == "enum" and fields["mode"]["required"]
    assert fields["mode"]["options"] == [("live", "live"), ("demo", "demo")]
    assert fields["retries"]["attrs"] == {"min": 1, "max": 5, "step": 1}
    assert fields["ratio"]["attrs"] == {"step": 0.5}
    assert fields["code"]["attrs"] == {"minlength": 2, "pattern": "^[A-Z]+$"}
    assert fields["live"]["kind"] == "boolean"
    assert (
        fields["secret"]["kind"] == "secret"
        and fields["secret"]["is_set"]
        and fields["secret"]["value"] == ""
    )
    assert fields["tags"]["kind"] == "other"
    values = settings_values(
        schema, {"mode": "demo", "retries": "3", "ratio": "1.5", "code": "AB"}, {"tags": ["a"], "live": True}
    )
    assert values == {"mode": "demo", "retries": 3, "ratio": 1.5, "code": "AB", "live": False, "tags": ["a"]}
    assert settings_values(schema, {"retries": "many"}, {})["retries"] == "many"  # the schema refuses it
