"""The one-pass tree metrics agree with a naive per-client walk, on random referral trees — in
machine integers, and in Python integers once amounts are too large for them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.tier_upgrade import metrics

CURRENCIES = ("USD", "EUR")


@st.composite
def forests(draw, largest: int = 10**9):
    """Random referral forests: each client's referrer is an earlier client, or nobody; ids are
    shuffled so the input order says nothing about the tree."""
    size = draw(st.integers(min_value=1, max_value=40))
    parents = [None] + [draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, size)]
    ids = draw(st.permutations(range(1000, 1000 + size)))
    nodes = [(ids[i], None if p is None else ids[p]) for i, p in enumerate(parents)]
    nodes = draw(st.permutations(nodes))
    deposits = draw(
        st.lists(
            st.tuples(st.sampled_from(ids), st.sampled_from((*CURRENCIES, "GBP")), st.integers(0, largest)),
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


def _check(forest, minimum: int) -> None:
    nodes, deposits = forest
    computed = metrics.compute(nodes, deposits, CURRENCIES)
    reached = {currency: computed.qualifying_branches(currency, minimum) for currency in CURRENCIES}
    for (client, currency), (total, branches) in _naive(nodes, deposits).items():
        position = computed.positions([client])
        at = int(position[0])
        assert computed.downline_total(at, currency) == total
        assert computed.branch_count(at) == len(branches)
        assert computed.downline_totals(position, currency).tolist() == [total]
        assert reached[currency][at] == sum(1 for b in branches if b >= minimum)


@settings(max_examples=200, deadline=None)
@given(forests(), st.integers(0, 3 * 10**9))
def test_one_pass_metrics_match_a_naive_walk(forest, minimum):
    _check(forest, minimum)


@settings(max_examples=50, deadline=None)
@given(forests(largest=10**25), st.integers(0, 10**26))
def test_sums_past_64_bit_integers_stay_exact(forest, minimum):
    # The largest accepted amount is 10^16 units; a million of them pass 2^63.
    _check(forest, minimum)


def test_a_referral_loop_is_reported():
    import pytest

    with pytest.raises(metrics.CycleError):
        metrics.compute([(1, 2), (2, 1), (3, None)], [], CURRENCIES)
