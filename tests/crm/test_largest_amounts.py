"""No aggregate fails on accepted data: the largest amounts the API accepts, in the largest counts
the benchmarks use, go through deposits, a tier-upgrade settlement, coupons and orders on both
engines, and every figure stays exact.

The benchmarks' largest run settles a million clients with about 3.2 million deposits; a plain SQL
``SUM`` of a few hundred maximal amounts already overflows SQLite's 64-bit integers, so these
tests would fail without ``core.db.types.money_sum``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from sqlalchemy import func, insert, literal, select

from core import bounds
from core.crm.models import Client, Deposit, DepositKind, DepositStatus
from core.db.types import Money, UTCDateTime
from core.schemas import PositiveAmount
from core.testing import expect
from plugins.coupons.tests.support import Shop
from plugins.tier_upgrade.tests.support import API, Broker

MAX = bounds.MAX_AMOUNT
BENCHMARK_DEPOSITS = 3_200_000
_brokers = count(1)


def _accepted(amount: Decimal) -> Decimal:
    """The amount as the API would take it (so these tests only use values a client could send)."""
    return TypeAdapter(PositiveAmount).validate_python(str(amount))


def _insert_deposits(broker: Broker, rows: list[tuple[int, Decimal, int]], decided_at: datetime) -> None:
    """``count`` approved deposit requests of ``amount`` for each (client, amount, count): one
    INSERT … SELECT over a counting CTE per row, fast at millions."""
    with broker.crm.db.engine.begin() as connection:
        for client_id, amount, how_many in rows:
            if how_many == 0:
                continue
            if connection.dialect.name == "postgresql":
                seq = func.generate_series(1, how_many).table_valued("n")
            else:
                seq = select(literal(1).label("n")).cte(f"seq{client_id}", recursive=True)
                seq = seq.union_all(select(seq.c.n + 1).where(seq.c.n < how_many))
            connection.execute(
                insert(Deposit).from_select(
                    ["tenant_id", "client_id", "amount", "currency", "kind", "status", "decided_at"],
                    select(
                        literal(broker.tenant.id),
                        literal(client_id),
                        literal(amount, Money()),
                        literal("USD"),
                        literal(DepositKind.REQUEST.value),
                        literal(DepositStatus.APPROVED.value),
                        literal(decided_at, UTCDateTime()),
                    ).select_from(seq),
                )
            )


def _rule_reaching_the_maximum(broker: Broker) -> dict:
    """Gold needs the largest accepted total: only downlines worth at least that qualify."""
    return broker.rule(
        tiers=[
            {"tier_id": broker.silver, "currencies": {"USD": {"downline_total": "0.01"}}},
            {"tier_id": broker.gold, "currencies": {"USD": {"downline_total": str(MAX)}}},
        ]
    )


def _downline_totals(broker: Broker) -> dict[int, str]:
    return {r["client_id"]: r["metrics"]["downline_totals"]["USD"] for r in broker.report()}


@st.composite
def forests_of_large_deposits(draw):
    """A referral forest of a few IBs, each with a number of deposits of an amount at or just
    under the maximum (enough of them to overflow a plain 64-bit SUM)."""
    size = draw(st.integers(min_value=2, max_value=6))
    parents = [None] + [draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, size)]
    cents_under = st.integers(min_value=0, max_value=10**6)
    amounts = [MAX - Decimal(draw(cents_under)) / 100 for _ in range(size)]
    counts = [draw(st.integers(min_value=0, max_value=1500)) for _ in range(size)]
    return parents, amounts, counts


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(forest=forests_of_large_deposits())
def test_settlements_over_the_largest_deposits_are_exact(crm, forest):
    parents, amounts, counts = forest
    broker = Broker(crm, slug=f"large{next(_brokers)}")
    ids: list[int] = []
    for parent in parents:
        referrer = {"id": ids[parent]} if parent is not None else None
        ids.append(broker.ranked(referrer, tier=broker.bronze, client_type="ib")["id"])
    decided = datetime.now(UTC) - timedelta(hours=1)
    _insert_deposits(
        broker, [(c, _accepted(a), n) for c, a, n in zip(ids, amounts, counts, strict=True)], decided
    )
    rule = _rule_reaching_the_maximum(broker)
    broker.settle(rule["id"])

    own = {c: a * n for c, a, n in zip(ids, amounts, counts, strict=True)}
    children: dict[int, list[int]] = {}
    for i, parent in enumerate(parents):
        if parent is not None:
            children.setdefault(ids[parent], []).append(ids[i])

    def subtree(client: int) -> Decimal:
        return own[client] + sum((subtree(k) for k in children.get(client, [])), Decimal(0))

    expected = {
        c: f"{sum((subtree(k) for k in children.get(c, [])), Decimal(0)):.2f}" for c in ids if children.get(c)
    }
    qualifying = {c: total for c, total in expected.items() if Decimal(total) > 0}
    assert _downline_totals(broker) == qualifying
    gold = {r["client_id"] for r in broker.report() if r["to_tier_id"] == broker.gold}
    assert gold == {c for c, total in qualifying.items() if Decimal(total) >= MAX}


def test_the_benchmarks_largest_count_of_maximal_deposits_settles_exactly(crm):
    broker = Broker(crm)
    ib = broker.ranked(tier=broker.bronze, client_type="ib")
    downline = broker.ranked(ib, tier=broker.bronze, client_type="ib")
    decided = datetime.now(UTC) - timedelta(hours=1)
    _insert_deposits(broker, [(downline["id"], _accepted(MAX), BENCHMARK_DEPOSITS)], decided)
    rule = _rule_reaching_the_maximum(broker)
    broker.settle(rule["id"])
    [record] = broker.report()
    assert record["client_id"] == ib["id"] and record["to_tier_id"] == broker.gold
    assert record["metrics"]["downline_totals"]["USD"] == f"{MAX * BENCHMARK_DEPOSITS:.2f}"
    with broker.tenant.ctx() as ctx:  # the deposits are really there, all of them
        assert ctx.session.scalar(select(Client.id).where(Client.id == downline["id"])) is not None
        assert crm.count("deposits") == BENCHMARK_DEPOSITS
    assert (
        expect(broker.admin.get(f"{API}/rules/{rule['id']}"), 200)["tiers"][-1]["currencies"]["USD"][
            "downline_total"
        ]
        == f"{MAX:.2f}"
    )


def _half_up(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(
    fee=st.sampled_from([MAX, MAX - Decimal("0.01"), Decimal("999999999999.99"), Decimal("0.01")]),
    percentage=st.sampled_from([Decimal("33.3333"), Decimal("0.0001"), Decimal("99.9999"), Decimal(100)]),
    fixed=st.sampled_from([MAX, Decimal("0.01"), Decimal("123456789012.34")]),
)
def test_orders_at_the_largest_fees_with_the_largest_discounts_are_priced_exactly(
    crm, fee, percentage, fixed
):
    shop = Shop(crm, slug=f"shop{next(_brokers)}")
    challenge = shop.challenge(fee=str(_accepted(fee)))
    client, portal = shop.client()
    coupon = shop.given(
        [client["id"]],
        discount_method="fixed_amount",
        discount_value=str(_accepted(fixed)),
        discount_currency="USD",
        allow_with_promo_codes=True,
    )
    shop.promo(
        code=f"BIG{next(_brokers)}",
        discount_value=str(_accepted(percentage)),
        allow_with_coupons=True,
        total_cap=100_000_000,
    )
    code = shop.admin.get("/api/v1/plugins/coupons/promo-codes").json()["items"][0]["code"]
    after_coupon = max(fee - fixed, Decimal(0))
    # Each adjustment is rounded half up to the cent on its own, then taken off.
    expected = max(after_coupon - _half_up(after_coupon * percentage / 100), Decimal(0))

    order = shop.order(portal, challenge["id"], coupon_id=coupon["id"], promo_code=code)
    assert Decimal(order["list_price"]) == fee
    assert Decimal(order["final_price"]) == expected
    assert sum(Decimal(a["amount"]) for a in order["adjustments"]) == expected - fee
    shop.settle(order["id"], "paid")
    statistics = expect(shop.admin.get(f"/api/v1/plugins/coupons/coupons/{coupon['id']}/statistics"), 200)
    assert statistics["total_redeemed"] == 1
