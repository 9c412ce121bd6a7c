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
