"""How the host talks to Client Tier Upgrade (the contract: core/hookspecs.py)."""

from __future__ import annotations

from pathlib import Path

from core.sdk import hookimpl


@hookimpl
def crm_backoffice_router():
    from plugins.tier_upgrade.routes import router

    return router


@hookimpl
def crm_migrations():
    return Path(__file__).parent / "migrations" / "versions"


@hookimpl
def crm_job_handlers():
    from plugins.tier_upgrade.settlement import run_job

    return {"tier_upgrade.settlement": run_job}


@hookimpl
def crm_installed(ctx):
    """A reinstall brings back the kept rules: their settlements are scheduled again."""
    from plugins.tier_upgrade.service import reschedule_all

    reschedule_all(ctx)


@hookimpl
def crm_currency_in_use(ctx, currency):
    from plugins.tier_upgrade.service import currency_uses

    return currency_uses(ctx, currency)


@hookimpl
def crm_templates():
    return Path(__file__).parent / "templates"


@hookimpl
def crm_backoffice_page_router():
    from plugins.tier_upgrade.pages import pages

    return pages


@hookimpl
def crm_backoffice_nav():
    return [
        {
            "id": "rules",
            "label": "Tier upgrade settings",
            "path": "/rules",
            "icon": "trophy",
            "permission": "tier_upgrade.settings.read",
        },
        {
            "id": "reports",
            "label": "Tier upgrade reports",
            "path": "/reports",
            "icon": "list",
            "permission": "tier_upgrade.report.read",
        },
    ]
