"""Announcing changes to a client's record (``crm_client_updated``): the fields modules are told
about, and the one helper every path that changes them goes through."""

from __future__ import annotations

from typing import Any

from core.context import Ctx
from core.crm.models import Client
from core.plugins.dispatch import fire

# Changes to these fields are announced to modules (contract 1.5: the last five since 1.5).
WATCHED_FIELDS = (
    "rank_id",
    "tier_id",
    "group_id",
    "client_type",
    "country",
    "language",
    "referrer_id",
    "suspended",
)


def watched_values(client: Client) -> dict[str, Any]:
    """The client's announced fields as they are now: take them before a change, then hand them
    to ``announce_changes`` after it."""
    return {name: getattr(client, name) for name in WATCHED_FIELDS}


def announce_changes(ctx: Ctx, client: Client, before: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Tell modules, once, which of the fields in ``before`` changed on ``client`` since, each as
    ``(before, after)``; nothing when none did. Returns the changes announced."""
    changes = {
        name: (old, getattr(client, name))
        for name, old in before.items()
        if name in WATCHED_FIELDS and getattr(client, name) != old
    }
    if changes:
        fire(ctx, "crm_client_updated", client=client, changes=changes)
    return changes
