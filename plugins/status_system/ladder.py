"""The broker's ladder of statuses and demotion policy, as one value every decision reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import func, select

from core.sdk import ClientMetric, Ctx, available_metrics, settings_of
from plugins.status_system.criteria import needs, set_values_of
from plugins.status_system.hooks import PLUGIN
from plugins.status_system.models import Status


@dataclass(frozen=True)
class Rung:
    """A status as the decisions see it (a plain value: no ORM object outlives its session)."""

    id: int
    name: str
    level: int  # 0 is the lowest
    criteria: Mapping[str, Any] | None
    visible_to_clients: bool
    group_id: int | None
    caption: str
    colour: str


@dataclass(frozen=True)
class Ladder:
    """The statuses, the metrics, and the broker's demotion settings. The settings are read when
    first asked for: most events promote or change nothing, and then need none of them."""

    rungs: tuple[Rung, ...]
    metrics: Mapping[str, ClientMetric]
    settings: Callable[[], Mapping[str, Any]]
    stamp: Stamp = (0, None)
    # What the rungs imply (needs, set values, levels), worked out once: shared by the copies a
    # remembered ladder is handed out as (``dataclasses.replace`` passes the same dict).
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def _derive(self, name: str, work: Callable[[], Any]) -> Any:
        if name not in self.derived:
            self.derived[name] = work()
        return self.derived[name]

    @cached_property
    def _settings(self) -> Mapping[str, Any]:
        return self.settings()

    @property
    def demotion(self) -> str:
        """ "never" or "automatic"."""
        return str(self._settings.get("demotion", "never"))

    @property
    def keep_share(self) -> float:
        """A status is kept while the client stays above this share of its bounds."""
        return int(self._settings.get("keep_percent", 90)) / 100

    @property
    def grace(self) -> timedelta:
        """No demotion this long after a promotion."""
        return timedelta(days=int(self._settings.get("grace_days", 30)))

    @property
    def notify_email(self) -> bool:
        return bool(self._settings.get("notify_email", False))

    @property
    def level_of(self) -> dict[int, int]:
        return self._derive("level_of", lambda: {rung.id: rung.level for rung in self.rungs})

    def needs(self) -> set[Any]:
        return self._derive("needs", lambda: needs(rung.criteria for rung in self.rungs))

    def set_values(self) -> dict[Any, set[str]]:
        return self._derive("set_values", lambda: set_values_of(rung.criteria for rung in self.rungs))

    def above(self, level: int) -> Rung | None:
        """The next status up that rules can reach (the portal's "next")."""
        return next((r for r in self.rungs if r.level > level and r.criteria is not None), None)


Stamp = tuple[int, datetime | None]


def stamp_columns() -> tuple[Any, Any]:
    """The ladder's stamp as two columns of a statement (how many statuses, when one last changed):
    read with a client's facts, it says whether a remembered ladder is still the broker's."""
    return (
        select(func.count(Status.id)).scalar_subquery().label("ladder_count"),
        select(func.max(Status.updated_at)).scalar_subquery().label("ladder_changed"),
    )


# Ladders remembered per database and tenant, so that an event does not read the statuses again;
# each use checks the stamp (``stamp_columns``) and that the same metrics are enabled.
_REMEMBERED: dict[tuple[str, int], Ladder] = {}


def _memory_key(ctx: Ctx) -> tuple[str, int]:
    return (str(ctx.runtime.settings.database_url), int(ctx.tenant_id))


def remembered_ladder(ctx: Ctx) -> Ladder:
    """The tenant's ladder as last loaded in this process (its settings read from ``ctx``), or
    loaded now. The caller checks its stamp against what it reads (``stamp_columns``)."""
    found = _REMEMBERED.get(_memory_key(ctx))
    metrics = available_metrics(ctx)
    same_metrics = (
        found is not None
        and found.metrics.keys() == metrics.keys()
        and all(found.metrics[name] is metric for name, metric in metrics.items())
    )
    if found is None or not same_metrics:
        return load_ladder(ctx)
    return replace(found, settings=lambda: settings_of(ctx, PLUGIN))


def load_ladder(ctx: Ctx) -> Ladder:
    statuses = ctx.session.scalars(select(Status).order_by(Status.position, Status.id)).all()
    rungs = tuple(
        Rung(
            id=s.id,
            name=s.name,
            level=level,
            criteria=s.criteria,
            visible_to_clients=s.visible_to_clients,
            group_id=s.group_id,
            caption=s.caption,
            colour=s.colour,
        )
        for level, s in enumerate(statuses)
    )
    stamp: Stamp = (len(statuses), max((s.updated_at for s in statuses), default=None))
    ladder = Ladder(rungs, available_metrics(ctx), lambda: settings_of(ctx, PLUGIN), stamp)
    _REMEMBERED[_memory_key(ctx)] = replace(ladder, settings=dict)  # holds no session
    return ladder
