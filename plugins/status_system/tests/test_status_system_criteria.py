"""The one evaluator: its decision is the tree's truth, and its progress is in [0, 1] and is 1
exactly when the tree is met, for random trees over random clients."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.sdk import ClientMetric, utcnow
from plugins.status_system.criteria import Need, evaluate, measure, needs, set_values_of

CHOICES = ("a", "b", "c")
ITEMS = ("x", "y", "z")


def _rows(column: str):
    def measure_rows(ctx: Any, query: Any):
        for client_id, facts in ctx.items():
            value = facts[column]
            if column == "amt" and query.currency == "EUR":
                value = facts["amt_eur"]
            if column == "set":
                yield from ((client_id, item) for item in sorted(value))
            elif value:  # the default is left out, as the contract asks
                yield client_id, value

    return measure_rows


def _choices(ctx: Any, values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v.upper()) for v in values]


METRICS = {
    "amt": ClientMetric("amt", "Amount", "amount", _rows("amt"), per_currency=True),
    "num": ClientMetric("num", "Count", "number", _rows("num")),
    "flag": ClientMetric("flag", "Flag", "flag", _rows("flag")),
    "ch": ClientMetric("ch", "Choice", "choice", _rows("ch"), choices=lambda ctx: _choices(ctx, CHOICES)),
    "set": ClientMetric("set", "Set", "set", _rows("set"), choices=lambda ctx: _choices(ctx, ITEMS)),
}

amounts = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)
leaf = st.one_of(
    st.builds(
        lambda op, v, cur: {"metric": "amt", "operator": op, "value": str(v), "currency": cur},
        st.sampled_from((">=", ">", "<=", "<", "==")),
        amounts,
        st.sampled_from(("USD", "EUR")),
    ),
    st.builds(
        lambda op, v: {"metric": "num", "operator": op, "value": v},
        st.sampled_from((">=", ">", "<=", "<", "==")),
        st.integers(0, 20),
    ),
    st.builds(lambda v: {"metric": "flag", "operator": "is", "value": v}, st.booleans()),
    st.builds(
        lambda op, v: {"metric": "ch", "operator": op, "value": v},
        st.sampled_from(("in", "not_in")),
        st.lists(st.sampled_from(CHOICES), min_size=1, max_size=3, unique=True),
    ),
    st.builds(
        lambda op, v: {"metric": "set", "operator": op, "value": v},
        st.sampled_from(("includes_all", "includes_any", "excludes")),
        st.lists(st.sampled_from(ITEMS), min_size=1, max_size=3, unique=True),
    ),
)
trees = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.builds(lambda c: {"all": c}, st.lists(children, min_size=1, max_size=4)),
        st.builds(lambda c: {"any": c}, st.lists(children, min_size=1, max_size=4)),
        st.builds(lambda c: {"not": c}, children),
    ),
    max_leaves=12,
)
clients = st.lists(
    st.fixed_dictionaries(
        {
            "amt": amounts,
            "amt_eur": amounts,
            "num": st.integers(0, 20),
            "flag": st.booleans(),
            "ch": st.sampled_from((None, *CHOICES)),
            "set": st.sets(st.sampled_from(ITEMS)),
        }
    ),
    min_size=1,
    max_size=25,
)


def _truth(tree: dict[str, Any], facts: dict[str, Any]) -> bool:
    """The tree's meaning, written plainly for one client."""
    if "all" in tree:
        return all(_truth(child, facts) for child in tree["all"])
    if "any" in tree:
        return any(_truth(child, facts) for child in tree["any"])
    if "not" in tree:
        return not _truth(tree["not"], facts)
    metric, op, value = tree["metric"], tree["operator"], tree["value"]
    if metric in ("amt", "num"):
        current = Decimal(
            facts["amt_eur" if tree.get("currency") == "EUR" else "amt"] if metric == "amt" else facts["num"]
        )
        target = Decimal(str(value))
        return {">=": current >= target, ">": current > target, "<=": current <= target,
                "<": current < target, "==": current == target}[op]  # fmt: skip
    if metric == "flag":
        return facts["flag"] == value
    if metric == "ch":
        return (facts["ch"] in value) == (op == "in")
    held = facts["set"]
    return {"includes_all": set(value) <= held, "includes_any": bool(set(value) & held),
            "excludes": not set(value) & held}[op]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(trees, clients)
def test_the_decision_is_the_trees_truth_and_progress_is_one_exactly_when_met(tree, population):
    world = {1000 + 7 * i: facts for i, facts in enumerate(population)}
    ids = np.array(sorted(world), dtype=np.int64)
    facts, _ = measure(world, needs([tree]), METRICS, ids, utcnow(), set_values=set_values_of([tree]))
    result = evaluate(tree, facts, METRICS)
    for at, client_id in enumerate(ids.tolist()):
        assert bool(result.met[at]) == _truth(tree, world[client_id])
        assert 0.0 <= result.score[at] <= 1.0
        assert (result.score[at] == 1.0) == bool(result.met[at])


def test_a_lower_bound_scores_the_share_reached_and_hysteresis_relaxes_it():
    world = {1: {"amt": Decimal("950"), "amt_eur": 0, "num": 0, "flag": False, "ch": None, "set": set()}}
    tree = {"metric": "amt", "operator": ">=", "value": "1000", "currency": "USD"}
    ids = np.array([1], dtype=np.int64)
    facts, _ = measure(world, needs([tree]), METRICS, ids, utcnow())
    full = evaluate(tree, facts, METRICS)
    assert not full.met[0] and full.score[0] == 0.95
    kept = evaluate(tree, facts, METRICS, share=0.9)  # 90 % of 1,000 is 900
    assert kept.met[0] and kept.score[0] == 1.0


def test_sums_beyond_64_bits_still_compare_right():
    huge = Decimal(10**12) * 10**9  # a billion maximal deposits
    world = {1: {"amt": huge, "amt_eur": 0, "num": 0, "flag": False, "ch": None, "set": set()}}
    tree = {"metric": "amt", "operator": ">=", "value": "1000000000000", "currency": "USD"}
    facts, _ = measure(world, needs([tree]), METRICS, np.array([1], dtype=np.int64), utcnow())
    assert evaluate(tree, facts, METRICS).met[0]
    assert needs([tree]) == {Need("amt", "USD", None)}


def test_core_metrics_measured_together_equal_their_own_measure(broker):
    """Core's deposit metrics and client columns are measured in one query each: the same facts
    as each metric's own ``measure`` (a copy of a metric is not core's, so it is asked alone)."""
    from dataclasses import replace

    from sqlalchemy import update

    from core.sdk import CORE_METRICS, Client

    clients = [broker.client(country=country) for country in ("DE", "FR", None, "DE")]
    for client, amounts in zip(clients, (("100", "2.5"), ("40000",), (), ("7",)), strict=True):
        for amount in amounts:
            broker.deposit(client, amount)
    broker.deposit(clients[0], "30", currency="EUR")
    broker.age(broker.deposit(clients[1], "12.34", currency="EUR"))
    with broker.tenant.ctx() as ctx:
        ctx.session.execute(update(Client).where(Client.id == clients[3]["id"]).values(kyc_status="verified"))
    wanted = [
        Need("deposits_sum", "USD"),
        Need("deposits_sum", "EUR"),
        Need("deposits_sum", "EUR", 30),
        Need("deposits_count"),
        Need("deposits_count", None, 30),
        Need("kyc_status"),
        Need("country"),
        Need("language"),
        Need("client_type"),
        Need("client_group"),
    ]
    core = {metric.name: metric for metric in CORE_METRICS}
    alone = {name: replace(metric) for name, metric in core.items()}
    now = utcnow()
    ids = np.array(sorted(c["id"] for c in clients), dtype=np.int64)
    with broker.tenant.ctx() as ctx:
        for subset in (None, ids[1:3]):  # every client (the batch's way), and a few
            together, _ = measure(ctx, wanted, core, subset, now, keep_raw=True)
            apart, _ = measure(ctx, wanted, alone, subset, now, keep_raw=True)
            assert _raw_text(together) == _raw_text(apart)  # the checklist's words too: "12.3400"
            assert _columns(together) == _columns(apart)
        # The batch's way (no raw values: PostgreSQL sums into units itself) gives the same numbers.
        batch, _ = measure(ctx, wanted, core, None, now)
        assert batch.ids.tolist() == ids.tolist()
        assert _columns(batch) == _columns(measure(ctx, wanted, alone, None, now)[0])
    sums = measure_one_client(broker, clients[1]["id"], Need("deposits_sum", "EUR"))
    assert str(sums) == "12.3400"  # as money_sum reads it back


def _raw_text(facts: Any) -> dict[Any, list[tuple[int, str]]]:
    return {need: sorted((c, str(v)) for c, v in values.items()) for need, values in facts.raw.items()}


def _columns(facts: Any) -> dict[Any, list[Any]]:
    """Each need's values per client, choices decoded."""
    found: dict[Any, list[Any]] = {need: column.tolist() for need, column in facts.numbers.items()}
    for need, (codes, words) in facts.choices.items():
        decode = {code: word for word, code in words.items()}
        found[need] = [decode.get(code) for code in codes.tolist()]
    return found


def measure_one_client(broker: Any, client_id: int, need: Need) -> Any:
    from core.sdk import CORE_METRICS

    with broker.tenant.ctx() as ctx:
        ids = np.array([client_id], dtype=np.int64)
        metrics = {metric.name: metric for metric in CORE_METRICS}
        facts, _ = measure(ctx, [need], metrics, ids, utcnow(), keep_raw=True)
        return facts.value_of(need, client_id, "amount")
