"""How the host talks to Client Notes (the contract: core/contract/hooks.py)."""

from __future__ import annotations

from pathlib import Path

from core.sdk import hookimpl


@hookimpl
def crm_backoffice_router():
    from client_notes.routes import router

    return router


# --- pages (contract 1.4): templates, a page router, a navigation entry, a client panel ----------


@hookimpl
def crm_templates():
    return Path(__file__).parent / "templates"  # named "client_notes/<file>" by pages and slots


@hookimpl
def crm_backoffice_page_router():
    from client_notes.pages import pages

    return pages  # at /backoffice/plugins/client_notes/


@hookimpl
def crm_backoffice_nav():
    # Shown to staff holding the permission; the page at "/" declares the same one.
    return [
        {
            "id": "notes",
            "label": "Client notes",
            "path": "/",
            "icon": "document",
            "permission": "client_notes.read",
        }
    ]


@hookimpl
def crm_ui_slots():
    from client_notes.pages import client_panel

    return [
        {
            "slot": "backoffice.client_panel",
            "template": "client_notes/client_panel.html",
            "permission": "client_notes.read",
            "context": client_panel,
        }
    ]


# --- jobs, tables, lifecycle, events -------------------------------------------------------------


@hookimpl
def crm_job_handlers():
    from client_notes.service import weekly_digest

    return {"client_notes.weekly_digest": weekly_digest}


@hookimpl
def crm_migrations():
    return Path(__file__).parent / "migrations" / "versions"


@hookimpl
def crm_installed(ctx):
    from core.sdk import ensure_schedule

    ensure_schedule(ctx, "client_notes", "client_notes.weekly_digest", cron="0 8 * * 1")


@hookimpl
def crm_client_registered(ctx, client, promotion_link):
    from client_notes.service import note_registration

    if promotion_link is not None:
        note_registration(ctx, client, promotion_link)
