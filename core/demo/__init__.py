"""Demo data: a broker that looks real within seconds of ``crm serve --demo``.

The tenant ``demo`` gets staff in two sales teams whose roles show the three data permissions,
client groups, ranks with tiers, about 200 clients in a referral tree of IBs and traders, their
deposits (portal requests and manual entries, in every state), trading accounts, promotion
links, prop challenges and a few orders, then every module this installation has, each adding
its own demo records, and last a morning's work through core's services (documents verified,
deposits approved) whose events the modules hear. Seeding is deterministic and runs once.

``runner`` runs the steps (``steps/``, one Python module each) in order over one ``DemoContext``.
"""

from __future__ import annotations

from core.demo.logins import PASSWORD, DemoLogins, logins
from core.demo.runner import seed_demo

__all__ = ["PASSWORD", "DemoLogins", "logins", "seed_demo"]
