"""Client Tier Upgrade's back-office pages: the rules list and form, the reports and their
Upgrade / Reject multi-select, each behind the same permission as its API route."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from core.sdk.testing import Worker, expect
from plugins.tier_upgrade.tests.support import API, Broker

BASE = "/backoffice/plugins/tier_upgrade"
READ, UPDATE = "tier_upgrade.settings.read", "tier_upgrade.settings.update"
REPORT, ACT = "tier_upgrade.report.read", "tier_upgrade.upgrade"


def _pages(broker: Broker, permissions: list[str]):
    return broker.tenant.pages(broker.tenant.user(permissions).label)


def _form(broker: Broker, **fields: Any) -> dict[str, str]:
    """The rule form as staff fill it: the rank's three tiers, in USD and EUR."""
    return {
        "name": "IB promotions",
        "method": "manual",
        "target": "both",
        "rank_id": str(broker.rank_id),
        "currency_relation": "or",
        "deposit_type": "deposit_request",
        "timezone": "Europe/London",
        "settlement_time": "18:00",
        "tiers.0.tier_id": str(broker.bronze),
        "tiers.0.currencies.USD.downline_total": "100",
        "tiers.1.tier_id": str(broker.silver),
        "tiers.1.branches_required": "2",
        "tiers.1.currencies.USD.downline_total": "500",
        "tiers.1.currencies.USD.branch_minimum": "100",
        "tiers.1.currencies.EUR.downline_total": "400",
        "tiers.2.tier_id": str(broker.gold),
        "tiers.2.currencies.USD.downline_total": "",  # left empty: Gold has no criteria
        **fields,
    }


def _rules(broker: Broker) -> list[dict[str, Any]]:
    return expect(broker.admin.get(f"{API}/rules"), 200)


# --- access ---------------------------------------------------------------------------------------


def test_each_page_opens_with_its_permission_and_is_refused_without(broker):
    rule = broker.rule()
    reader = _pages(broker, [READ, REPORT])
    dashboard = reader.get("/backoffice/")
    assert f'href="{BASE}/rules"' in dashboard.text and f'href="{BASE}/reports"' in dashboard.text
    rules = reader.get(f"{BASE}/rules")
    assert rules.status_code == 200 and "<h1>Tier upgrade settings</h1>" in rules.text
    assert "IB promotions" in rules.text and "IB Rank" in rules.text
    assert f"{BASE}/rules/{rule['id']}/edit" not in rules.text  # no Edit for a reader
    details = reader.get(f"{BASE}/rules/{rule['id']}")
    assert details.status_code == 200 and "1,000.00 USD" in details.text and "Silver" in details.text
    assert reader.get(f"{BASE}/reports").status_code == 200
    assert reader.get(f"{BASE}/rules/new").status_code == 403  # reading is not editing
    assert reader.get(f"{BASE}/rules/{rule['id']}/edit").status_code == 403
    assert reader.post(f"{BASE}/reports/act", {"action": "upgrade", "record_ids": "1"}).status_code == 403

    clerk = _pages(broker, ["clients.read"])
    dashboard = clerk.get("/backoffice/")
    assert f'href="{BASE}/rules"' not in dashboard.text and f'href="{BASE}/reports"' not in dashboard.text
    for path in ("/rules", f"/rules/{rule['id']}", "/reports"):
        assert clerk.get(f"{BASE}{path}").status_code == 403, path

    editor = _pages(broker, [READ, UPDATE])
    assert editor.get(f"{BASE}/rules/new").status_code == 200
    assert editor.get(f"{BASE}/reports").status_code == 403


def test_for_a_tenant_without_the_module_the_pages_do_not_exist(broker, crm):
    rule = broker.rule()
    other = crm.tenant("other")
    pages = other.pages()
    assert f'href="{BASE}/rules"' not in pages.get("/backoffice/").text
    for path in ("/rules", "/rules/new", "/reports", f"/rules/{rule['id']}"):
        assert pages.get(f"{BASE}{path}").status_code == 404, path
    # With the module, another broker's rule is still not theirs.
    other.install("tier_upgrade")
    assert pages.get(f"{BASE}/rules").status_code == 200
    assert pages.get(f"{BASE}/rules/{rule['id']}").status_code == 404
    assert pages.get(f"{BASE}/rules/{rule['id']}/edit").status_code == 404
    assert pages.post(f"{BASE}/rules/{rule['id']}/disable").status_code == 404
    assert _rules(broker)[0]["enabled"] is True


# --- the rule form --------------------------------------------------------------------------------


def test_choosing_a_rank_lists_its_tiers_lowest_first_with_each_currency(broker):
    pages = broker.tenant.pages()
    form = pages.get(f"{BASE}/rules/new")
    assert form.status_code == 200
    assert f'hx-get="{BASE}/rules/tiers"' in form.text and 'hx-target="#tiers"' in form.text
    assert "Choose a rank to set the criteria of its tiers." in form.text
    fragment = pages.get(f"{BASE}/rules/tiers", params={"rank_id": broker.rank_id}, htmx=True)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    rows = re.findall(r'<th scope="row">(\w+)', fragment.text)
    assert rows == ["Bronze", "Silver", "Gold"]
    for name in ("tiers.2.currencies.EUR.branch_minimum", "tiers.0.currencies.USD.downline_total"):
        assert f'name="{name}"' in fragment.text
    assert "GBP" not in fragment.text  # the broker's base currencies only
    assert pages.get(f"{BASE}/rules/tiers", params={"rank_id": 987654}, htmx=True).status_code == 422
    blank = pages.get(f"{BASE}/rules/tiers", params={"rank_id": ""}, htmx=True)  # "Choose a rank" again
    assert blank.status_code == 200 and "Choose a rank to set the criteria" in blank.text


def test_a_valid_rule_is_created_and_shown(broker):
    pages = broker.tenant.pages()
    created = pages.post(f"{BASE}/rules/new", _form(broker))
    assert created.status_code == 303, created.text[:2000]
    [rule] = _rules(broker)
    assert created.headers["location"] == f"{BASE}/rules/{rule['id']}"
    assert (rule["method"], rule["currency_relation"], rule["settlement_time"]) == ("manual", "or", "18:00")
    assert [(t["tier_name"], t["branches_required"]) for t in rule["tiers"]] == [("Bronze", 0), ("Silver", 2)]
    assert rule["tiers"][1]["currencies"] == {
        "EUR": {"downline_total": "400.00", "branch_minimum": "0.00"},
        "USD": {"downline_total": "500.00", "branch_minimum": "100.00"},
    }
    listing = pages.get(f"{BASE}/rules")
    assert "IB promotions" in listing.text and "Sundays at 18:00 (Europe/London)" in listing.text
    # The rank now has its rule: the form offers it no more.
    assert "(has a rule)" in pages.get(f"{BASE}/rules/new").text


def test_invalid_input_is_shown_beside_its_field_and_nothing_is_written(broker, crm):
    pages = broker.tenant.pages()
    before = crm.snapshot()
    bad = pages.post(
        f"{BASE}/rules/new",
        _form(broker, **{"name": "", "tiers.1.currencies.USD.branch_minimum": "900"}),
    )
    assert bad.status_code == 422
    assert 'id="name-error"' in bad.text
    assert '<a href="#f-name">name</a>' in bad.text  # the summary links to the field
    field = "tiers.1.currencies.USD.branch_minimum"
    assert crm.snapshot() == before and _rules(broker) == []
    # The branch minimum above the downline total, on its own row (Silver, the second).
    over = pages.post(f"{BASE}/rules/new", _form(broker, **{field: "900"}))
    assert over.status_code == 422
    assert f'<small id="{field}-error" class="field-error" role="alert">cannot exceed' in over.text
    assert 'value="900"' in over.text  # what was typed stays
    assert crm.snapshot() == before
    time = pages.post(f"{BASE}/rules/new", _form(broker, settlement_time="25:00"))
    assert time.status_code == 422 and 'id="settlement_time-error"' in time.text
    assert crm.snapshot() == before


def test_posting_without_the_csrf_token_is_refused(broker, crm):
    rule = broker.rule()
    pages = broker.tenant.pages()
    before = crm.snapshot()
    assert pages.post(f"{BASE}/rules/new", _form(broker), csrf=False).status_code == 403
    assert pages.post(f"{BASE}/rules/{rule['id']}/delete", csrf=False).status_code == 403
    assert pages.post(f"{BASE}/reports/act", {"action": "reject"}, csrf=False).status_code == 403
    assert crm.snapshot() == before


def test_editing_disabling_and_deleting_a_rule(broker):
    rule = broker.rule()
    pages = broker.tenant.pages()
    edit = pages.get(f"{BASE}/rules/{rule['id']}/edit")
    assert edit.status_code == 200
    assert (
        'name="tiers.2.currencies.EUR.downline_total" type="text" inputmode="decimal" value="500.00"'
        in edit.text
    )
    form = {
        "name": "Renamed",
        "method": "auto",
        "target": "ibs",
        "currency_relation": "and",
        "timezone": "Asia/Tokyo",
        "settlement_time": "09:30",
        "tiers.0.tier_id": str(broker.bronze),
        "tiers.0.currencies.USD.downline_total": "150",
    }
    saved = pages.post(f"{BASE}/rules/{rule['id']}/edit", form)
    assert saved.status_code == 303 and saved.headers["location"] == f"{BASE}/rules/{rule['id']}"
    [after] = _rules(broker)
    assert (after["name"], after["method"], after["timezone"]) == ("Renamed", "auto", "Asia/Tokyo")
    assert [t["tier_name"] for t in after["tiers"]] == ["Bronze"]
    emptied = pages.post(f"{BASE}/rules/{rule['id']}/edit", {**form, "name": ""})
    assert emptied.status_code == 422 and 'id="name-error"' in emptied.text
    assert _rules(broker)[0]["name"] == "Renamed"

    assert pages.post(f"{BASE}/rules/{rule['id']}/disable").headers["location"] == f"{BASE}/rules"
    assert _rules(broker)[0]["enabled"] is False
    assert ">Enable</button>" in pages.get(f"{BASE}/rules").text
    pages.post(f"{BASE}/rules/{rule['id']}/enable")
    assert _rules(broker)[0]["enabled"] is True
    listing = pages.get(f"{BASE}/rules").text
    assert (
        f'<dialog id="delete-rule-{rule["id"]}" aria-labelledby="delete-rule-{rule["id"]}-title"' in listing
    )
    assert pages.post(f"{BASE}/rules/{rule['id']}/delete").status_code == 303
    assert _rules(broker) == []
    assert "No tier upgrade rule yet." in pages.get(f"{BASE}/rules").text


def test_while_the_settlement_runs_edits_are_refused_with_a_notice(broker):
    rule = broker.rule()
    pages = broker.tenant.pages()
    worker = Worker(broker.crm.runtime)
    (claim,) = worker.claim(datetime.fromisoformat(rule["next_settlement_at"]) + timedelta(minutes=1))
    listing = pages.get(f"{BASE}/rules")
    assert "A settlement is in progress." in listing.text and "Settling now" in listing.text
    edit = pages.get(f"{BASE}/rules/{rule['id']}/edit")
    assert edit.status_code == 200 and "its settings cannot be edited now" in edit.text
    assert "<fieldset disabled>" in edit.text
    form = {
        "name": "Mid-run",
        "method": "manual",
        "target": "both",
        "currency_relation": "and",
        "timezone": "Europe/London",
        "settlement_time": "18:00",
        "tiers.0.tier_id": str(broker.bronze),
        "tiers.0.currencies.USD.downline_total": "100",
    }
    refused = pages.post(f"{BASE}/rules/{rule['id']}/edit", form)
    assert refused.status_code == 409 and 'role="alert"' in refused.text
    assert "A settlement is in progress." in refused.text
    disabled = pages.post(f"{BASE}/rules/{rule['id']}/disable")
    assert disabled.status_code == 409 and "settlement is in progress" in disabled.text
    assert pages.post(f"{BASE}/rules/{rule['id']}/delete").status_code == 409
    assert (_rules(broker)[0]["name"], _rules(broker)[0]["enabled"]) == ("IB promotions", True)
    assert worker.execute(claim).status.value == "succeeded"
    assert "A settlement is in progress." not in pages.get(f"{BASE}/rules").text
    assert pages.post(f"{BASE}/rules/{rule['id']}/edit", form).status_code == 303
    assert _rules(broker)[0]["name"] == "Mid-run"


# --- the reports ----------------------------------------------------------------------------------


def _settled_manual(broker: Broker) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Two IBs listed as pending in the manual report (Silver), one rule."""
    ibs = []
    for _ in range(2):
        ib = broker.ranked(client_type="ib", tier=broker.bronze)
        for _ in range(2):
            broker.deposit(broker.client(ib), "300")
        ibs.append(ib)
    rule = broker.rule()
    broker.settle(rule["id"])
    return rule, ibs[0], ibs[1]


def test_the_report_dropdown_status_filter_and_paging(broker):
    _settled_manual(broker)
    pages = _pages(broker, [REPORT, ACT])
    auto = pages.get(f"{BASE}/reports")
    assert auto.status_code == 200 and "<h2>Auto upgrade report</h2>" in auto.text
    assert "No tier upgrade record here." in auto.text
    manual = pages.get(f"{BASE}/reports", params={"method": "manual"})
    assert "<h2>Manual upgrade report</h2>" in manual.text
    assert manual.text.count('name="record_ids"') == 2 and "600.00 USD" in manual.text
    fragment = pages.get(f"{BASE}/reports", params={"method": "manual", "status": ""}, htmx=True)
    assert fragment.status_code == 200 and "<html" not in fragment.text and "Pending" in fragment.text
    none = pages.get(f"{BASE}/reports", params={"method": "manual", "status": "success"})
    assert 'name="record_ids"' not in none.text
    paged = pages.get(f"{BASE}/reports", params={"method": "manual", "per_page": 1})
    assert paged.text.count('name="record_ids"') == 1 and "2 in all · page 1 of 2" in paged.text
    assert "method=manual&amp;per_page=1&amp;page=2" in paged.text
    assert pages.get(f"{BASE}/reports", params={"method": "weekly"}).status_code == 422
    assert (
        f'href="{BASE}/reports/export?method=manual&amp;status=pending"'
        in pages.get(f"{BASE}/reports", params={"method": "manual", "status": "pending"}).text
    )
    export = pages.get(f"{BASE}/reports/export", params={"method": "manual", "status": ""})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = export.text.strip().splitlines()
    assert lines[0].startswith("id,settlement_date") and len(lines) == 3 and ",pending," in lines[1]
    assert _pages(broker, ["clients.read"]).get(f"{BASE}/reports/export").status_code == 403


def test_upgrading_the_chosen_records_changes_the_clients_tier(broker, crm):
    _, first, second = _settled_manual(broker)
    records = {r["client_id"]: r["id"] for r in broker.report()}
    pages = _pages(broker, [REPORT, ACT])
    done = pages.post(
        f"{BASE}/reports/act",
        {"action": "upgrade", "record_ids": [str(records[first["id"]])], "method": "manual"},
    )
    assert (
        done.status_code == 303 and done.headers["location"] == f"{BASE}/reports?method=manual&acted=upgrade"
    )
    assert broker.tier_of(first) == broker.silver and broker.tier_of(second) == broker.bronze
    shown = pages.get(done.headers["location"])
    assert "The chosen records were upgraded" in shown.text and "Success" in shown.text
    statuses = {r["client_id"]: r["status"] for r in broker.report()}
    assert statuses == {first["id"]: "success", second["id"]: "pending"}
    # A record already decided cannot be chosen again: the whole selection is refused.
    before = crm.snapshot()
    both = [str(records[first["id"]]), str(records[second["id"]])]
    refused = pages.post(f"{BASE}/reports/act", {"action": "reject", "record_ids": both, "method": "manual"})
    assert refused.status_code == 409 and "only pending and failed records" in refused.text
    assert crm.snapshot() == before and broker.report(status="pending")[0]["client_id"] == second["id"]
    nothing = pages.post(f"{BASE}/reports/act", {"action": "reject", "method": "manual"})
    assert nothing.status_code == 422 and 'role="alert"' in nothing.text
    rejected = pages.post(
        f"{BASE}/reports/act", {"action": "reject", "record_ids": [both[1]], "method": "manual"}
    )
    assert rejected.status_code == 303 and broker.tier_of(second) == broker.bronze
    assert broker.report(status="rejected")[0]["client_id"] == second["id"]


def test_expired_records_offer_no_action(broker):
    ibs = [broker.ranked(client_type="ib", tier=broker.bronze) for _ in range(2)]
    for ib in ibs:
        for _ in range(2):
            broker.deposit(broker.client(ib), "300")
    rule = broker.rule()
    broker.settle(rule["id"], datetime.now(UTC) - timedelta(seconds=5))
    broker.settle(rule["id"])  # the newer settlement expires the older one's open records
    pending = {r["id"] for r in broker.report(status="pending")}
    expired = {r["id"] for r in broker.report(status="expired")}
    assert len(pending) == len(expired) == 2
    pages = _pages(broker, [REPORT, ACT])
    report = pages.get(f"{BASE}/reports", params={"method": "manual"}).text
    assert report.count("No action: expired") == 2
    assert {int(i) for i in re.findall(r'name="record_ids" value="(\d+)"', report)} == pending
    only = pages.get(f"{BASE}/reports", params={"method": "manual", "status": "expired"}).text
    assert only.count("No action: expired") == 2 and 'name="record_ids"' not in only
    reader = _pages(broker, [REPORT])
    shown = reader.get(f"{BASE}/reports", params={"method": "manual"}).text
    assert ">Upgrade</button>" not in shown and 'name="record_ids"' not in shown
