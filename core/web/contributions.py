"""What the navigation and the named slots show a caller: core's entries and the plugins'
contributions, filtered by the tenant's enabled plugins and the caller's permissions.

Filtering decides only what is shown. Every page behind an entry declares its own access, so a
hidden entry's URL is refused all the same (403 without the permission, 404 without the plugin).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from starlette.requests import Request

from core.context import Ctx
from core.db.isolation import Isolation
from core.failures.service import record_failure
from core.i18n import N_
from core.plugins.dispatch import acting_as, enabled_plugins

log = logging.getLogger("crm.web")


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    icon: str
    permission: str | None = None
    section: str = ""


# The back office's own entries, in the order staff meet them.
BACKOFFICE_NAV: tuple[NavItem, ...] = (
    NavItem(N_("Dashboard"), "/backoffice/", "chart"),
    NavItem(N_("Clients"), "/backoffice/clients", "people", "clients.read"),
    NavItem(N_("Deposits"), "/backoffice/deposits", "coins", "deposits.read"),
    NavItem(N_("KYC review"), "/backoffice/kyc", "document", "kyc.read"),
    NavItem(N_("Promotion links"), "/backoffice/promotion-links", "link", "promotion_links.read"),
    NavItem(N_("Client groups"), "/backoffice/groups", "layers", "client_groups.read"),
    NavItem(N_("Ranks and tiers"), "/backoffice/ranks", "star", "ranks.read"),
    NavItem(N_("Users"), "/backoffice/users", "person", "users.read", N_("Settings")),
    NavItem(N_("Roles"), "/backoffice/roles", "shield", "roles.read", N_("Settings")),
    NavItem(N_("Teams"), "/backoffice/teams", "people", "teams.read", N_("Settings")),
    NavItem(N_("Operation log"), "/backoffice/logs", "list", "audit.read", N_("Settings")),
    NavItem(N_("Marketplace"), "/backoffice/marketplace", "box", "marketplace.read", N_("Settings")),
)

PORTAL_NAV: tuple[NavItem, ...] = (
    NavItem(N_("Home"), "/portal/", "chart"),
    NavItem(N_("Prop challenges"), "/portal/challenges", "trophy"),
    NavItem(N_("Orders"), "/portal/orders", "list"),
    NavItem(N_("Deposits"), "/portal/deposits", "coins"),
    NavItem(N_("Trading accounts"), "/portal/accounts", "layers"),
    NavItem(N_("KYC documents"), "/portal/kyc", "document"),
)

PLATFORM_NAV: tuple[NavItem, ...] = (
    NavItem(N_("Tenants"), "/platform/", "people"),
    NavItem(N_("Plugin health"), "/platform/health", "shield"),
)


def _holds(ctx: Ctx, permission: str | None) -> bool:
    return permission is None or (ctx.principal is not None and ctx.principal.has(permission))


def backoffice_nav(ctx: Ctx) -> list[NavItem]:
    """Core's entries the user may open, then each enabled plugin's (by plugin name)."""
    items = [item for item in BACKOFFICE_NAV if _holds(ctx, item.permission)]
    host = ctx.runtime.plugins
    for name in sorted(enabled_plugins(ctx)):
        plugin = host.plugins.get(name)
        if plugin is None or plugin.backoffice_page_router is None:
            continue
        for entry in plugin.backoffice_nav:
            if _holds(ctx, entry["permission"]):
                href = f"/backoffice/plugins/{name}{entry['path']}"
                items.append(NavItem(entry["label"], href, entry["icon"], entry["permission"], N_("Modules")))
    return items


def portal_nav(ctx: Ctx) -> list[NavItem]:
    items = list(PORTAL_NAV)
    host = ctx.runtime.plugins
    for name in sorted(enabled_plugins(ctx)):
        plugin = host.plugins.get(name)
        if plugin is None or plugin.portal_page_router is None:
            continue
        for entry in plugin.portal_pages:
            items.append(NavItem(entry["label"], f"/portal/plugins/{name}{entry['path']}", "box"))
    return items


def render_slot(request: Request, ctx: Ctx, slot: str, subject: Any = None, **values: Any) -> Markup:
    """Every enabled plugin's pieces for ``slot`` that the caller may see, rendered in order, with
    ``subject`` and the slot's other documented ``values``. A piece that fails is recorded in the
    plugin-health view and left out."""
    from core.web.templating import environment, page_context  # templating imports this module

    host = ctx.runtime.plugins
    pieces = sorted(
        (
            (piece.get("order", 100), name, piece)
            for name in enabled_plugins(ctx)
            if (plugin := host.plugins.get(name)) is not None
            for piece in plugin.slots
            if piece["slot"] == slot and _holds(ctx, piece.get("permission"))
        ),
        key=lambda item: (item[0], item[1]),
    )
    if not pieces:
        return Markup("")
    env = environment(request)
    base = {**page_context(request, ctx), **values, "subject": subject, "slot_name": slot}
    html = []
    for _order, name, piece in pieces:
        try:
            # A savepoint only if the piece reads the database; the failure is recorded outside it.
            with Isolation(ctx.session), acting_as(ctx, name) as plugin_ctx:
                extra = piece["context"](plugin_ctx, subject) if "context" in piece else {}
                html.append(env.get_template(piece["template"]).render({**base, **extra, "ctx": ctx}))
        except Exception as error:
            log.warning("plugin %s failed in slot %s: %r", name, slot, error)
            record_failure(ctx, name, "crm_ui_slots", {"slot": slot}, error)
    return Markup("").join(Markup(part) for part in html)
