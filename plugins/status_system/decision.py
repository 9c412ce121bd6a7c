"""Which status each client should hold: the precedence, written once, over arrays of clients.

1. **The rules** reach the highest status whose criteria tree is met (the lowest status is
   everyone's). A status without rules is given by staff only, and the rules never take it away.
2. **Demotion** (the broker's policy): with ``never`` the rules only promote. With ``automatic`` a
   client whose rules no longer hold their status keeps it while they still meet its tree at
   ``keep_share`` of its lower bounds (hysteresis, 90 % by default) or while the grace period
   after their last promotion runs; otherwise they drop to the highest status the rules reach.
3. **A floor** (a manual minimum) lifts the result to at least the floor's status.
4. **A lock** beats everything: the client holds exactly the locked status.

A floor or lock past its expiry is cleared and the client re-decided without it (cause "expiry");
when a lock ends (expired or lifted) the status it held does not count: the rules and the floor
decide afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from plugins.status_system.criteria import Evaluation, Facts, evaluate
from plugins.status_system.ladder import Ladder
from plugins.status_system.models import Cause

NONE = -1
NEVER = np.inf  # an expiry that never comes


@dataclass
class Current:
    """What clients hold now, as arrays aligned with ``Facts.ids``: levels (index in the ladder),
    the time of the last promotion (epoch seconds, NaN when none), and lock and floor levels
    (``NONE``) with their expiries (epoch seconds, ``NEVER``)."""

    level: np.ndarray
    promoted_at: np.ndarray
    lock: np.ndarray
    lock_expires: np.ndarray
    floor: np.ndarray
    floor_expires: np.ndarray
    fresh: np.ndarray  # decide without the status held (a lock just ended): rules and floor only
    stored: np.ndarray  # the client has a standing row (without one: the lowest status, nothing set)
    warned: np.ndarray  # the client was told their status is at risk

    @classmethod
    def empty(cls, size: int) -> Current:
        return cls(
            level=np.zeros(size, dtype=np.int64),
            promoted_at=np.full(size, np.nan),
            lock=np.full(size, NONE, dtype=np.int64),
            lock_expires=np.full(size, NEVER),
            floor=np.full(size, NONE, dtype=np.int64),
            floor_expires=np.full(size, NEVER),
            fresh=np.zeros(size, dtype=bool),
            stored=np.zeros(size, dtype=bool),
            warned=np.zeros(size, dtype=bool),
        )


@dataclass
class Decision:
    current: np.ndarray  # the level each client holds
    level: np.ndarray  # the level each client should hold
    rules: np.ndarray  # the level the rules alone reach
    cause: np.ndarray  # object array of Cause, for changed clients
    lock_expired: np.ndarray
    floor_expired: np.ndarray
    at_risk: np.ndarray  # kept only by hysteresis or grace: the client is warned
    warn: np.ndarray  # at risk, holding a status clients see, and not told yet: tell them now
    unwarn: np.ndarray  # told, and no longer at risk (or moved): forget it, to tell again next time
    full: dict[int, Evaluation]  # each level's tree, at full thresholds

    @property
    def changed(self) -> np.ndarray:
        return self.level != self.current

    @property
    def dirty(self) -> np.ndarray:
        """Clients whose standing must be written: a change, an expired lock or floor to clear, or
        a warning to give or forget."""
        return self.changed | self.lock_expired | self.floor_expired | self.warn | self.unwarn


def decide(ladder: Ladder, current: Current, facts: Facts, now: datetime) -> Decision:
    size = len(facts.ids)
    cur = np.clip(current.level, 0, max(len(ladder.rungs) - 1, 0))
    rules = np.zeros(size, dtype=np.int64)
    full: dict[int, Evaluation] = {}
    for rung in ladder.rungs:
        if rung.criteria is not None:
            full[rung.level] = evaluate(rung.criteria, facts, ladder.metrics)
            rules = np.where(full[rung.level].met, rung.level, rules)

    by_hand = np.array([rung.criteria is None for rung in ladder.rungs] or [True], dtype=bool)[cur]
    down = rules < cur
    # The demotion settings matter only when the rules fall below a status held (read lazily).
    never = not down.any() or ladder.demotion == "never"
    natural = np.maximum(cur, rules) if never else rules.copy()
    at_risk = np.zeros(size, dtype=bool)
    if not never:
        stamp = now.timestamp()
        keep = down & (by_hand | (stamp - current.promoted_at < ladder.grace.total_seconds()))
        for level in np.unique(cur[down & ~keep]):
            tree = ladder.rungs[int(level)].criteria
            if tree is not None and ladder.keep_share < 1:
                relaxed = evaluate(tree, facts, ladder.metrics, share=ladder.keep_share)
                keep |= down & (cur == level) & relaxed.met
        natural = np.where(down & keep, cur, rules)
        at_risk = down & keep & ~by_hand

    stamp = now.timestamp()
    lock_on = (current.lock != NONE) & (current.lock_expires > stamp)
    floor_on = (current.floor != NONE) & (current.floor_expires > stamp)
    lock_expired = (current.lock != NONE) & ~lock_on
    floor_expired = (current.floor != NONE) & ~floor_on
    # A status held through a lock was not earned: when the lock ends, the rules decide afresh.
    natural = np.where(lock_expired | current.fresh, rules, natural)
    level = np.where(floor_on, np.maximum(natural, current.floor), natural)
    level = np.where(lock_on, current.lock, level)

    cause = np.where(level > cur, Cause.RULE, Cause.DEMOTION).astype(object)
    cause = np.where((lock_expired | floor_expired) & ~lock_on, Cause.EXPIRY, cause)
    cause = np.where(
        floor_on & ~lock_on & (level == current.floor) & (current.floor > natural), Cause.FLOOR, cause
    )
    cause = np.where(lock_on, Cause.LOCK, cause)
    at_risk &= ~lock_on
    changed = level != cur
    visible = np.array([rung.visible_to_clients for rung in ladder.rungs] or [False], dtype=bool)[cur]
    warn = at_risk & ~changed & visible & ~current.warned
    unwarn = current.warned & (changed | ~at_risk)
    return Decision(cur, level, rules, cause, lock_expired, floor_expired, at_risk, warn, unwarn, full)
