"""The broker's ladder of statuses and demotion policy, as one value every decision reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import select

from core.sdk import ClientMetric, Ctx, available_metrics, settings_of
from plugins.status_system.criteria import needs, set_values_of
from plugins.status_system.models import Status

PLUGIN = "status_system"


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
        return {rung.id: rung.level for rung in self.rungs}

    def needs(self) -> set[Any]:
        return needs(rung.criteria for rung in self.rungs)

    def set_values(self) -> dict[Any, set[str]]:
        return set_values_of(rung.criteria for rung in self.rungs)

    def above(self, level: int) -> Rung | None:
        """The next status up that rules can reach (the portal's "next")."""
        return next((r for r in self.rungs if r.level > level and r.criteria is not None), None)


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
    return Ladder(rungs=rungs, metrics=available_metrics(ctx), settings=lambda: settings_of(ctx, PLUGIN))
