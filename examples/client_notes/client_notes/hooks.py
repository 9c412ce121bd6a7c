"""How the host talks to Client Notes (the contract: core/hookspecs.py)."""

from __future__ import annotations

from pathlib import Path

from core.sdk import hookimpl


@hookimpl
def crm_backoffice_router():
    from client_notes.routes import router

    return router


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
