"""How the host talks to the Leads module (the contract: core/contract/hooks.py)."""

from __future__ import annotations

from pathlib import Path

from core.sdk import hookimpl


@hookimpl
def crm_backoffice_router():
    from plugins.leads.routes import router

    return router


@hookimpl
def crm_templates():
    return Path(__file__).parent / "templates"


@hookimpl
def crm_backoffice_page_router():
    from plugins.leads.pages import pages

    return pages


@hookimpl
def crm_backoffice_nav():
    return [
        {"id": "leads", "label": "Leads", "path": "/", "icon": "inbox", "permission": "leads.read"},
        {"id": "lead_imports", "label": "Import leads", "path": "/imports", "icon": "document",
         "permission": "leads.import"},
    ]  # fmt: skip


@hookimpl
def crm_ui_slots():
    from plugins.leads.pages import client_panel

    return [
        {
            "slot": "backoffice.client_panel",
            "template": "leads/client_panel.html",
            "permission": "leads.read",
            "context": client_panel,
        }
    ]


@hookimpl
def crm_migrations():
    return Path(__file__).parent / "migrations" / "versions"


# --- events: a lead's registration link used; a client who registered by other means ---------------


@hookimpl
def crm_invitation_accepted(ctx, client, invitation):
    if invitation["module"] != "leads":
        return
    from plugins.leads.conversion import invitation_accepted

    invitation_accepted(ctx, client, invitation["reference"])


@hookimpl
def crm_client_registered(ctx, client, promotion_link):
    from plugins.leads.conversion import auto_bind

    auto_bind(ctx, client)


@hookimpl
def crm_cli_commands():
    from plugins.leads.cli import commands

    return commands


@hookimpl
def crm_demo_data(ctx):
    from plugins.leads.demo import seed_demo

    seed_demo(ctx)
