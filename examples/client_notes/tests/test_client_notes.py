"""Client Notes' own tests: run them with `pytest examples/client_notes` once it is installed."""

from core.sdk.testing import Worker, expect

API = "/api/v1/plugins/client_notes"


def test_notes_respect_data_permissions(crm):
    acme = crm.tenant("acme")
    acme.install("client_notes")
    agent = acme.user(["client_notes.read", "client_notes.write", "clients.read"], scope="own")
    mine, other = acme.client(assigned_user_id=agent.user_id), acme.client()
    expect(agent.post(f"{API}/clients/{mine['id']}/notes", json={"text": "Called; wants a demo."}), 201)
    assert agent.post(f"{API}/clients/{other['id']}/notes", json={"text": "x"}).status_code == 404
    assert [n["text"] for n in expect(agent.get(f"{API}/clients/{mine['id']}/notes"), 200)] == [
        "Called; wants a demo."
    ]


def test_the_weekly_digest_counts_notes(crm):
    acme = crm.tenant("acme")
    acme.install("client_notes")
    client = acme.client()
    expect(acme.admin.post(f"{API}/clients/{client['id']}/notes", json={"text": "hello"}), 201)
    run = Worker(crm.runtime).run_now("acme", "client_notes.weekly_digest")
    assert run.status.value == "succeeded", run.error
    assert expect(acme.admin.get(f"{API}/digests"), 200)[0]["notes"] == 1


# --- pages ---------------------------------------------------------------------------------------

PAGES = "/backoffice/plugins/client_notes"
READ, WRITE = "client_notes.read", "client_notes.write"


def test_the_recent_notes_page_follows_permissions_and_tenants(crm):
    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    acme.install("client_notes")
    client = acme.client(name="Ada Trader")
    expect(acme.admin.post(f"{API}/clients/{client['id']}/notes", json={"text": "Prefers e-mail."}), 201)
    reader = acme.pages(acme.user([READ]).label)
    listing = reader.get(f"{PAGES}/")
    assert listing.status_code == 200 and "<h1>Client notes</h1>" in listing.text
    assert "Prefers e-mail." in listing.text and "Ada Trader" in listing.text
    assert f'href="{PAGES}/"' in reader.get("/backoffice/").text  # its navigation entry
    fragment = reader.get(f"{PAGES}/?page=1", htmx=True)  # paging swaps the list only
    assert fragment.status_code == 200 and "Prefers e-mail." in fragment.text and "<h1>" not in fragment.text
    clerk = acme.pages(acme.user(["clients.read"]).label)
    assert clerk.get(f"{PAGES}/").status_code == 403
    assert f'href="{PAGES}/"' not in clerk.get("/backoffice/").text
    assert globex.pages().get(f"{PAGES}/").status_code == 404  # not installed there


def test_the_list_shows_only_notes_on_clients_the_user_may_see(crm):
    acme = crm.tenant("acme")
    acme.install("client_notes")
    agent = acme.user([READ, "clients.read"], scope="own")
    mine, other = acme.client(assigned_user_id=agent.user_id), acme.client()
    for client, text in ((mine, "on mine"), (other, "on another")):
        expect(acme.admin.post(f"{API}/clients/{client['id']}/notes", json={"text": text}), 201)
    pages = acme.pages(agent.label)
    listing = pages.get(f"{PAGES}/").text
    assert "on mine" in listing and "on another" not in listing
    assert pages.get(f"{PAGES}/clients/{other['id']}").status_code == 404


def test_adding_a_note_through_the_client_panel(crm):
    acme = crm.tenant("acme")
    acme.install("client_notes")
    client = acme.client()
    writer = acme.user([READ, WRITE])
    pages = acme.pages(writer.label)
    shown = pages.get(f"{PAGES}/clients/{client['id']}")
    assert shown.status_code == 200 and 'id="client-notes-panel"' in shown.text
    assert 'name="csrf_token"' in shown.text
    assert f'hx-post="{PAGES}/clients/{client["id"]}/notes"' in shown.text
    # The panel's form, as htmx sends it: the panel comes back with the note.
    panel = pages.post(f"{PAGES}/clients/{client['id']}/notes", {"text": "Asked for a call back."}, htmx=True)
    assert panel.status_code == 200 and "Asked for a call back." in panel.text
    assert panel.text.lstrip().startswith('<section id="client-notes-panel"')  # the panel alone
    notes = expect(writer.get(f"{API}/clients/{client['id']}/notes"), 200)
    assert [(n["text"], n["author"]) for n in notes] == [("Asked for a call back.", writer.label)]
    # Without htmx, a post is redirected to the client's notes.
    plain = pages.post(f"{PAGES}/clients/{client['id']}/notes", {"text": "Second."})
    assert plain.status_code == 303 and plain.headers["location"] == f"{PAGES}/clients/{client['id']}"
    assert "Second." in pages.get(f"{PAGES}/clients/{client['id']}").text


def test_a_note_longer_than_the_setting_is_refused_beside_the_field(crm):
    acme = crm.tenant("acme")
    acme.install("client_notes")
    settings = {"values": {"max_length": 10}}
    expect(acme.admin.put("/api/v1/marketplace/client_notes/settings", json=settings), 200)
    client = acme.client()
    pages = acme.pages()
    refused = pages.post(f"{PAGES}/clients/{client['id']}/notes", {"text": "x" * 11}, htmx=True)
    assert refused.status_code == 422
    assert 'id="client-notes-text-error"' in refused.text and "at most 10 characters" in refused.text
    assert 'aria-invalid="true"' in refused.text and "x" * 11 in refused.text  # what was typed, kept
    empty = pages.post(f"{PAGES}/clients/{client['id']}/notes", {"text": ""})  # without htmx: the page
    assert empty.status_code == 422 and "<h1>" in empty.text and 'id="client-notes-text-error"' in empty.text
    assert expect(acme.admin.get(f"{API}/clients/{client['id']}/notes"), 200) == []


def test_the_panel_form_needs_the_write_permission_and_the_csrf_token(crm):
    acme = crm.tenant("acme")
    acme.install("client_notes")
    client = acme.client()
    reader = acme.pages(acme.user([READ]).label)
    shown = reader.get(f"{PAGES}/clients/{client['id']}")
    assert shown.status_code == 200 and "<form" not in shown.text.split('id="client-notes-panel"')[1]
    assert reader.post(f"{PAGES}/clients/{client['id']}/notes", {"text": "hi"}).status_code == 403
    admin = acme.pages()
    assert admin.post(f"{PAGES}/clients/{client['id']}/notes", {"text": "hi"}, csrf=False).status_code == 403
    assert expect(acme.admin.get(f"{API}/clients/{client['id']}/notes"), 200) == []
