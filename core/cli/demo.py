"""``crm serve --demo``: print the demo broker's logins (``core.demo`` seeds it)."""

from __future__ import annotations

from rich.console import Console

from core.demo import DemoLogins


def print_logins(console: Console, demo: DemoLogins, url: str) -> None:
    console.print(f"\n[bold]Demo logins[/bold] — password for every account: [bold]{demo.password}[/bold]")
    console.print(f"  Back office (tenant [bold]{demo.tenant}[/bold]): POST {url}/api/v1/auth/login")
    for role, email in demo.staff.items():
        console.print(f"    {email:<34} {role}")
    console.print(
        f"  Client portal: POST {url}/api/v1/portal/auth/login, tenant {demo.tenant}, {demo.client}"
    )
    console.print(f"  Platform (account manager): POST {url}/api/v1/platform/auth/login, {demo.operator}\n")
