"""The Leads module in the back office's pages. So far: the panel on a client's page (slot
``backoffice.client_panel``) showing the lead the client came from and its timeline."""

from __future__ import annotations

from typing import Any

from core.sdk import Ctx
from plugins.leads import activities, service

TIMELINE = 10  # the newest activities shown in the panel


def client_panel(ctx: Ctx, client: Any) -> dict[str, Any]:
    """The lead ``client`` came from, if any (the host's page already decided the caller may see
    the client; the lead is shown within the caller's data permissions over leads)."""
    lead = service.lead_of_client(ctx, client.id)
    if lead is None or service.visible_lead(ctx, lead.id) is None:
        return {"lead": None, "activities": []}
    return {"lead": lead, "activities": activities.timeline(ctx, lead, limit=TIMELINE)}
