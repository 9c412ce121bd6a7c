"""How the host talks to the Status System (the contract: core/contract/hooks.py)."""

from __future__ import annotations

from pathlib import Path

from core.sdk import defer, hookimpl

PLUGIN = "status_system"
RECOMPUTE = "recompute"  # deferred work: re-decide the clients whose facts changed, by id


def _recompute(ctx, client_id):
    # After the event's unit of work commits, not inside it: an approval does not wait for the
    # re-evaluation, and twenty events for one client before it runs are one re-evaluation.
    defer(ctx, PLUGIN, RECOMPUTE, client_id)


@hookimpl
def crm_backoffice_router():
    from plugins.status_system.routes import router

    return router


@hookimpl
def crm_portal_router():
    from plugins.status_system.routes import portal_router

    return portal_router


@hookimpl
def crm_migrations():
    return Path(__file__).parent / "migrations" / "versions"


@hookimpl
def crm_job_handlers():
    from plugins.status_system.batch import JOB, run_job

    return {JOB: run_job}


@hookimpl
def crm_deferred_handlers():
    from plugins.status_system.standing import recompute_clients

    return {RECOMPUTE: recompute_clients}


@hookimpl
def crm_installed(ctx):
    """The nightly re-evaluation is scheduled (again, after a reinstall)."""
    from core.sdk import ensure_schedule
    from plugins.status_system.batch import CRON, JOB

    ensure_schedule(ctx, "status_system", JOB, cron=CRON)


# --- events that change a client's facts: re-decide that client once the event has committed ---------


@hookimpl
def crm_deposit_approved(ctx, deposit):
    _recompute(ctx, deposit.client_id)


@hookimpl
def crm_kyc_document_verified(ctx, document):
    _recompute(ctx, document.client_id)


@hookimpl
def crm_client_registered(ctx, client, promotion_link):
    _recompute(ctx, client.id)


@hookimpl
def crm_client_updated(ctx, client, changes):
    _recompute(ctx, client.id)


@hookimpl
def crm_trading_account_opened(ctx, account):
    _recompute(ctx, account.client_id)


# --- segments: one per status, for other modules (a coupon's distribution) ---------------------------


@hookimpl
def crm_client_segments(ctx):
    from plugins.status_system.service import list_statuses

    return [
        {
            "key": f"status-{s.id}",
            "label": f"Status: {s.name}",
            "description": f"Clients whose status is {s.name}",
        }
        for s in list_statuses(ctx)
    ]


@hookimpl
def crm_segment_members(ctx, segment):
    from plugins.status_system.service import holders_query

    prefix = "status-"
    if not segment.startswith(prefix) or not segment[len(prefix) :].isdigit():
        return None
    return holders_query(ctx, int(segment[len(prefix) :]))


@hookimpl
def crm_cli_commands():
    from plugins.status_system.cli import commands

    return commands


# --- pages: the back office's (ladder, rule editor, client panel, reports) and the portal's ----------


@hookimpl
def crm_templates():
    return Path(__file__).parent / "templates"


@hookimpl
def crm_backoffice_page_router():
    from plugins.status_system.pages import pages

    return pages


@hookimpl
def crm_backoffice_nav():
    return [
        {
            "id": "statuses",
            "label": "Statuses",
            "path": "/statuses",
            "icon": "trophy",
            "permission": "status_system.read",
        },
        {
            "id": "status_reports",
            "label": "Status reports",
            "path": "/reports",
            "icon": "chart",
            "permission": "status_system.read",
        },
    ]


@hookimpl
def crm_portal_page_router():
    from plugins.status_system.portal_pages import portal_pages

    return portal_pages


@hookimpl
def crm_portal_pages():
    return [{"id": "status", "label": "My status", "path": "/status"}]


@hookimpl
def crm_ui_slots():
    from plugins.status_system.pages import client_panel
    from plugins.status_system.portal_pages import badge, home_widget

    return [
        {
            "slot": "backoffice.client_panel",
            "template": "status_system/client_panel.html",
            "permission": "status_system.read",
            "context": client_panel,
        },
        {"slot": "portal.header_badge", "template": "status_system/portal_badge.html", "context": badge},
        {"slot": "portal.home", "template": "status_system/portal_home.html", "context": home_widget},
    ]


@hookimpl
def crm_demo_data(ctx):
    from plugins.status_system.demo import seed_demo

    seed_demo(ctx)
