"""The Leads module's back-office pages: the list (filters, CSV, bulk), the lead form with its
duplicate suggestions, the lead page's tabs (details, Leads Conversion with the three quick actions,
activities), the tags and the import wizard; each behind its API route's permission."""

from __future__ import annotations

import re

from core.sdk.testing import expect
from plugins.leads.tests.support import API, Desk

BASE = "/backoffice/plugins/leads"


def _pages(desk, permissions, **options):
    return desk.tenant.pages(desk.tenant.user(permissions, **options).label)


def test_each_page_opens_for_an_admin_and_is_refused_without_its_permission(desk):
    lead = desk.lead(email="lena@example.com")
    admin = desk.tenant.pages()
    dashboard = admin.get("/backoffice/").text
    assert f'href="{BASE}/"' in dashboard and f'href="{BASE}/imports"' in dashboard
    for path in ("/", "/leads/new", f"/leads/{lead['id']}", f"/leads/{lead['id']}/conversion",
                 f"/leads/{lead['id']}/activities", f"/leads/{lead['id']}/portal-account", "/tags",
                 "/imports"):  # fmt: skip
        assert admin.get(f"{BASE}{path}").status_code == 200, path

    reader = _pages(desk, ["leads.read"])
    assert reader.get(f"{BASE}/").status_code == 200
    page = reader.get(f"{BASE}/leads/{lead['id']}/conversion").text
    assert "Unregistered" in page and "Converting leads needs the permission" in page
    assert "Send registration email" not in page  # no quick action without leads.convert
    for path in ("/leads/new", "/imports", f"/leads/{lead['id']}/portal-account"):
        assert reader.get(f"{BASE}{path}").status_code == 403, path
    refused = reader.post(f"{BASE}/leads/{lead['id']}/registration-email", {"client_type": "trader"})
    assert refused.status_code == 403 and desk.get(lead)["last_email_sent_at"] is None
    outsider = _pages(desk, ["clients.read"])
    assert outsider.get(f"{BASE}/").status_code == 403
    assert f'href="{BASE}/"' not in outsider.get("/backoffice/").text


def test_the_list_filters_pages_exports_and_applies_bulk_actions(desk):
    red = expect(desk.admin.post(f"{API}/tags", json={"name": "Red"}), 201)
    first = desk.lead(name="Ada Alpha", source="event", tag_ids=[red["id"]])
    second = desk.lead(name="Bob Beta", source="website")
    admin = desk.tenant.pages()
    listing = admin.get(f"{BASE}/?source=event").text
    assert "Ada Alpha" in listing and "Bob Beta" not in listing
    swapped = admin.get(f"{BASE}/?tag_id={red['id']}", htmx=True, headers={"HX-Target": "listing"}).text
    assert "Ada Alpha" in swapped and "Bob Beta" not in swapped and "<h1>" not in swapped
    assert admin.get(f"{BASE}/?status=nonsense").status_code == 422
    exported = admin.get(f"{BASE}/leads.csv?source=website")
    assert exported.status_code == 200 and "Bob Beta" in exported.text and "Ada Alpha" not in exported.text

    done = admin.post(
        f"{BASE}/bulk", {"lead_ids": [first["id"], second["id"]], "action": "status", "status": "intention"}
    )
    assert done.status_code == 303
    notice = admin.get(done.headers["location"]).text
    assert "2 leads changed, 0 left as they were" in notice
    assert desk.get(first)["status"] == desk.get(second)["status"] == "intention"
    refused = admin.post(f"{BASE}/bulk", {"lead_ids": [first["id"]], "action": "status"})
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    assert desk.get(first)["status"] == "intention"


def test_creating_a_lead_suggests_duplicates_and_shows_field_errors(desk):
    desk.lead(name="Existing", email="ann@example.com")
    admin = desk.tenant.pages()
    suggested = admin.get(f"{BASE}/duplicates?email=ANN@example.com", htmx=True).text
    assert "Possible duplicates" in suggested and "Lead Existing" in suggested and "same e-mail" in suggested
    assert "Possible duplicates" not in admin.get(f"{BASE}/duplicates?email=not-an-address", htmx=True).text
    bad = admin.post(f"{BASE}/leads/new", {"name": "Ann", "email": "nope", "status": "intention"})
    assert bad.status_code == 422 and 'id="email-error"' in bad.text and 'value="Ann"' in bad.text
    made = admin.post(f"{BASE}/leads/new", {"name": "Ann Other", "email": "ann2@example.com",
                                            "phone": "+44 7911 123456", "status": "intention"})  # fmt: skip
    assert made.status_code == 303
    assert "The lead was created." in admin.get(made.headers["location"]).text
    lead_id = int(re.search(r"/leads/(\d+)", made.headers["location"]).group(1))
    created = expect(desk.admin.get(f"{API}/leads/{lead_id}"), 200)
    assert (created["phone_e164"], created["status"]) == ("+447911123456", "intention")
    # editing clears a field the form empties; the join date is the system's
    edited = admin.post(f"{BASE}/leads/{lead_id}", {"name": "Ann Other", "status": "followed_up"})
    assert edited.status_code == 303
    after = expect(desk.admin.get(f"{API}/leads/{lead_id}"), 200)
    assert (after["email"], after["status"], after["joined_at"]) == (
        None,
        "followed_up",
        created["joined_at"],
    )


def test_the_conversion_tab_sends_the_email_once_and_a_registered_lead_shows_no_action(desk):
    lead = desk.lead(email="lena@example.com")
    admin = desk.tenant.pages()
    tab = admin.get(f"{BASE}/leads/{lead['id']}/conversion").text
    assert "Last Email Sent" in tab and "Never" in tab
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', tab).group(1)
    form = {"client_type": "ib", "idempotency_key": key}
    sent = admin.post(f"{BASE}/leads/{lead['id']}/registration-email", form)
    assert sent.status_code == 303
    assert "The registration e-mail was sent." in admin.get(sent.headers["location"]).text
    assert (
        admin.post(f"{BASE}/leads/{lead['id']}/registration-email", form).status_code == 303
    )  # a double click
    assert len(desk.crm.emails_to("lena@example.com")) == 1
    too_soon = admin.post(f"{BASE}/leads/{lead['id']}/registration-email", {"client_type": "ib"})
    assert too_soon.status_code == 429 and "resend in" in too_soon.text
    assert "Never" not in admin.get(f"{BASE}/leads/{lead['id']}/conversion").text

    cora = {"client_type": "trader", "name": "Cora Client", "email": "cora@example.com"}
    client = expect(desk.admin.post("/api/v1/clients", json=cora), 201)
    other = desk.lead(name="Bound Lead", email="b@example.com", phone="+44 7911 654321")
    preview = admin.post(f"{BASE}/leads/{other['id']}/bind-preview", {"client": "cora@example.com"})
    assert (
        preview.status_code == 200
        and "Bind to Cora Client" in preview.text
        and "phone: +44 7911 654321" in preview.text
    )
    assert desk.get(other)["portal_status"] == "unregistered"  # a preview changes nothing
    unknown = admin.post(f"{BASE}/leads/{other['id']}/bind-preview", {"client": "nobody@example.com"})
    assert unknown.status_code == 422 and "no client has this e-mail address" in unknown.text
    bound = admin.post(f"{BASE}/leads/{other['id']}/bind", {"client_id": str(client["id"])})
    assert bound.status_code == 303
    after = admin.get(f"{BASE}/leads/{other['id']}/conversion").text
    assert "Registered" in after and "Cora Client" in after and "its quick actions are gone" in after
    assert "Send registration email" not in after and "Preview" not in after
    again = admin.post(f"{BASE}/leads/{other['id']}/bind", {"client_id": str(client["id"])})
    assert again.status_code == 409 and "Registered already" in again.text
    details = admin.get(f"{BASE}/leads/{other['id']}").text
    assert "<fieldset disabled" in details and "Delete the lead" not in details


def test_a_portal_account_from_the_prefilled_form(desk):
    lead = desk.lead(name="Pia Prospect", email="pia@example.com", country="DE")
    admin = desk.tenant.pages()
    form = admin.get(f"{BASE}/leads/{lead['id']}/portal-account").text
    assert 'value="Pia Prospect"' in form and 'value="pia@example.com"' in form and 'value="DE"' in form
    bad = admin.post(f"{BASE}/leads/{lead['id']}/portal-account", {"name": "Pia Prospect", "email": "x"})
    assert bad.status_code == 422 and 'id="pa-email-error"' in bad.text
    made = admin.post(
        f"{BASE}/leads/{lead['id']}/portal-account",
        {"client_type": "ib", "name": "Pia Prospect", "email": "pia@example.com", "country": "DE"},
    )
    assert made.status_code == 303
    after = desk.get(lead)
    assert (after["portal_status"], after["conversion"]) == ("registered", "portal_account")
    client = expect(desk.admin.get(f"/api/v1/clients/{after['client_id']}"), 200)
    assert (client["client_type"], client["country"]) == ("ib", "DE")
    assert desk.crm.emails_to("pia@example.com")  # welcomed: a link to choose a password


def test_activities_are_logged_and_listed(desk):
    lead = desk.lead()
    admin = desk.tenant.pages()
    logged = admin.post(
        f"{BASE}/leads/{lead['id']}/activities", {"kind": "call", "text": "Called, will think"}
    )
    assert (
        logged.status_code == 303 and "The activity was logged." in admin.get(logged.headers["location"]).text
    )
    empty = admin.post(f"{BASE}/leads/{lead['id']}/activities", {"kind": "call"})
    assert empty.status_code == 422 and 'id="text-error"' in empty.text
    timeline = admin.get(f"{BASE}/leads/{lead['id']}/activities").text
    assert timeline.index("Called, will think") < timeline.index("Created")  # newest first


def test_tags_are_created_and_deleted(desk):
    admin = desk.tenant.pages()
    created = admin.post(f"{BASE}/tags", {"name": "Hot", "colour": "#ff0000"})
    assert (
        created.status_code == 303 and "The tag was created." in admin.get(created.headers["location"]).text
    )
    duplicate = admin.post(f"{BASE}/tags", {"name": "Hot", "colour": "#ff0000"})
    assert duplicate.status_code in (409, 422) and "Hot" in duplicate.text
    tag = next(t for t in expect(desk.admin.get(f"{API}/tags"), 200) if t["name"] == "Hot")
    assert admin.post(f"{BASE}/tags/{tag['id']}/delete").status_code == 303
    assert expect(desk.admin.get(f"{API}/tags"), 200) == []


CSV = "Full name,Mail,Phone\nAda,ada@example.com,+44 7911 000001\nBad,not-an-address,\nAnn,ann@example.com,\n"


def _import_id(page: str) -> int:
    return int(re.search(r'name="import_id" value="(\d+)"', page).group(1))


def test_the_import_wizard_checks_maps_and_imports_only_valid_rows(desk):
    desk.lead(name="Known", email="ann@example.com")
    admin = desk.tenant.pages()
    upload = {"file": ("leads.csv", CSV.encode(), "text/csv")}
    unmapped = admin.post(f"{BASE}/imports", {}, files=upload, htmx=True)
    assert unmapped.status_code == 422 and "map a column to name" in unmapped.text
    assert "<h1>" not in unmapped.text  # the report only, offering the file's columns for each field
    assert '<select id="map-name" name="map_name">' in unmapped.text
    assert '<option value="Full name"' in unmapped.text
    mapping = {"map_name": "Full name", "map_email": "Mail", "map_phone": "Phone"}
    checked = admin.post(f"{BASE}/imports", mapping, files=upload, htmx=True).text
    assert "3 rows: 2 valid, 1 with errors, 1 duplicates skipped." in checked
    kept = _import_id(checked)
    # the kept file checked again with another mapping, without sending it again
    again = admin.post(f"{BASE}/imports", {"import_id": str(kept), "map_name": "Mail"}, htmx=True).text
    assert "3 rows: 3 valid, 0 with errors, 0 duplicates skipped." in again
    assert _import_id(again) == kept
    admin.post(f"{BASE}/imports", {"import_id": str(kept), **mapping}, htmx=True)
    refused = admin.post(f"{BASE}/imports/{kept}/start", {}, htmx=True)
    assert refused.status_code == 422 and "1 rows have errors" in refused.text
    assert expect(desk.admin.get(f"{API}/leads"), 200)["total"] == 1
    started = admin.post(f"{BASE}/imports/{kept}/start", {"only_valid": "true"}, htmx=True).text
    assert "0 of 3 rows" in started and f'hx-post="{BASE}/imports/{kept}/step"' in started
    done = admin.post(f"{BASE}/imports/{kept}/step", {}, htmx=True).text
    assert "3 of 3 rows · 1 leads imported · 1 duplicates skipped" in done and "/step" not in done
    names = {lead["name"] for lead in expect(desk.admin.get(f"{API}/leads"), 200)["items"]}
    assert names == {"Known", "Ada"}
    assert "3 of 3 rows" in admin.get(f"{BASE}/imports/{kept}").text  # its page, afterwards
    assert admin.post(f"{BASE}/imports/{kept}/start", {"only_valid": "true"}).status_code == 422  # once
    no_file = admin.post(f"{BASE}/imports", {})
    assert no_file.status_code == 422 and "choose a CSV file" in no_file.text
    latin = {"file": ("leads.csv", "name\nJosé\n".encode("latin-1"), "text/csv")}
    assert "not UTF-8" in admin.post(f"{BASE}/imports", {}, files=latin).text


def test_a_large_file_is_imported_step_by_step_and_resumes_after_an_interruption(desk, monkeypatch):
    from plugins.leads import import_files

    monkeypatch.setattr(import_files, "STEP", 2)
    admin = desk.tenant.pages()
    lines = ["name,email"] + [f"Lead {i},lead{i}@example.com" for i in range(5)] + ["Twin,lead0@example.com"]
    upload = {"file": ("five.csv", ("\n".join(lines) + "\n").encode(), "text/csv")}
    kept = _import_id(admin.post(f"{BASE}/imports", {}, files=upload, htmx=True).text)
    assert admin.post(f"{BASE}/imports/{kept}/start", {}).status_code == 303  # without htmx: its page
    first = admin.post(f"{BASE}/imports/{kept}/step", {}, htmx=True).text
    assert "2 of 6 rows · 2 leads imported" in first
    # the browser closed here: the import's page goes on from row 3
    page = admin.get(f"{BASE}/imports/{kept}").text
    assert "2 of 6 rows" in page and f'hx-post="{BASE}/imports/{kept}/step"' in page
    for _ in range(2):
        last = admin.post(f"{BASE}/imports/{kept}/step", {}, htmx=True).text
    assert "6 of 6 rows · 5 leads imported · 1 duplicates skipped" in last
    assert expect(desk.admin.get(f"{API}/leads"), 200)["total"] == 5
    other = Desk(desk.crm, "globex")  # another broker with the module: not theirs
    assert other.tenant.pages().get(f"{BASE}/imports/{kept}").status_code == 404
