"""The account managers' console: a tenant's modules (installing restricted ones, licences,
enabling and disabling) and the plugin-health view across tenants and per tenant, with replay."""

from __future__ import annotations

import re
from datetime import timedelta

from core.db.base import utcnow
from core.sdk.testing import expect

API = "/api/v1/marketplace"


def _entry(tenant, name):
    return expect(tenant.admin.get(f"{API}/{name}"), 200)


def _failure(tenant) -> int:
    expect(tenant.admin.put(f"{API}/fixture_ticker/settings", json={"values": {"fail_events": True}}), 200)
    client = tenant.client()
    deposit = expect(
        tenant.admin.post(
            "/api/v1/deposits", json={"client_id": client["id"], "amount": "25", "currency": "USD"}
        ),
        201,
    )
    expect(tenant.admin.post(f"/api/v1/deposits/{deposit['id']}/approve"), 200)
    return expect(tenant.admin.get(f"{API}/failures"), 200)["items"][0]["id"]


def test_a_tenants_page_lists_its_modules_with_states_and_licences(pk):
    acme = pk.tenant("acme", name="Acme Brokers")
    acme.install("fixture_partner", with_requirements=True)
    console = pk.operator_pages()
    assert f'href="/platform/tenants/{acme.id}"' in console.get("/platform/").text
    response = console.get(f"/platform/tenants/{acme.id}")
    assert response.status_code == 200
    html = response.text
    assert "<h1>Acme Brokers</h1>" in html
    partner = html.split(f'href="/platform/tenants/{acme.id}/modules/fixture_partner"')[1].split("</tr>")[0]
    assert "Installed" in partner and "49.00 USD" in partner
    expires = _entry(acme, "fixture_partner")["licence_expires_at"][:10]
    assert expires in partner


def test_the_console_is_for_account_managers_only(pk):
    acme = pk.tenant("acme")
    staff = acme.pages()  # the tenant's administrator: no platform session
    assert staff.get(f"/platform/tenants/{acme.id}").status_code == 303  # sent to the console's sign-in
    assert staff.post(f"/platform/tenants/{acme.id}/modules/fixture_partner/install").status_code == 303
    assert _entry(acme, "fixture_partner")["state"] == "available"


def test_an_unknown_tenant_is_404(pk):
    console = pk.operator_pages()
    assert console.get("/platform/tenants/9999").status_code == 404
    assert console.get("/platform/tenants/9999/modules/fixture_ticker").status_code == 404
    assert console.get("/platform/tenants/9999/health").status_code == 404
    assert console.post("/platform/tenants/9999/modules/fixture_ticker/install").status_code == 404


def test_an_account_manager_installs_a_restricted_module_for_a_tenant(pk):
    acme, globex = pk.tenant("acme"), pk.tenant("globex")
    console = pk.operator_pages()
    url = f"/platform/tenants/{acme.id}/modules/fixture_partner"
    html = console.get(url).text
    assert f'action="{url}/install"' in html and 'name="with_requirements"' in html
    assert 'name="licence_expires_at"' in html and 'type="date"' in html
    # Without its requirement: refused, beside the field, nothing installed.
    refused = console.post(f"{url}/install")
    assert refused.status_code == 409 and "fixture_ticker is not installed" in refused.text
    assert _entry(acme, "fixture_partner")["state"] == "available"
    assert console.post(f"{url}/install", {"with_requirements": "true"}, csrf=False).status_code == 403
    day = (utcnow() + timedelta(days=90)).date().isoformat()
    done = console.post(f"{url}/install", {"with_requirements": "true", "licence_expires_at": day})
    assert done.status_code == 303 and done.headers["location"] == f"{url}?notice=installed"
    entry = _entry(acme, "fixture_partner")
    assert entry["state"] == "enabled" and entry["licence_expires_at"][:10] == day
    assert _entry(acme, "fixture_ticker")["state"] == "enabled"
    assert _entry(globex, "fixture_partner")["state"] == "available"  # only the tenant named
    assert "The module is installed for the tenant." in console.get(done.headers["location"]).text


def test_an_invalid_licence_date_answers_422_naming_the_field(pk):
    acme = pk.tenant("acme")
    console = pk.operator_pages()
    url = f"/platform/tenants/{acme.id}/modules/fixture_partner"
    past = (utcnow() - timedelta(days=3)).date().isoformat()
    response = console.post(f"{url}/install", {"with_requirements": "true", "licence_expires_at": past})
    assert response.status_code == 422 and 'id="licence_expires_at-error"' in response.text
    garbled = console.post(f"{url}/install", {"with_requirements": "true", "licence_expires_at": "soon"})
    assert garbled.status_code == 422 and 'id="licence_expires_at-error"' in garbled.text
    assert _entry(acme, "fixture_partner")["state"] == "available"
    assert _entry(acme, "fixture_ticker")["state"] == "available"  # the requirement was undone too


def test_renewing_a_licence_extends_it_and_revives_an_expired_module(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_partner", with_requirements=True)
    operator = pk.operator()
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    expect(
        operator.post(
            f"/api/v1/platform/tenants/{acme.id}/marketplace/fixture_partner/licence",
            json={"expires_at": past},
        ),
        200,
    )
    assert _entry(acme, "fixture_partner")["state"] == "licence_expired"
    console = pk.operator_pages()
    url = f"/platform/tenants/{acme.id}/modules/fixture_partner"
    html = console.get(url).text
    assert "Licence expired" in html and f'action="{url}/licence"' in html
    bad = console.post(f"{url}/licence", {"expires_at": "not a date"})
    assert bad.status_code == 422 and 'id="expires_at-error"' in bad.text
    assert console.post(f"{url}/licence", {}).status_code == 422
    day = (utcnow() + timedelta(days=400)).date().isoformat()
    assert console.post(f"{url}/licence", {"expires_at": day}, csrf=False).status_code == 403
    assert console.post(f"{url}/licence", {"expires_at": day}).status_code == 303
    entry = _entry(acme, "fixture_partner")
    assert entry["state"] == "enabled" and entry["licence_expires_at"][:10] == day


def test_enable_and_disable_for_a_tenant(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    console = pk.operator_pages()
    url = f"/platform/tenants/{acme.id}/modules/fixture_ticker"
    assert f'action="{url}/disable"' in console.get(url).text
    assert console.post(f"{url}/disable").status_code == 303
    assert _entry(acme, "fixture_ticker")["state"] == "disabled"
    assert f'action="{url}/enable"' in console.get(url).text
    assert console.post(f"{url}/enable", csrf=False).status_code == 403
    assert console.post(f"{url}/enable").status_code == 303
    assert _entry(acme, "fixture_ticker")["state"] == "enabled"


def test_plugin_health_across_tenants_and_replay_per_tenant(pk):
    acme, globex = pk.tenant("acme", name="Acme Brokers"), pk.tenant("globex", name="Globex")
    acme.install("fixture_ticker")
    globex.install("fixture_ticker")
    failure_id = _failure(acme)
    console = pk.operator_pages()
    overview = console.get("/platform/health")
    assert overview.status_code == 200
    acme_row = overview.text.split(f'href="/platform/tenants/{acme.id}/health"')[1].split("</tr>")[0]
    assert "<td>1</td>" in acme_row
    globex_row = overview.text.split(f'href="/platform/tenants/{globex.id}/health"')[1].split("</tr>")[0]
    assert "<td>0</td>" in globex_row
    health = console.get(f"/platform/tenants/{acme.id}/health")
    replay = f"/platform/tenants/{acme.id}/failures/{failure_id}/replay"
    assert "misconfigured" in health.text and f'action="{replay}"' in health.text
    assert "misconfigured" not in console.get(f"/platform/tenants/{globex.id}/health").text
    # Another tenant's failure through this tenant's URL does not exist.
    assert console.post(f"/platform/tenants/{globex.id}/failures/{failure_id}/replay").status_code == 404
    assert console.post(replay, csrf=False).status_code == 403
    again = console.post(replay)
    assert again.status_code == 303 and again.headers["location"].endswith("notice=failed_again")
    expect(acme.admin.put(f"{API}/fixture_ticker/settings", json={"values": {"fail_events": False}}), 200)
    assert console.post(replay).headers["location"].endswith("notice=replayed")
    assert expect(acme.admin.get(f"{API}/failures"), 200)["items"][0]["resolved"] is True
    assert console.post(replay).status_code == 409
    assert f'action="{replay}"' not in console.get(f"/platform/tenants/{acme.id}/health").text


def test_plugin_health_shows_deferred_work_waiting_and_why_it_fails(pk):
    from core.scheduler.deferred import defer

    acme, globex = pk.tenant("acme", name="Acme Brokers"), pk.tenant("globex", name="Globex")
    acme.install("fixture_ticker")
    globex.install("fixture_ticker")
    expect(acme.admin.put(f"{API}/fixture_ticker/settings", json={"values": {"fail_events": True}}), 200)
    with acme.ctx() as ctx:  # tried at once as the commit returns, and failed: both wait
        defer(ctx, "fixture_ticker", "later", "1")
        defer(ctx, "fixture_ticker", "later", "2")
    console = pk.operator_pages()
    overview = console.get("/platform/health").text

    def deferred_cells(tenant) -> list[str]:  # the row's last two: waiting, failing
        row = overview.split(f'href="/platform/tenants/{tenant.id}/health"')[1].split("</tr>")[0]
        return [cell.strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)[-2:]]

    assert deferred_cells(acme) == ["2", "2"]
    assert deferred_cells(globex) == ["0", "0"]
    health = console.get(f"/platform/tenants/{acme.id}/health").text
    section = health.split('id="deferred-heading"')[1]
    row = section.split("<tbody>")[1].split("</tr>")[0]
    assert "fixture_ticker" in row and "<code>later</code>" in row and "misconfigured" in row
    assert "Nothing waiting" in console.get(f"/platform/tenants/{globex.id}/health").text
