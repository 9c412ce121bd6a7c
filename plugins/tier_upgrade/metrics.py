"""The referral tree's deposit metrics in one pass, for every client at once.

A client's *downline total* is what all their direct and indirect downlines deposited; a *branch*
is one direct downline together with all of its own downlines, and its total is that direct
downline's subtree total. Subtree totals are summed bottom-up over the tree once (children before
parents), so the cost is linear in clients plus deposit groups — never one query per client.
Amounts are integers in ten-thousandths (the Money type's scale), which keeps a million-client
tree compact and the sums exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

SCALE = 10_000


def to_units(amount: Decimal) -> int:
    return int(amount * SCALE)


def from_units(units: int) -> Decimal:
    return Decimal(units) / SCALE


class CycleError(ValueError):
    """The referral links loop: core forbids it, so the data was changed behind its back."""


@dataclass
class TreeMetrics:
    index: dict[int, int]  # client id -> position
    ids: list[int]
    parent: list[int]  # position of the referrer, -1 for a root
    child_start: list[int]  # children of position i: children[child_start[i]:child_start[i + 1]]
    children: list[int]
    own: dict[str, list[int]]  # per currency: the client's own deposits
    subtree: dict[str, list[int]]  # per currency: own + every downline's

    def downline_total(self, client_id: int, currency: str) -> int:
        i = self.index[client_id]
        if currency not in self.subtree:
            return 0
        return self.subtree[currency][i] - self.own[currency][i]

    def branch_totals(self, client_id: int, currency: str) -> list[int]:
        i = self.index[client_id]
        kids = self.children[self.child_start[i] : self.child_start[i + 1]]
        column = self.subtree.get(currency)
        return [column[k] for k in kids] if column is not None else [0] * len(kids)

    def branch_count(self, client_id: int) -> int:
        i = self.index[client_id]
        return self.child_start[i + 1] - self.child_start[i]


def compute(
    nodes: Iterable[tuple[int, int | None]],
    deposits: Iterable[tuple[int, str, int]],
    currencies: Iterable[str],
) -> TreeMetrics:
    """``nodes``: (client id, referrer id or None) for every client; ``deposits``: (client id,
    currency, units) — several rows per client and currency add up. Only ``currencies`` count."""
    ids: list[int] = []
    referrers: list[int | None] = []
    for client_id, referrer_id in nodes:
        ids.append(client_id)
        referrers.append(referrer_id)
    size = len(ids)
    index = {client_id: i for i, client_id in enumerate(ids)}
    parent = [-1 if r is None else index.get(r, -1) for r in referrers]

    child_start = [0] * (size + 1)
    for p in parent:
        if p >= 0:
            child_start[p + 1] += 1
    for i in range(size):
        child_start[i + 1] += child_start[i]
    children = [0] * child_start[size]
    cursor = child_start[:size]
    for i, p in enumerate(parent):
        if p >= 0:
            children[cursor[p]] = i
            cursor[p] += 1

    # Parents before children (breadth first from the roots); reversed, children come first.
    order = [i for i, p in enumerate(parent) if p < 0]
    head = 0
    while head < len(order):
        i = order[head]
        head += 1
        order.extend(children[child_start[i] : child_start[i + 1]])
    if len(order) != size:
        raise CycleError(f"{size - len(order)} clients are in a referral loop")

    own = {currency: [0] * size for currency in currencies}
    for client_id, currency, units in deposits:
        column = own.get(currency)
        position = index.get(client_id)
        if column is not None and position is not None:
            column[position] += units
    subtree = {currency: column[:] for currency, column in own.items()}
    for column in subtree.values():
        for i in reversed(order):
            p = parent[i]
            if p >= 0:
                column[p] += column[i]
    return TreeMetrics(index, ids, parent, child_start, children, own, subtree)
