"""The one-pass tree metrics agree with a naive per-client walk, on random referral trees."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.tier_upgrade import metrics

CURRENCIES = ("USD", "EUR")


@st.composite
def forests(draw):
    """Random referral forests: each client's referrer is an earlier client, or nobody; ids are
    shuffled so the input order says nothing about the tree."""
    size = draw(st.integers(min_value=1, max_value=40))
    parents = [None] + [draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, size)]
    ids = draw(st.permutations(range(1000, 1000 + size)))
    nodes = [(ids[i], None if p is None else ids[p]) for i, p in enumerate(parents)]
    nodes = draw(st.permutations(nodes))
    deposits = draw(
        st.lists(
            st.tuples(st.sampled_from(ids), st.sampled_from((*CURRENCIES, "GBP")), st.integers(0, 10**9)),
            max_size=80,
        )
    )
    return nodes, deposits


def _naive(nodes, deposits):
    children: dict[int, list[int]] = {}
    for client, referrer in nodes:
        if referrer is not None:
            children.setdefault(referrer, []).append(client)

    def own(client, currency):
        return sum(units for c, cur, units in deposits if c == client and cur == currency)

    def subtree(client, currency):
        return own(client, currency) + sum(subtree(k, currency) for k in children.get(client, []))

    expected = {}
    for client, _ in nodes:
        for currency in CURRENCIES:
            branches = sorted(subtree(k, currency) for k in children.get(client, []))
            expected[client, currency] = (sum(branches), branches)
    return expected


@settings(max_examples=200, deadline=None)
@given(forests())
def test_one_pass_metrics_match_a_naive_walk(forest):
    nodes, deposits = forest
    computed = metrics.compute(nodes, deposits, CURRENCIES)
    for (client, currency), (total, branches) in _naive(nodes, deposits).items():
        assert computed.downline_total(client, currency) == total
        assert sorted(computed.branch_totals(client, currency)) == branches
        assert computed.branch_count(client) == len(branches)


def test_a_referral_loop_is_reported():
    import pytest

    with pytest.raises(metrics.CycleError):
        metrics.compute([(1, 2), (2, 1), (3, None)], [], CURRENCIES)
