"""The Status System's back-office pages: the ladder and its form, the rule editor with its dry
run, the panel on a client's page and the reports, each behind the permission of its API route."""

from __future__ import annotations

import re
from typing import Any

from core.sdk.testing import expect
from plugins.status_system.tests.support import API, Broker, deposits_at_least

BASE = "/backoffice/plugins/status_system"
READ, UPDATE, ASSIGN = "status_system.read", "status_system.update", "status_system.assign"


def _pages(broker: Broker, permissions: list[str], **options: Any):
    return broker.tenant.pages(broker.tenant.user(permissions, **options).label)


def _statuses(broker: Broker) -> list[dict[str, Any]]:
    return expect(broker.admin.get(f"{API}/statuses"), 200)


def _names(broker: Broker) -> list[str]:
    return [s["name"] for s in _statuses(broker)]


def _leaf(fid: str, metric: str, operator: str, value: Any, **more: str) -> dict[str, Any]:
    return {
        f"{fid}.kind": "leaf",
        f"{fid}.metric": metric,
        f"{fid}.operator": operator,
        f"{fid}.value": value,
        **{f"{fid}.{k}": v for k, v in more.items()},
    }


# --- access ---------------------------------------------------------------------------------------


def test_each_page_opens_for_an_admin_and_is_refused_without_the_permission(broker):
    client = broker.client()
    admin = broker.tenant.pages()
    dashboard = admin.get("/backoffice/")
    assert f'href="{BASE}/statuses"' in dashboard.text and f'href="{BASE}/reports"' in dashboard.text
    ladder = admin.get(f"{BASE}/statuses")
    assert ladder.status_code == 200 and "<h1>Statuses</h1>" in ladder.text
    assert ladder.text.index("Base") < ladder.text.index("Silver") < ladder.text.index("Gold")
    assert "Approved deposits" in ladder.text and "By hand only" in ladder.text  # rules in words
    for path in (
        "/statuses/new",
        f"/statuses/{broker.gold['id']}/edit",
        f"/statuses/{broker.gold['id']}/rule",
        "/reports",
        f"/clients/{client['id']}",
    ):
        assert admin.get(f"{BASE}{path}").status_code == 200, path
    assert 'id="status-panel"' in admin.get(f"/backoffice/clients/{client['id']}").text

    reader = _pages(broker, [READ, "clients.read"])
    ladder = reader.get(f"{BASE}/statuses")
    assert ladder.status_code == 200 and "Gold" in ladder.text
    assert f"{BASE}/statuses/new" not in ladder.text and "Move up" not in ladder.text  # no editing controls
    assert reader.get(f"{BASE}/statuses/new").status_code == 403
    assert reader.get(f"{BASE}/statuses/{broker.gold['id']}/rule").status_code == 403
    assert reader.post(f"{BASE}/statuses/new", {"name": "VIP"}).status_code == 403
    assert reader.post(f"{BASE}/statuses/{broker.gold['id']}/delete", {}).status_code == 403
    assert reader.post(f"{BASE}/statuses/order", {"status_ids": ["1"]}).status_code == 403
    panel = reader.get(f"/backoffice/clients/{client['id']}").text
    assert 'id="status-panel"' in panel and "Assign a status" not in panel  # no assign form
    body = {"status_id": str(broker.gold["id"]), "mode": "lock", "reason": "x"}
    assert reader.post(f"{BASE}/clients/{client['id']}/assign", body).status_code == 403

    clerk = _pages(broker, ["clients.read"])
    assert f'href="{BASE}/statuses"' not in clerk.get("/backoffice/").text
    for path in ("/statuses", "/reports", f"/clients/{client['id']}", "/reports/by-status.csv"):
        assert clerk.get(f"{BASE}{path}").status_code == 403, path
    assert 'id="status-panel"' not in clerk.get(f"/backoffice/clients/{client['id']}").text


def test_for_a_tenant_without_the_module_the_pages_do_not_exist(broker, crm):
    other = crm.tenant("other")
    assert other.pages().get(f"{BASE}/statuses").status_code == 404


# --- the ladder -----------------------------------------------------------------------------------


def test_a_status_is_created_and_edited_through_its_form_with_field_errors(broker):
    admin = broker.tenant.pages()
    refused = admin.post(f"{BASE}/statuses/new", {"name": "", "colour": "red", "icon": "rocket"})
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text and 'id="colour-error"' in refused.text
    duplicate = admin.post(f"{BASE}/statuses/new", {"name": "Gold", "colour": "#ffd700", "icon": "star"})
    assert duplicate.status_code in (409, 422) and "Gold" in duplicate.text

    created = admin.post(
        f"{BASE}/statuses/new",
        {
            "name": "Platinum",
            "caption": "The very best",
            "description": "No-commission deposits.",
            "colour": "#e5e4e2",
            "icon": "trophy",
            "visible_to_clients": "true",
            "grants": "Deposit bonuses",
            "position": "3",
        },
    )
    assert created.status_code == 303
    platinum = _statuses(broker)[-1]
    assert (platinum["name"], platinum["icon"], platinum["colour"]) == ("Platinum", "trophy", "#e5e4e2")
    assert platinum["visible_to_clients"] is True and platinum["criteria"] is None

    form = admin.get(f"{BASE}/statuses/{platinum['id']}/edit").text
    assert 'value="Platinum"' in form and "The very best" in form
    edited = admin.post(
        f"{BASE}/statuses/{platinum['id']}/edit",
        {
            "name": "Platinum+",
            "colour": "#e5e4e2",
            "icon": "star",
            "caption": "",
        },
    )
    assert edited.status_code == 303
    after = expect(broker.admin.get(f"{API}/statuses/{platinum['id']}"), 200)
    assert (after["name"], after["caption"], after["visible_to_clients"]) == ("Platinum+", "", False)
    bad = admin.post(f"{BASE}/statuses/{platinum['id']}/edit", {"name": "Gold", "colour": "#000000"})
    assert bad.status_code in (409, 422) and "Platinum+" in bad.text


def test_the_ladder_is_reordered_with_move_buttons(broker):
    admin = broker.tenant.pages()
    ladder = admin.get(f"{BASE}/statuses").text
    assert ladder.count(f'name="moved" value="{broker.gold["id"]}"') == 1  # Gold is the top: down only
    assert ladder.count(f'name="moved" value="{broker.silver["id"]}"') == 2
    order = [broker.base["id"], broker.gold["id"], broker.silver["id"]]
    moved = admin.post(
        f"{BASE}/statuses/order", {"status_ids": [str(i) for i in order], "moved": str(broker.gold["id"])}
    )
    assert moved.status_code == 303 and moved.headers["location"].endswith(f"#status-{broker.gold['id']}")
    assert _names(broker) == ["Base", "Gold", "Silver"]
    wrong = admin.post(f"{BASE}/statuses/order", {"status_ids": [str(broker.base["id"])]})
    assert wrong.status_code == 422 and "exactly once" in wrong.text


def test_deleting_a_held_status_requires_choosing_where_its_clients_go(broker):
    admin = broker.tenant.pages()
    client = broker.client()
    broker.deposit(client, "1500")
    assert broker.status_of(client) == "Silver"
    ladder = admin.get(f"{BASE}/statuses").text
    assert "1 clients hold it" in ladder
    refused = admin.post(f"{BASE}/statuses/{broker.silver['id']}/delete", {})
    assert refused.status_code == 409 and "choose a status to move them to" in refused.text
    assert "data-open-on-load" in refused.text  # the dialog opens again, with the message
    moved = admin.post(
        f"{BASE}/statuses/{broker.silver['id']}/delete", {"reassign_to": str(broker.base["id"])}
    )
    assert moved.status_code == 303
    assert _names(broker) == ["Base", "Gold"] and broker.status_of(client) == "Base"
    assert admin.post(f"{BASE}/statuses/{broker.gold['id']}/delete", {}).status_code == 303  # no holder
    assert _names(broker) == ["Base"]


# --- the rule editor ------------------------------------------------------------------------------


def test_the_rule_editor_builds_a_tree_and_saves_it(broker):
    admin = broker.tenant.pages()
    url = f"{BASE}/statuses/{broker.gold['id']}/rule"
    editor = admin.get(url)
    assert editor.status_code == 200 and 'name="n.kind" value="leaf"' in editor.text
    assert 'name="n.metric"' in editor.text and 'value="10000"' in editor.text  # the stored rule: one leaf
    one = {"mode": "rules", **_leaf("n", "deposits_sum", ">=", "10000", currency="USD")}
    wrapped = admin.post(f"{url}?op=add_leaf&at=n", one, htmx=True)
    assert (
        'name="n.kind"' in wrapped.text
        and 'name="n.0.metric"' in wrapped.text
        and 'name="n.1.metric"' in wrapped.text
    )

    form = {"mode": "rules", "n.kind": "all", **_leaf("n.0", "deposits_sum", ">=", "10000", currency="USD")}
    grown = admin.post(f"{url}?op=add_group&at=n", form, htmx=True)
    assert (
        grown.status_code == 200 and 'name="n.1.kind"' in grown.text and 'name="n.1.0.metric"' in grown.text
    )
    assert "<h1>" not in grown.text  # the editor fragment only
    added = admin.post(f"{url}?op=add_leaf&at=n", form, htmx=True)
    assert 'name="n.1.metric"' in added.text
    negated = admin.post(f"{url}?op=negate&at=n.0", form, htmx=True)
    assert 'name="n.0.kind" value="not"' in negated.text and 'name="n.0.0.metric"' in negated.text
    removed = admin.post(f"{url}?op=remove&at=n.0", form, htmx=True)
    assert 'name="n.0.metric"' not in removed.text and "No condition in this group yet" in removed.text

    tree = {
        "mode": "rules",
        "n.kind": "all",
        **_leaf("n.0", "deposits_sum", ">=", "5000", currency="USD", window_days="30"),
        "n.1.kind": "any",
        **_leaf("n.1.0", "kyc_status", "in", "verified"),
        **_leaf("n.1.1", "client_type", "in", ["trader", "ib"]),
        "n.2.kind": "not",
        **_leaf("n.2.0", "country", "in", "US"),
    }
    saved = admin.post(f"{url}?op=save", tree)
    assert saved.status_code == 303, saved.text
    criteria = expect(broker.admin.get(f"{API}/statuses/{broker.gold['id']}"), 200)["criteria"]
    assert criteria == {
        "all": [
            {
                "metric": "deposits_sum",
                "operator": ">=",
                "value": "5000",
                "currency": "USD",
                "window_days": 30,
            },
            {
                "any": [
                    {"metric": "kyc_status", "operator": "in", "value": ["verified"]},
                    {"metric": "client_type", "operator": "in", "value": ["trader", "ib"]},
                ]
            },
            {"not": {"metric": "country", "operator": "in", "value": ["US"]}},
        ]
    }
    shown = admin.get(url).text  # the saved tree comes back as it was built
    assert 'name="n.2.kind" value="not"' in shown and 'value="5000"' in shown
    assert "all of" in admin.get(f"{BASE}/statuses").text


def test_the_rule_editor_shows_errors_at_the_failing_condition(broker):
    admin = broker.tenant.pages()
    url = f"{BASE}/statuses/{broker.gold['id']}/rule"
    tree = {
        "mode": "rules",
        "n.kind": "all",
        **_leaf("n.0", "deposits_sum", ">=", "1000", currency="USD"),
        **_leaf("n.1", "deposits_sum", ">=", "abc", currency="USD"),
    }
    refused = admin.post(f"{url}?op=save", tree)
    assert refused.status_code == 422
    assert 'id="n.1.value-error"' in refused.text and 'id="n.0.value-error"' not in refused.text
    no_currency = admin.post(
        f"{url}?op=save", {"mode": "rules", "n.kind": "all", **_leaf("n.0", "deposits_sum", ">=", "5")}
    )
    assert no_currency.status_code == 422 and 'id="n.0.currency-error"' in no_currency.text
    assert "name the currency" in no_currency.text
    empty = admin.post(f"{url}?op=save", {"mode": "rules", "n.kind": "any"})
    assert empty.status_code == 422 and 'id="n-error"' in empty.text
    criteria = expect(broker.admin.get(f"{API}/statuses/{broker.gold['id']}"), 200)["criteria"]
    assert criteria == deposits_at_least("10000")  # nothing saved


def test_the_dry_run_counts_who_would_move_and_by_hand_only_clears_the_rule(broker):
    admin = broker.tenant.pages()
    for amount in ("1500", "6000", "20000"):
        broker.deposit(broker.client(), amount)
    url = f"{BASE}/statuses/{broker.gold['id']}/rule"
    tree = {"mode": "rules", "n.kind": "all", **_leaf("n.0", "deposits_sum", ">=", "5000", currency="USD")}
    dry = admin.post(f"{url}?op=dry_run", tree, htmx=True)
    assert dry.status_code == 200
    assert re.search(r"1 clients would move up, 0 down \(of 3\)", dry.text), dry.text
    assert expect(broker.admin.get(f"{API}/statuses/{broker.gold['id']}"), 200)[
        "criteria"
    ] == deposits_at_least("10000")  # a dry run saves nothing
    manual = admin.post(f"{url}?op=save", {**tree, "mode": "manual"})
    assert manual.status_code == 303
    assert expect(broker.admin.get(f"{API}/statuses/{broker.gold['id']}"), 200)["criteria"] is None
    assert 'id="mode-manual" name="mode" value="manual" checked' in admin.get(url).text


# --- the client panel -----------------------------------------------------------------------------


def test_the_client_panel_shows_status_progress_checklist_and_locks(broker):
    admin = broker.tenant.pages()
    client = broker.client()
    broker.deposit(client, "2500")
    page = admin.get(f"/backoffice/clients/{client['id']}").text
    assert "<strong>Silver</strong>" in page
    assert 'role="progressbar"' in page and 'aria-valuenow="25"' in page and 'aria-valuemax="100"' in page
    assert "Progress to Gold" in page and "USD 7,500.00 more" in page
    assert "Recent changes" in page and "Base → Silver" in page

    form = {"status_id": str(broker.gold["id"]), "mode": "lock", "reason": "VIP by agreement"}
    locked = admin.post(f"{BASE}/clients/{client['id']}/assign", form)
    assert locked.status_code == 303 and locked.headers["location"].startswith(
        f"/backoffice/clients/{client['id']}"
    )
    standing = broker.standing(client)
    assert standing["status"] == "Gold" and standing["lock"]["reason"] == "VIP by agreement"
    page = admin.get(f"/backoffice/clients/{client['id']}").text
    assert "Locked at Gold" in page and "VIP by agreement" in page and "Lift the lock" in page

    no_reason = admin.post(f"{BASE}/clients/{client['id']}/assign", {**form, "reason": ""}, htmx=True)
    assert no_reason.status_code == 422 and 'id="ss-reason-error"' in no_reason.text
    once = admin.post(
        f"{BASE}/clients/{client['id']}/assign",
        {**form, "status_id": str(broker.base["id"]), "mode": "once"},
        htmx=True,
    )
    assert once.status_code == 409 and "a lock holds this client" in once.text
    lifted = admin.post(
        f"{BASE}/clients/{client['id']}/release", {"what": "lock", "reason": "ended"}, htmx=True
    )
    assert lifted.status_code == 200 and 'id="status-panel"' in lifted.text and "Locked at" not in lifted.text
    assert broker.status_of(client) == "Silver"  # a locked status was not earned: the rules decide again
    again = admin.post(f"{BASE}/clients/{client['id']}/release", {"what": "lock"}, htmx=True)
    assert again.status_code == 409 and "has no lock" in again.text

    expiring = {**form, "mode": "floor", "expires_at": "2999-01-01T10:00"}
    assert admin.post(f"{BASE}/clients/{client['id']}/assign", expiring).status_code == 303
    assert broker.standing(client)["floor"]["expires_at"].startswith("2999-01-01")


# --- the reports ----------------------------------------------------------------------------------


def test_the_reports_show_counts_changes_and_history_within_data_permissions(broker, crm):
    admin = broker.tenant.pages()
    first, second = broker.client(), broker.client()
    broker.deposit(first, "1500")
    broker.deposit(second, "12000")
    report = admin.get(f"{BASE}/reports")
    assert report.status_code == 200 and "<h1>Status reports</h1>" in report.text
    assert re.search(r"<th scope=\"row\">Silver</th><td>1</td>", report.text)
    assert f'href="{BASE}/reports/by-status.csv"' in report.text
    csv = admin.get(f"{BASE}/reports/by-status.csv")
    assert (
        csv.status_code == 200 and "Gold" in csv.text and csv.headers["content-type"].startswith("text/csv")
    )
    filtered = admin.get(
        f"{BASE}/reports", params={"client_id": str(first["id"]), "cause": "rule", "bucket": "month"}
    )
    assert filtered.status_code == 200, re.findall(r"<li>.*?</li>", filtered.text)
    assert f"Client {first['id']}<" in filtered.text
    assert f"Client {second['id']}<" not in filtered.text
    assert f"/reports/history.csv?cause=rule&amp;client_id={first['id']}" in filtered.text
    history_csv = admin.get(f"{BASE}/reports/history.csv", params={"client_id": first["id"]})
    assert history_csv.status_code == 200 and "Silver" in history_csv.text and "Gold" not in history_csv.text
    changes_csv = admin.get(f"{BASE}/reports/changes.csv", params={"bucket": "week"})
    assert changes_csv.status_code == 200 and "period,up,down,same_level" in changes_csv.text
    assert admin.get(f"{BASE}/reports", params={"bucket": "year"}).status_code == 422
    blank = admin.get(f"{BASE}/reports", params={"cause": "", "status_id": "", "client_id": "", "since": ""})
    assert blank.status_code == 200  # the filter form sends "any" empty
    fragment = admin.get(f"{BASE}/reports", params={"page": "1"}, htmx=True)
    assert "<h1>" not in fragment.text and "History" in fragment.text

    agent = broker.tenant.user([READ, "clients.read"], scope="own")
    mine = broker.client(assigned_user_id=agent.user_id)
    broker.deposit(mine, "1200")
    own = broker.tenant.pages(agent.label)
    report = own.get(f"{BASE}/reports").text
    assert f"Client {mine['id']}<" in report and f"Client {first['id']}<" not in report
    assert re.search(r"<th scope=\"row\">Silver</th><td>1</td>", report)
    assert re.search(r"<th scope=\"row\">Gold</th><td>0</td>", report)
    assert own.get(f"{BASE}/clients/{first['id']}").status_code == 404
    assert own.get(f"{BASE}/clients/{mine['id']}").status_code == 200


def test_the_client_panel_says_what_keeps_a_status_at_risk(broker):
    client = broker.silver_at_risk()
    page = broker.tenant.pages().get(f"/backoffice/clients/{client['id']}").text
    assert "At risk: the rules no longer hold Silver." in page
    assert "Approved deposits (USD), last 30 days: at least USD 900.00 (now USD 920.00)" in page
