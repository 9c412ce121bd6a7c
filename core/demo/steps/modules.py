"""Step: every module this installation has, installed for the demo broker as its account manager
would, each adding its own demo records (the ``crm_demo_data`` hook)."""

from __future__ import annotations

from core.context import bind
from core.demo.context import DEMO_SEED, DemoContext
from core.marketplace.service import install
from core.plugins.dispatch import call_lifecycle


def install_modules(demo: DemoContext) -> None:
    ctx = bind(demo.session, None, demo.runtime, DEMO_SEED)
    for name in sorted(demo.runtime.plugins.plugins):
        with demo.session.begin_nested():
            install(ctx, name)
            call_lifecycle(ctx, name, "crm_demo_data")
