"""A pop-up's ``data`` (a module's payload for its portal widget) is a JSON object in the API."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from core.crm.audience import audience_query
from core.notify.models import Popup
from core.notify.service import create_popup, create_popups, popup_each
from core.testing import expect


def _data(session, url: str) -> list:
    return [p["data"] for p in expect(session.get(url), 200)["items"]]


def test_popup_data_is_an_object_in_the_portal_and_the_back_office(crm):
    acme = crm.tenant("acme")
    alice, bob = acme.client(), acme.client()
    with acme.ctx() as ctx:
        create_popup(
            ctx, alice["id"], "One", "For Alice", source="loyalty", data={"points": 20, "tier": "gold"}
        )
        everyone = audience_query(ctx, [alice["id"], bob["id"]], [])
        assert (
            popup_each(ctx, everyone, "All", "For both", source="loyalty", data={"campaign": "spring"}) == 2
        )
    expect(
        acme.admin.post(
            "/api/v1/popups",
            json={"recipients": {"client_ids": [bob["id"]]}, "title": "Plain", "body": "No data"},
        ),
        201,
    )
    assert _data(acme.portal(alice["id"]), "/api/v1/portal/popups") == [
        {"campaign": "spring"},
        {"points": 20, "tier": "gold"},
    ]
    assert _data(acme.portal(bob["id"]), "/api/v1/portal/popups") == [None, {"campaign": "spring"}]
    everything = [None, {"campaign": "spring"}, {"campaign": "spring"}, {"points": 20, "tier": "gold"}]
    assert _data(acme.admin, "/api/v1/popups") == everything
    schema = crm.app.openapi()["components"]["schemas"]["PopupOut"]["properties"]["data"]
    assert [option["type"] for option in schema["anyOf"]] == ["object", "null"]


def test_text_stored_before_reads_as_an_object_and_only_objects_are_written(crm):
    acme = crm.tenant("acme")
    client = acme.client()
    with acme.ctx() as ctx:
        popup_id = create_popup(ctx, client["id"], "Old", "Stored as text by an older module").id
    with pytest.raises(TypeError, match="must be a dict"), acme.ctx() as ctx:
        create_popup(ctx, client["id"], "Bad", "Not an object", data="design=gold")  # type: ignore[arg-type]
    with crm.db.engine.begin() as connection:
        connection.execute(text("UPDATE popups SET data = 'design=gold' WHERE id = :id"), {"id": popup_id})
    assert _data(acme.portal(client["id"]), "/api/v1/portal/popups") == [{"value": "design=gold"}]
    with acme.ctx() as ctx:
        assert ctx.session.scalar(select(Popup.data).where(Popup.id == popup_id)) == {"value": "design=gold"}


def test_many_clients_each_get_their_own_popup_in_one_call(crm):
    acme, globex = crm.tenant("acme"), crm.tenant("globex")
    alice, bob = acme.client(), acme.client()
    with acme.ctx() as ctx:
        written = create_popups(
            ctx,
            [
                {"client_id": alice["id"], "title": "Gold", "body": "You reached Gold", "data": {"level": 3}},
                {"client_id": bob["id"], "title": "Silver", "body": "You reached Silver"},
            ],
            source="loyalty",
        )
        assert written == 2
        assert create_popups(ctx, [], source="loyalty") == 0
    with pytest.raises(TypeError, match="must be a dict"), acme.ctx() as ctx:
        create_popups(ctx, [{"client_id": bob["id"], "title": "Bad", "body": "x", "data": "gold"}])
    shown = expect(acme.portal(alice["id"]).get("/api/v1/portal/popups"), 200)["items"]
    assert [(p["title"], p["body"], p["data"]) for p in shown] == [("Gold", "You reached Gold", {"level": 3})]
    assert [
        p["title"] for p in expect(acme.portal(bob["id"]).get("/api/v1/portal/popups"), 200)["items"]
    ] == ["Silver"]
    with acme.ctx() as ctx:  # the rows are the session's tenant's
        assert set(ctx.session.scalars(select(Popup.source))) == {"loyalty"}
    assert expect(globex.admin.get("/api/v1/popups"), 200)["items"] == []
