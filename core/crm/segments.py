"""Client segments: audiences that modules offer (``crm_client_segments``) and others target by
key, ``"<plugin>:<key>"``, without importing the module that offers them.

A segment's members are the offering plugin's answer to ``crm_segment_members`` (only that plugin
is asked), narrowed here to the tenant and to the clients the caller may see, as one SELECT of
client ids that can feed an INSERT … FROM SELECT (``core.crm.audience``).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select, select

from core.context import Ctx
from core.crm.data_permissions import scope_clients
from core.crm.models import Client
from core.errors import InvalidInput
from core.plugins.dispatch import ask, collect

# "<plugin>:<key>": a plugin's name (as the manifest allows it), then the plugin's own key.
SEGMENT_KEY = re.compile(r"(?P<plugin>[a-z][a-z0-9_]{1,39}):(?P<key>[^\s:][^:]{0,99})")
MAX_SEGMENT_KEY = 140


def list_segments(ctx: Ctx) -> list[dict[str, str]]:
    """The segments the tenant's enabled plugins offer: ``{"key": "<plugin>:<key>", "plugin",
    "label", "description"}``, sorted by key. A plugin that fails is recorded and left out; an
    entry without a usable key is left out."""
    entries: dict[str, dict[str, str]] = {}
    for plugin, offered in collect(ctx, "crm_client_segments").items():
        for segment in offered if isinstance(offered, list) else []:
            if not isinstance(segment, dict) or not isinstance(segment.get("key"), str):
                continue
            key = f"{plugin}:{segment['key']}"
            if SEGMENT_KEY.fullmatch(key) is None:
                continue
            entries[key] = {
                "key": key,
                "plugin": plugin,
                "label": str(segment.get("label") or segment["key"]),
                "description": str(segment.get("description") or ""),
            }
    return [entries[key] for key in sorted(entries)]


def segment_query(ctx: Ctx, key: str, *, field: str = "segments") -> Select[Any]:
    """``SELECT clients.id`` of the members of segment ``key`` (``"<plugin>:<key>"``) whom the
    caller may see, filtering on the tenant explicitly. A malformed key, a plugin not enabled for
    the tenant, or a segment its plugin does not answer for (None, or a failure, recorded) is a
    422 naming ``field``."""
    match = SEGMENT_KEY.fullmatch(key) if len(key) <= MAX_SEGMENT_KEY else None
    if match is None:
        raise InvalidInput(field, f"{key[:MAX_SEGMENT_KEY]!r} is not a segment: use '<module>:<key>'")
    members = ask(ctx, match["plugin"], "crm_segment_members", segment=match["key"])
    if not isinstance(members, Select) or len(members.selected_columns) != 1:
        raise InvalidInput(field, f"no segment {key!r}")
    ids = members.subquery()
    stmt = select(Client.id).where(Client.tenant_id == ctx.tenant_id, Client.id.in_(select(ids.c[0])))
    return scope_clients(stmt, ctx.principal)
