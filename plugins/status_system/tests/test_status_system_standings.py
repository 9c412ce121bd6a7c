"""Who holds which status: the rules on events, precedence (lock over floor over rules), manual
assignment, demotion with hysteresis and a grace period, expiries, idempotence, notifications."""

from __future__ import annotations

from datetime import timedelta

from core.sdk import Deposit, serialize_on, utcnow
from core.sdk.testing import expect
from plugins.status_system import hooks
from plugins.status_system.tests.support import API, PORTAL_API, deposits_at_least


def _popups(broker, client) -> list[dict]:
    items = expect(broker.admin.get("/api/v1/popups", params={"client_id": client["id"]}), 200)["items"]
    return [p for p in items if p["title"].startswith("Your status")]


def test_an_approved_deposit_promotes_at_once_and_says_what_is_left(broker):
    client = broker.client()
    assert broker.status_of(client) == "Base"  # every new client's status, without a row
    broker.deposit(client, "400")
    standing = broker.standing(client)
    assert standing["status"] == "Base"
    assert standing["next"]["name"] == "Silver" and standing["next"]["progress"] == 0.4
    assert standing["next"]["checklist"][0]["missing"] == "need USD 600.00 more: approved deposits"
    broker.deposit(client, "1100")
    assert broker.status_of(client) == "Silver"
    (change,) = broker.history(client)
    assert (change["previous_name"], change["name"], change["direction"], change["cause"]) == (
        "Base", "Silver", "up", "rule",
    )  # fmt: skip
    assert change["evaluation"]["checklist"][0]["met"] is True
    assert [p["title"] for p in _popups(broker, client)] == ["Your status is now Silver"]
    # The client sees the same thing in the portal, with the next status.
    me = expect(broker.tenant.portal(client["id"]).get(f"{PORTAL_API}/me"), 200)
    assert me["status"]["name"] == "Silver" and me["next"]["name"] == "Gold" and me["percent"] == 15
    assert me["checklist"][0]["text"] == "Approved deposits (USD): at least USD 10,000.00 (now USD 1,500.00)"


def test_a_duplicated_or_replayed_event_changes_nothing(broker):
    client = broker.client()
    deposit = broker.deposit(client, "1000")
    with broker.tenant.ctx() as ctx:
        serialize_on(ctx.session, "deliver")  # events arrive in the write transaction that caused them
        again = ctx.session.get(Deposit, deposit["id"])
        hooks.crm_deposit_approved(ctx, again)  # delivered twice
        hooks.crm_deposit_approved(ctx, again)
    assert broker.recompute(client) == 0
    assert len(broker.history(client)) == 1
    assert len(_popups(broker, client)) == 1


def test_a_lock_beats_a_floor_which_beats_the_rules(broker):
    client = broker.client()
    broker.deposit(client, "1500")
    assert broker.status_of(client) == "Silver"
    broker.assign(client, broker.gold, "floor", reason="partner")
    assert broker.status_of(client) == "Gold"
    broker.assign(client, broker.base, "lock", reason="under review")
    standing = broker.standing(client)
    assert standing["status"] == "Base" and standing["lock"]["reason"] == "under review"
    broker.deposit(client, "20000")  # the rules alone would give Gold
    assert broker.status_of(client) == "Base"
    broker.assign(client, broker.silver, "once", expected=409)  # a lock holds it
    expect(broker.admin.post(f"{API}/clients/{client['id']}/release", json={"what": "lock"}), 200)
    assert broker.status_of(client) == "Gold"
    causes = [(h["name"], h["cause"]) for h in reversed(broker.history(client))]
    assert causes == [("Silver", "rule"), ("Gold", "floor"), ("Base", "lock"), ("Gold", "lock")]
    assert all(h["actor"].startswith("staff:") for h in broker.history(client)[:3])


def test_a_floor_lifts_only_below_it_and_the_rules_go_above(broker):
    client = broker.client()
    broker.assign(client, broker.silver, "floor", reason="welcome offer")
    assert broker.status_of(client) == "Silver"
    broker.deposit(client, "12000")
    assert broker.status_of(client) == "Gold"
    assert [h["cause"] for h in reversed(broker.history(client))] == ["floor", "rule"]


def test_manual_assignment_holds_until_the_rules_may_demote(broker):
    client = broker.client()
    broker.assign(client, broker.gold, "once", reason="VIP by agreement")
    assert broker.status_of(client) == "Gold"
    (entry,) = broker.history(client)
    assert (entry["cause"], entry["reason"]) == ("manual", "VIP by agreement")
    assert broker.recompute(client) == 0  # demotion "never": the rules only promote
    broker.settings(demotion="automatic", grace_days=30)
    assert broker.recompute(client) == 0  # within the grace period after a promotion
    assert broker.recompute(client, now=utcnow() + timedelta(days=31)) == 1
    assert broker.status_of(client) == "Base"
    assert broker.history(client)[0]["cause"] == "demotion"


def _windowed_ladder(broker):
    """Silver needs USD 1,000 of deposits in the last 30 days."""
    rule = {"criteria": deposits_at_least("1000", window_days=30)}
    expect(broker.admin.patch(f"{API}/statuses/{broker.silver['id']}", json=rule), 200)


def test_hysteresis_keeps_a_status_above_ninety_percent_and_warns(broker):
    _windowed_ladder(broker)
    broker.settings(demotion="automatic", grace_days=0, keep_percent=90)
    client = broker.client()
    broker.deposit(client, "950")
    older = broker.deposit(client, "100")
    assert broker.status_of(client) == "Silver"
    broker.age(older, 25)
    later = utcnow() + timedelta(days=6)  # the 100 left the window: 950 is below 1,000 but above 900
    assert broker.recompute(client, now=later) == 0
    assert broker.status_of(client) == "Silver"
    broker.settings(demotion="automatic", grace_days=0, keep_percent=100)  # no margin
    assert broker.recompute(client, now=later) == 1
    assert broker.status_of(client) == "Base"
    assert broker.history(client)[0]["cause"] == "demotion"


def test_the_client_is_warned_before_a_demotion_with_what_keeps_the_status(broker):
    _windowed_ladder(broker)
    broker.settings(demotion="automatic", grace_days=0)
    client = broker.client()
    first = broker.deposit(client, "1000")
    assert broker.status_of(client) == "Silver"
    broker.age(first, 40)  # out of the window: the rules no longer hold Silver…
    broker.deposit(client, "920")  # …but 920 is above 90 % of it
    me = expect(broker.tenant.portal(client["id"]).get(f"{PORTAL_API}/me"), 200)
    assert me["status"]["name"] == "Silver" and me["at_risk"] is True
    current = broker.standing(client)["current"]  # staff see the rule that is no longer met
    assert current["checklist"][0]["missing"] == "need USD 80.00 more: approved deposits"
    assert me["keep"][0]["met"] is True  # kept at 90 %: USD 900


def test_the_grace_period_protects_a_fresh_promotion(broker):
    _windowed_ladder(broker)
    broker.settings(demotion="automatic", grace_days=60)
    client = broker.client()
    broker.deposit(client, "1000")
    assert broker.recompute(client, now=utcnow() + timedelta(days=45)) == 0  # out of window, in grace
    assert broker.status_of(client) == "Silver"
    assert broker.recompute(client, now=utcnow() + timedelta(days=61)) == 1
    assert broker.status_of(client) == "Base"


def test_an_expired_lock_is_lifted_by_the_nightly_batch(broker):
    client = broker.client()
    broker.deposit(client, "1500")
    broker.assign(client, broker.gold, "lock", reason="trial", expires_at=utcnow() + timedelta(days=7))
    assert broker.status_of(client) == "Gold"
    assert broker.recompute(client, now=utcnow() + timedelta(days=8)) == 1
    standing = broker.standing(client)
    assert standing["status"] == "Silver" and standing["lock"] is None
    assert broker.history(client)[0]["cause"] == "expiry"


def test_the_batch_applies_changed_rules_once(broker):
    clients = [broker.client() for _ in range(3)]
    for client, amount in zip(clients, ("100", "600", "2000"), strict=True):
        broker.deposit(client, amount)
    expect(
        broker.admin.patch(
            f"{API}/statuses/{broker.silver['id']}", json={"criteria": deposits_at_least("500")}
        ),
        200,
    )
    broker.batch()
    broker.batch()  # a second run finds nothing to do
    assert [broker.status_of(c) for c in clients] == ["Base", "Silver", "Silver"]
    assert len(broker.history()) == 2


def test_statuses_not_visible_to_clients_are_not_announced_to_them(broker):
    hidden = broker.status("Watchlist", visible_to_clients=False)
    client = broker.client()
    broker.assign(client, hidden, "lock", reason="risk")
    assert _popups(broker, client) == []
    assert broker.status_of(client) == "Watchlist"


def test_data_permissions_hide_other_clients_standing_and_history(broker):
    team_user = broker.tenant.user(["status_system.read", "clients.read"], scope="own")
    client = broker.client()
    broker.deposit(client, "1500")
    assert team_user.get(f"{API}/clients/{client['id']}").status_code == 404
    assert expect(team_user.get(f"{API}/history"), 200)["items"] == []
    counts = expect(team_user.get(f"{API}/reports/by-status"), 200)
    assert sum(c["clients"] for c in counts) == 0


def test_another_brokers_clients_are_not_found(broker, crm):
    other = crm.tenant("other")
    theirs = other.client()
    assert broker.admin.get(f"{API}/clients/{theirs['id']}").status_code == 404
    body = {"status_id": broker.gold["id"], "mode": "lock", "reason": "x"}
    assert broker.admin.post(f"{API}/clients/{theirs['id']}/assign", json=body).status_code == 404


def test_a_status_with_a_client_group_moves_its_holders_in_and_out(broker):
    group = expect(broker.admin.post("/api/v1/client-groups", json={"name": "Gold desk"}), 201)
    expect(broker.admin.patch(f"{API}/statuses/{broker.gold['id']}", json={"group_id": group["id"]}), 200)
    client = broker.client()
    broker.deposit(client, "10000")
    assert broker.status_of(client) == "Gold"
    assert expect(broker.admin.get(f"/api/v1/clients/{client['id']}"), 200)["group_id"] == group["id"]
    broker.assign(client, broker.silver, "lock", reason="review")
    assert expect(broker.admin.get(f"/api/v1/clients/{client['id']}"), 200)["group_id"] is None
    assert [h["name"] for h in broker.history(client)] == ["Silver", "Gold"]  # one row per real change


def test_a_client_is_warned_once_when_their_status_becomes_at_risk_and_again_next_time(broker):
    client = broker.silver_at_risk()  # told by the event that brought 920 into the window

    def warnings() -> list[str]:
        items = expect(broker.admin.get("/api/v1/popups", params={"client_id": client["id"]}), 200)["items"]
        return [p["body"] for p in items if p["title"] == "Your Silver status is at risk"]

    assert broker.status_of(client) == "Silver"
    assert warnings() == [
        "Your Silver status is kept for now, but the rules no longer hold it. To keep it: "
        "Approved deposits (USD), last 30 days: at least USD 900.00 (now USD 920.00)."
    ]
    broker.batch()  # still at risk: not told twice
    broker.recompute(client)
    assert len(warnings()) == 1
    topped_up = broker.deposit(client, "200")  # 1,120 in the window: safe, the warning is forgotten
    assert not broker.standing(client)["at_risk"]
    broker.age(topped_up)  # back to 920: at risk again, and told again by the nightly batch
    broker.batch()
    assert len(warnings()) == 2 and broker.status_of(client) == "Silver"


def test_many_stored_standings_changing_at_once_are_each_written_as_decided(broker):
    """A chunk of the nightly batch: clients who already hold a status row move in different ways
    in one recomputation (on PostgreSQL, one UPDATE for all of them), and each row says so."""
    from sqlalchemy import select

    from plugins.status_system.models import Standing
    from plugins.status_system.standing import recompute

    broker.settings(demotion="automatic", grace_days=0, keep_percent=90)
    names = ("locked", "demoted", "promoted", "kept", "warned")
    clients = [broker.client() for _ in names]
    locked, demoted, promoted, kept = clients[:4]
    for client, amount in zip(clients, ("1500", "1500", "1500", "1500", "1950"), strict=True):
        broker.deposit(client, amount)
    broker.deposit(promoted, "4000")
    broker.deposit(kept, "500")
    assert {broker.status_of(c) for c in clients} == {"Silver"}
    broker.assign(locked, broker.gold, "lock", reason="trial", expires_at=utcnow() + timedelta(days=7))
    for status, amount in ((broker.silver, "2000"), (broker.gold, "5500")):
        expect(
            broker.admin.patch(
                f"{API}/statuses/{status['id']}", json={"criteria": deposits_at_least(amount)}
            ),
            200,
        )
    later = utcnow() + timedelta(days=8)  # the lock has expired

    with broker.tenant.ctx() as ctx:
        assert recompute(ctx, [c["id"] for c in clients], now=later) == 3

    assert [broker.status_of(c) for c in clients] == ["Base", "Base", "Gold", "Silver", "Silver"]
    with broker.tenant.ctx() as ctx:
        rows = {r.client_id: r for r in ctx.session.scalars(select(Standing))}
    row = {name: rows[c["id"]] for name, c in zip(names, clients, strict=True)}
    assert row["locked"].lock_status_id is None and row["locked"].lock_reason == ""
    assert [row[n].since == later for n in row] == [True, True, True, False, False]
    assert row["promoted"].promoted_at == later and row["demoted"].promoted_at != later
    assert row["warned"].warned_at == later and row["kept"].warned_at is None  # 1,950 of 2,000: at risk
    assert [row[n].version for n in row] == [3, 2, 2, 1, 2]
    latest: dict[int, str] = {}
    for change in broker.history():  # newest first
        latest.setdefault(change["client_id"], change["cause"])
    assert [latest[c["id"]] for c in (locked, demoted, promoted)] == ["expiry", "demotion", "rule"]
