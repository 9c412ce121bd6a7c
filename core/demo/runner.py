"""Seed the demo broker: every step in order, in one transaction, behind a progress bar."""

from __future__ import annotations

import random

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import select

from core.demo.context import DEMO_SEED, DemoContext, DemoStep
from core.demo.logins import SLUG, DemoLogins, logins
from core.demo.steps.activity import seed_activity
from core.demo.steps.clients import seed_clients
from core.demo.steps.deposits import seed_deposits
from core.demo.steps.groups import seed_groups
from core.demo.steps.modules import install_modules
from core.demo.steps.promotion_links import seed_promotion_links
from core.demo.steps.prop import seed_prop_challenges
from core.demo.steps.ranks import seed_ranks
from core.demo.steps.staff import seed_staff
from core.demo.steps.tenant import seed_tenant
from core.demo.steps.trading_accounts import seed_trading_accounts
from core.runtime import Runtime
from core.tenancy.models import Tenant

# In this order: each step uses rows the ones before it created, and all draw from one generator,
# so reordering them changes the demo.
STEPS: tuple[DemoStep, ...] = (
    seed_tenant,
    seed_staff,
    seed_groups,
    seed_ranks,
    seed_clients,
    seed_promotion_links,
    seed_deposits,
    seed_trading_accounts,
    seed_prop_challenges,
    install_modules,
    seed_activity,  # after the modules: they hear its events
)
RANDOM_SEED = 7


def seed_demo(runtime: Runtime, console: Console | None = None) -> DemoLogins:
    """Create the demo tenant unless it exists; return its logins either way."""
    with runtime.db.transaction(write=True) as session:
        if session.scalar(select(Tenant.id).where(Tenant.slug == SLUG)) is not None:
            return logins()
        session.info["actor_label"] = DEMO_SEED
        demo = DemoContext(session=session, runtime=runtime, rng=random.Random(RANDOM_SEED))
        with Progress(console=console or Console(), transient=True) as progress:
            task = progress.add_task("Seeding the demo broker", total=len(STEPS))
            for step in STEPS:
                step(demo)
                progress.advance(task)
    return logins()
