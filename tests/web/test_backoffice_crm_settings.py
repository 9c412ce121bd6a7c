"""The back office's promotion links, client groups, ranks and tiers: lists, forms validated with
the API's schemas (422 naming the field, nothing written), permissions and other tenants."""

from __future__ import annotations

from core.sdk.testing import expect

LINKS = "/backoffice/promotion-links"
GROUPS = "/backoffice/groups"
RANKS = "/backoffice/ranks"


def _links(tenant) -> list[dict]:
    return expect(tenant.admin.get("/api/v1/promotion-links"), 200)["items"]


def test_a_promotion_link_is_created_with_the_api_fields_then_disabled_and_enabled(crm):
    acme = crm.tenant("acme")
    ib = acme.client(name="Ivy Ib", client_type="ib")
    pages = acme.pages()
    form = pages.get(LINKS).text
    for name in ("name", "code", "client_type", "referrer_id", "enabled"):
        assert f'name="{name}"' in form, name
    created = pages.post(
        LINKS,
        {
            "name": "Spring",
            "code": "SPRING26",
            "client_type": "ib",
            "referrer_id": str(ib["id"]),
            "enabled": "true",
        },
    )
    assert created.status_code == 303 and created.headers["location"] == LINKS
    [link] = _links(acme)
    assert (link["code"], link["client_type"], link["referrer_id"], link["enabled"]) == (
        "SPRING26",
        "ib",
        ib["id"],
        True,
    )
    listing = pages.get(LINKS).text
    assert "SPRING26" in listing and f'<dialog id="disable-{link["id"]}"' in listing
    assert pages.post(f"{LINKS}/{link['id']}/disable").status_code == 303
    assert _links(acme)[0]["enabled"] is False
    assert "SPRING26" in pages.get(f"{LINKS}?enabled=false&q=").text
    assert "SPRING26" not in pages.get(f"{LINKS}?enabled=true").text
    assert pages.post(f"{LINKS}/{link['id']}/enable").status_code == 303
    assert _links(acme)[0]["enabled"] is True
    unchecked = pages.post(LINKS, {"name": "Quiet", "client_type": "trader"})
    assert unchecked.status_code == 303
    quiet = next(item for item in _links(acme) if item["name"] == "Quiet")
    assert quiet["enabled"] is False and len(quiet["code"]) == 8  # generated


def test_an_invalid_link_is_422_naming_the_field_and_writes_nothing(crm):
    acme = crm.tenant("acme")
    pages = acme.pages()
    bad = pages.post(LINKS, {"name": "Bad", "code": "no spaces!"})
    assert bad.status_code == 422 and 'id="code-error"' in bad.text and 'aria-invalid="true"' in bad.text
    unknown = pages.post(LINKS, {"name": "Ghost", "referrer_id": "999999"})
    assert unknown.status_code == 422 and 'id="referrer_id-error"' in unknown.text
    assert _links(acme) == []
    assert pages.post(LINKS, {"name": "NoCsrf"}, csrf=False).status_code == 403
    assert _links(acme) == []


def test_promotion_links_need_their_permissions_and_stay_in_their_tenant(crm):
    acme, other = crm.tenant("acme"), crm.tenant("other")
    theirs = expect(
        other.admin.post("/api/v1/promotion-links", json={"name": "Theirs", "code": "THEIRS"}), 201
    )
    assert "THEIRS" not in acme.pages().get(LINKS).text
    assert acme.pages().post(f"{LINKS}/{theirs['id']}/disable").status_code == 404
    assert _links(other)[0]["enabled"] is True
    reader = acme.pages(acme.user(["promotion_links.read"]).label)
    listing = reader.get(LINKS)
    assert listing.status_code == 200 and "New promotion link" not in listing.text
    assert reader.post(LINKS, {"name": "Nope"}).status_code == 403
    assert acme.pages(acme.user(["clients.read"]).label).get(LINKS).status_code == 403


def test_groups_are_created_renamed_and_deleted(crm):
    acme = crm.tenant("acme")
    pages = acme.pages()
    assert pages.post(GROUPS, {"name": "Gold", "description": "Big accounts"}).status_code == 303
    [group] = expect(acme.admin.get("/api/v1/client-groups"), 200)
    assert "Gold" in pages.get(GROUPS).text
    edit = pages.get(f"{GROUPS}/{group['id']}").text
    assert '<dialog id="delete-group" aria-labelledby="delete-group-title"' in edit
    assert pages.post(f"{GROUPS}/{group['id']}", {"name": "Platinum"}).status_code == 303
    assert expect(acme.admin.get(f"/api/v1/client-groups/{group['id']}"), 200)["name"] == "Platinum"
    assert "Platinum" in pages.get(GROUPS).text
    assert pages.post(f"{GROUPS}/{group['id']}/delete").status_code == 303
    assert expect(acme.admin.get("/api/v1/client-groups"), 200) == []


def test_an_invalid_or_duplicate_group_is_422_and_writes_nothing(crm):
    acme = crm.tenant("acme")
    expect(acme.admin.post("/api/v1/client-groups", json={"name": "Gold"}), 201)
    pages = acme.pages()
    empty = pages.post(GROUPS, {"description": "no name"})
    assert empty.status_code == 422 and 'id="name-error"' in empty.text
    taken = pages.post(GROUPS, {"name": "Gold"})
    assert taken.status_code == 422 and 'id="name-error"' in taken.text
    assert len(expect(acme.admin.get("/api/v1/client-groups"), 200)) == 1
    assert pages.post(GROUPS, {"name": "Silver"}, csrf=False).status_code == 403
    assert len(expect(acme.admin.get("/api/v1/client-groups"), 200)) == 1


def test_groups_need_their_permissions_and_stay_in_their_tenant(crm):
    acme, other = crm.tenant("acme"), crm.tenant("other")
    theirs = expect(other.admin.post("/api/v1/client-groups", json={"name": "Theirs"}), 201)
    pages = acme.pages()
    assert pages.get(f"{GROUPS}/{theirs['id']}").status_code == 404
    assert pages.post(f"{GROUPS}/{theirs['id']}/delete").status_code == 404
    assert len(expect(other.admin.get("/api/v1/client-groups"), 200)) == 1
    reader = acme.pages(acme.user(["client_groups.read"]).label)
    assert reader.get(GROUPS).status_code == 200 and "New group" not in reader.get(GROUPS).text
    assert reader.post(GROUPS, {"name": "Nope"}).status_code == 403
    assert acme.pages(acme.user(["clients.read"]).label).get(GROUPS).status_code == 403


def test_a_rank_is_created_with_its_tiers_in_order_and_edited(crm):
    acme = crm.tenant("acme")
    pages = acme.pages()
    created = pages.post(
        RANKS, {"name": "Partner", "sort_order": "2", "tiers": "Bronze\r\nSilver\r\n\r\nGold\r\n"}
    )
    assert created.status_code == 303
    [rank] = expect(acme.admin.get("/api/v1/ranks"), 200)
    assert created.headers["location"] == f"{RANKS}/{rank['id']}"
    assert [(t["name"], t["level"]) for t in rank["tiers"]] == [("Bronze", 1), ("Silver", 2), ("Gold", 3)]
    listing = pages.get(RANKS).text
    assert listing.index("Bronze") < listing.index("Silver") < listing.index("Gold")
    assert pages.post(f"{RANKS}/{rank['id']}", {"name": "Affiliate", "sort_order": "1"}).status_code == 303
    assert pages.post(f"{RANKS}/{rank['id']}/tiers", {"name": "Diamond"}).status_code == 303
    bronze = rank["tiers"][0]["id"]
    assert pages.post(f"{RANKS}/{rank['id']}/tiers/{bronze}", {"name": "Copper"}).status_code == 303
    edited = expect(acme.admin.get(f"/api/v1/ranks/{rank['id']}"), 200)
    assert (edited["name"], edited["sort_order"]) == ("Affiliate", 1)
    assert [t["name"] for t in edited["tiers"]] == ["Copper", "Silver", "Gold", "Diamond"]
    page = pages.get(f"{RANKS}/{rank['id']}").text
    assert "<h1>Affiliate</h1>" in page and page.index("Copper") < page.index("Diamond")


def test_an_invalid_rank_or_tier_is_422_naming_the_field_and_writes_nothing(crm):
    acme = crm.tenant("acme")
    pages = acme.pages()
    no_tiers = pages.post(RANKS, {"name": "Empty", "tiers": "  "})
    assert no_tiers.status_code == 422 and 'id="tiers-error"' in no_tiers.text
    twice = pages.post(RANKS, {"name": "Twice", "tiers": "Gold\nGOLD"})
    assert twice.status_code == 422 and "tier names must be distinct" in twice.text
    assert expect(acme.admin.get("/api/v1/ranks"), 200) == []
    rank = expect(
        acme.admin.post("/api/v1/ranks", json={"name": "Partner", "tiers": [{"name": "Bronze"}]}), 201
    )
    duplicate = pages.post(f"{RANKS}/{rank['id']}/tiers", {"name": "bronze"})
    assert duplicate.status_code == 422 and 'id="new-tier-error"' in duplicate.text
    bad_order = pages.post(f"{RANKS}/{rank['id']}", {"name": "Partner", "sort_order": "-3"})
    assert bad_order.status_code == 422 and 'id="sort_order-error"' in bad_order.text
    assert len(expect(acme.admin.get(f"/api/v1/ranks/{rank['id']}"), 200)["tiers"]) == 1
    assert pages.post(RANKS, {"name": "X", "tiers": "A"}, csrf=False).status_code == 403
    assert len(expect(acme.admin.get("/api/v1/ranks"), 200)) == 1


def test_ranks_need_their_permissions_and_stay_in_their_tenant(crm):
    acme, other = crm.tenant("acme"), crm.tenant("other")
    theirs = expect(
        other.admin.post("/api/v1/ranks", json={"name": "Theirs", "tiers": [{"name": "T1"}]}), 201
    )
    assert acme.pages().get(f"{RANKS}/{theirs['id']}").status_code == 404
    assert acme.pages().post(f"{RANKS}/{theirs['id']}/tiers", {"name": "Mine"}).status_code == 404
    reader = acme.pages(acme.user(["ranks.read"]).label)
    assert reader.get(RANKS).status_code == 200 and "New rank" not in reader.get(RANKS).text
    assert reader.post(RANKS, {"name": "Nope", "tiers": "A"}).status_code == 403
    assert acme.pages(acme.user(["clients.read"]).label).get(RANKS).status_code == 403


def test_the_filter_choices_cover_every_value_of_their_enums(crm):
    from core.crm.models import ClientType, DepositStatus, KycDocumentStatus, KycDocumentType, KycStatus

    pages = crm.tenant("acme").pages()
    pairs = (
        ("/backoffice/clients", [*ClientType, *KycStatus]),
        ("/backoffice/deposits", list(DepositStatus)),
        ("/backoffice/kyc", [*KycDocumentStatus, *KycDocumentType]),
        (LINKS, list(ClientType)),
    )
    for path, values in pairs:
        text = pages.get(path).text
        for value in values:
            assert f'<option value="{value.value}"' in text, (path, value)
