from core.testing import expect


def test_admin_creates_and_lists_clients(crm):
    acme = crm.tenant("acme")
    created = acme.client(name="Alice", email="alice@example.com", country="DE")
    page = expect(acme.admin.get("/api/v1/clients"), 200)
    assert page["total"] == 1 and page["items"][0]["id"] == created["id"]
