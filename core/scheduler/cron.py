"""Cron specs evaluated in an IANA time zone, with Debian cron's DST behaviour (via cronsim):

* clocks go back: a job at a fixed time inside the repeated hour runs once, not twice;
* clocks go forward: a job at a time that does not exist that day runs right after the jump.

Times in and out are UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from core import reference
from core.errors import InvalidInput

# A schedule more than this many periods behind runs its latest period only (catch-up is bounded).
MAX_CATCH_UP = 100_000


def validate(cron: str, timezone: str, *, field: str = "cron", tz_field: str = "timezone") -> None:
    if not reference.is_time_zone(timezone):
        raise InvalidInput(tz_field, f"unknown IANA time zone {timezone!r}")
    try:
        CronSim(cron, datetime.now(ZoneInfo(timezone)))
    except CronSimError as error:
        raise InvalidInput(field, f"not a valid cron spec: {error}") from None


def next_after(cron: str, timezone: str, moment: datetime) -> datetime:
    """The first fire time strictly after ``moment``."""
    local = moment.astimezone(ZoneInfo(timezone))
    return next(CronSim(cron, local)).astimezone(UTC)


def latest_due(cron: str, timezone: str, due: datetime, now: datetime) -> tuple[datetime, datetime]:
    """For a schedule due at ``due`` (≤ now): the latest fire time not after ``now`` — the period
    to run — and the next fire time after ``now``. Older missed periods are skipped."""
    period = due
    fires = CronSim(cron, due.astimezone(ZoneInfo(timezone)))
    for _ in range(MAX_CATCH_UP):
        following = next(fires).astimezone(UTC)
        if following > now:
            return period, following
        period = following
    return period, next_after(cron, timezone, now)
