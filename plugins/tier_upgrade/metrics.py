"""The referral tree's deposit metrics in one pass, for every client at once.

A client's *downline total* is what all their direct and indirect downlines deposited; a *branch*
is one direct downline together with all of its own downlines, and its total is that direct
downline's subtree total. Subtree totals are summed bottom-up over the tree once, level by level
from the deepest (each level's totals added to their parents' in one vectorised step), so the cost
is linear in clients plus deposit groups — never one query, nor one Python step, per client.

Amounts are integers in ten-thousandths (the Money type's scale), which keeps the sums exact: in
64-bit machine integers while the tenant's whole total — which bounds every subtree's — stays
below ``EXACT_INT64``; beyond it (only amounts near the largest accepted, by the million), in
Python integers, slower and as exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from core.sdk import UNITS_INT64_BOUND

SCALE = 10_000
EXACT_INT64 = UNITS_INT64_BOUND  # a sum below this, of non-negative terms, cannot overflow int64


def to_units(amount: Decimal) -> int:
    return int(amount * SCALE)


def from_units(units: int) -> Decimal:
    return Decimal(units) / SCALE


class CycleError(ValueError):
    """The referral links loop: core forbids it, so the data was changed behind its back."""


@dataclass
class TreeMetrics:
    ids: np.ndarray  # client ids, ascending; a client's position is its index here
    parent: np.ndarray  # position of the referrer, -1 for a root
    child_start: np.ndarray  # children of position i: children[child_start[i]:child_start[i + 1]]
    children: np.ndarray
    own: dict[str, np.ndarray]  # per currency: the client's own deposits
    subtree: dict[str, np.ndarray]  # per currency: own + every downline's
    # qualifying_branches per (currency, minimum), kept: the criteria test it for every candidate,
    # then each record's figures read it again for its client
    reached: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)

    def positions(self, client_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        wanted = np.asarray(client_ids, dtype=np.int64)
        at = np.searchsorted(self.ids, wanted)
        if len(wanted) and (at.max() >= len(self.ids) or not np.array_equal(self.ids[at], wanted)):
            raise KeyError("a client is not in the tree")
        return at

    def downline_totals(self, positions: np.ndarray, currency: str) -> np.ndarray:
        if currency not in self.subtree:
            return np.zeros(len(positions), dtype=np.int64)
        return self.subtree[currency][positions] - self.own[currency][positions]

    def qualifying_branches(self, currency: str, minimum: int) -> np.ndarray:
        """For every client, how many of their branches reached ``minimum``."""
        key = (currency, minimum)
        if key not in self.reached:
            self.reached[key] = self._qualifying_branches(currency, minimum)
        return self.reached[key]

    def _qualifying_branches(self, currency: str, minimum: int) -> np.ndarray:
        size = len(self.ids)
        column = self.subtree.get(currency)
        if column is None:
            reached = np.zeros(size, dtype=bool) if minimum > 0 else np.ones(size, dtype=bool)
        else:
            reached = column >= minimum
        return np.bincount(self.parent[(self.parent >= 0) & reached], minlength=size)

    # One client, by position (``positions``): for the figures a record keeps.
    def downline_total(self, at: int, currency: str) -> int:
        column = self.subtree.get(currency)
        return 0 if column is None else int(column[at] - self.own[currency][at])

    def branch_count(self, at: int) -> int:
        return int(self.child_start[at + 1] - self.child_start[at])


def compute(
    nodes: Iterable[tuple[int, int | None]],
    deposits: Iterable[tuple[int, str, int]],
    currencies: Iterable[str],
) -> TreeMetrics:
    """``nodes``: (client id, referrer id or None) for every client; ``deposits``: (client id,
    currency, units) — several rows per client and currency add up. Only ``currencies`` count."""
    pairs = list(nodes)
    ids = np.fromiter((client for client, _ in pairs), dtype=np.int64, count=len(pairs))
    referrers = np.fromiter((-1 if r is None else r for _, r in pairs), dtype=np.int64, count=len(pairs))
    rows = list(deposits)
    counted = list(currencies)
    return from_columns(
        ids,
        referrers,
        [client for client, _, _ in rows],
        currency_positions(counted, [currency for _, currency, _ in rows]),
        [units for _, _, units in rows],
        counted,
    )


def currency_positions(currencies: Sequence[str], deposit_currencies: Sequence[str]) -> np.ndarray:
    """Each deposit group's currency as its position in ``currencies`` (-1: not one of them)."""
    position = {currency: at for at, currency in enumerate(currencies)}
    return np.fromiter(
        (position.get(c, -1) for c in deposit_currencies), dtype=np.int64, count=len(deposit_currencies)
    )


def from_columns(
    ids: np.ndarray,
    referrers: np.ndarray,
    deposit_clients: Sequence[int] | np.ndarray,
    deposit_currencies: np.ndarray,
    deposit_units: Sequence[int] | np.ndarray,
    currencies: Sequence[str],
) -> TreeMetrics:
    """``compute`` from columns: the clients' ids and referrer ids (-1 for none), and the deposit
    groups' clients, currencies (positions in ``currencies``, as ``currency_positions`` gives
    them) and units (Python integers of any size, or an int64 array)."""
    return Shape.of(ids, referrers).add_deposits(
        deposit_clients, deposit_currencies, deposit_units, currencies
    )


@dataclass(frozen=True)
class Shape:
    """The tree without its amounts: who is whose parent and children, and the clients by depth.
    Built from the clients alone, so a settlement builds it while the database is still adding
    up the deposits."""

    ids: np.ndarray
    parent: np.ndarray
    child_start: np.ndarray
    children: np.ndarray
    by_depth: np.ndarray  # positions, shallowest first
    level_start: np.ndarray  # level d: by_depth[level_start[d]:level_start[d + 1]]

    @classmethod
    def of(cls, ids: np.ndarray, referrers: np.ndarray) -> Shape:
        """The clients' ids and referrer ids (-1 for none), in any order."""
        order = np.argsort(ids, kind="stable")
        ids, referrers = ids[order], referrers[order]
        size = len(ids)
        at = np.minimum(np.searchsorted(ids, referrers), max(size - 1, 0))
        parent = np.where((referrers >= 0) & (ids[at] == referrers), at, -1) if size else at
        depth = _depths(parent)
        has_parent = np.flatnonzero(parent >= 0)
        children = has_parent[np.argsort(parent[has_parent], kind="stable")]
        child_start = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(np.bincount(parent[has_parent], minlength=size), out=child_start[1:])
        by_depth = np.argsort(depth, kind="stable")
        level_start = np.searchsorted(depth[by_depth], np.arange(int(depth.max(initial=0)) + 2))
        return cls(ids, parent, child_start, children, by_depth, level_start)

    def add_deposits(
        self,
        deposit_clients: Sequence[int] | np.ndarray,
        deposit_currencies: np.ndarray,
        deposit_units: Sequence[int] | np.ndarray,
        currencies: Sequence[str],
    ) -> TreeMetrics:
        """The metrics: each client's own deposits and subtree totals per currency (arguments as
        ``from_columns`` takes them)."""
        ids, size = self.ids, len(self.ids)
        dtype: type | np.dtype = np.int64 if _fits_int64(deposit_units) else object
        clients = np.asarray(deposit_clients, dtype=np.int64)
        client_at = np.minimum(np.searchsorted(ids, clients), max(size - 1, 0))
        known = ids[client_at] == clients if size else np.zeros(0, bool)
        units = np.asarray(deposit_units, dtype=dtype) if len(deposit_units) else np.zeros(0, dtype=dtype)
        own: dict[str, np.ndarray] = {}
        for position, currency in enumerate(currencies):
            column = np.zeros(size, dtype=dtype)
            if len(units):
                mine = known & (deposit_currencies == position)
                np.add.at(column, client_at[mine], units[mine])
            own[currency] = column

        # Deepest level first: each level's totals are final once the level below was added.
        subtree = {currency: column.copy() for currency, column in own.items()}
        for level in range(len(self.level_start) - 2, 0, -1):
            members = self.by_depth[self.level_start[level] : self.level_start[level + 1]]
            parents = self.parent[members]
            for column in subtree.values():
                np.add.at(column, parents, column[members])
        return TreeMetrics(ids, self.parent, self.child_start, self.children, own, subtree)


def _fits_int64(units: Sequence[int] | np.ndarray) -> bool:
    """Whether the units are non-negative and add up to less than ``EXACT_INT64``, which bounds
    every subtree's total: then 64-bit sums are exact."""
    if not isinstance(units, np.ndarray):
        return sum(units) < EXACT_INT64 and min(units, default=0) >= 0
    if not len(units):
        return True
    if units.min() < 0:
        return False
    # Summed exactly in two 31-bit halves (each half's sum fits 64 bits for 2**32 terms).
    high, low = int(np.sum(units >> 31)), int(np.sum(units & (2**31 - 1)))
    return (high << 31) + low < EXACT_INT64


def _depths(parent: np.ndarray) -> np.ndarray:
    """Each client's depth (roots 0), by pointer jumping: log2(depth) vectorised steps whatever the
    tree's shape. ``CycleError`` when some clients never reach a root."""
    depth = (parent >= 0).astype(np.int64)
    jump = parent.copy()
    for _ in range(len(parent).bit_length() + 1):
        active = np.flatnonzero(jump >= 0)
        if not len(active):
            return depth
        target = jump[active]
        depth[active] += depth[target]
        jump[active] = jump[target]
    looping = int(np.count_nonzero(jump >= 0))
    raise CycleError(f"{looping} clients are in a referral loop")
