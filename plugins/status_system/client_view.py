"""A client's standing as the client may see it: the portal's progress bar and status details.

It reads the same assessment as :func:`standing.standing_of` (one evaluation: the decision, the
bar and the checklist agree) and applies what clients are shown, decided once here:

- **Hidden statuses are never named.** A client holding a status that is not ``visible_to_clients``
  is shown the highest visible status below it; with none below, nothing (the header shows no bar
  and the details page says there is no status to show yet).
- **The next status** is the first visible status above the one held that the rules can reach;
  the bar is the evaluator's progress toward it (``criteria`` module: 1 exactly when its rules are
  met), shown as a whole percentage rounded down, so 100 % means reached.
- **At the top**: no visible status above the one held. A client whose status is locked sees their
  status only (no next and no checklist: the rules do not move it); a lock or a floor is never
  shown as such.
- **At risk** (automatic demotion keeps the status only by its margin or grace period): the client
  is warned, with what keeps it, unless the status held is hidden.

Reading is cheap and read-only (no lock, nothing written): a portal page evaluates the client once,
shared by the header badge, the home widget and the details page through the session's cache.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core.sdk import Ctx
from plugins.status_system.checklist import choice_names, describe
from plugins.status_system.criteria import evaluate
from plugins.status_system.decision import NONE
from plugins.status_system.ladder import Ladder, Rung
from plugins.status_system.standing import Assessment, assess

CACHE = "status_system.client_view"


@dataclass(frozen=True)
class ClientView:
    """What the portal shows a client. ``status`` None: nothing to show."""

    client_id: int
    status: Rung | None
    next: Rung | None = None
    progress: float = 0.0  # toward ``next``, in [0, 1]
    reached: bool = False  # ``next``'s rules are met (it is given at the next re-evaluation)
    top: bool = False  # no visible status above
    ladder: tuple[Rung, ...] = ()  # the visible statuses, lowest first
    checklist: list[dict[str, Any]] = field(default_factory=list)  # toward ``next`` (details only)
    at_risk: bool = False
    keep: list[dict[str, Any]] = field(default_factory=list)  # what keeps the status, when at risk

    @property
    def percent(self) -> int:
        """The bar's value, 0 to 100, rounded down: 100 only when reached."""
        return 100 if self.reached else min(math.floor(self.progress * 100), 99)

    @property
    def missing(self) -> list[dict[str, Any]]:
        return [item for item in self.checklist if not item["met"]]


def _assessment(ctx: Ctx, client_id: int) -> Assessment:
    """One assessment per client per unit of work (a page request): the header badge, the home
    widget and the details page of one page share it."""
    cache = ctx.session.info.setdefault(CACHE, {})
    if client_id not in cache:
        cache[client_id] = assess(ctx, [client_id])
    return cache[client_id]


def _with_parts(ctx: Ctx, items: list[dict[str, Any]], ladder: Ladder) -> list[dict[str, Any]]:
    """A condition on holding all of a set (every KYC document of an onboarding step) is also
    listed value by value, each held or not: "Passport: verified", "Proof of address: missing"."""
    for item in items:
        metric = ladder.metrics.get(item["metric"])
        if metric is None or metric.kind != "set" or item["operator"] != "includes_all":
            continue
        names = choice_names(ctx, metric)
        held = {str(value) for value in item["current"]}
        item["parts"] = [{"label": names.get(str(v), str(v)), "met": str(v) in held} for v in item["target"]]
    return items


def client_view(ctx: Ctx, client_id: int, *, details: bool = False) -> ClientView:
    """The client's status as the portal shows it; with ``details``, the checklists in words too."""
    found = _assessment(ctx, client_id)
    ladder = found.ladder
    visible = tuple(rung for rung in ladder.rungs if rung.visible_to_clients)
    if not ladder.rungs:
        return ClientView(client_id, None)
    held = int(found.current.level[0])
    shown = next((rung for rung in reversed(visible) if rung.level <= held), None)
    if shown is None:
        return ClientView(client_id, None, ladder=visible)
    stamp = found.now.timestamp()
    locked = bool(found.current.lock[0] != NONE and found.current.lock_expires[0] > stamp)
    above = [rung for rung in visible if rung.level > held]
    target = None if locked else next((rung for rung in above if rung.criteria is not None), None)
    progress, reached, checklist = 0.0, False, []
    if target is not None:
        evaluation = found.decision.full[target.level]
        progress, reached = float(evaluation.score[0]), bool(evaluation.met[0])
        if details:
            checklist = _with_parts(ctx, describe(ctx, evaluation, found.facts, 0, ladder.metrics), ladder)
    at_risk = bool(found.decision.at_risk[0]) and shown.level == held
    keep: list[dict[str, Any]] = []
    if at_risk and shown.criteria is not None:
        relaxed = evaluate(shown.criteria, found.facts, ladder.metrics, share=ladder.keep_share)
        keep = describe(ctx, relaxed, found.facts, 0, ladder.metrics, keeping=True)
    return ClientView(
        client_id,
        shown,
        next=target,
        progress=min(max(progress, 0.0), 1.0),
        reached=reached,
        top=not above,
        ladder=visible,
        checklist=checklist,
        at_risk=at_risk,
        keep=keep,
    )
