"""``crm serve --demo``: print where each kind of user signs in to the demo broker, and as whom
(``core.demo`` seeds it)."""

from __future__ import annotations

from rich.console import Console

from core.demo import DemoLogins


def print_logins(console: Console, demo: DemoLogins, url: str) -> None:
    console.print(f"\n[bold]Demo logins[/bold] — password for every account: [bold]{demo.password}[/bold]")
    company = f"(company [bold]{demo.tenant}[/bold])"
    console.print(f"  Back office:    {url}/backoffice/login?company={demo.tenant}   {company}")
    for role, email in demo.staff.items():
        console.print(f"    {email:<34} {role}")
    console.print(f"  Client portal:  {url}/portal/login?company={demo.tenant}   {demo.client}")
    console.print(f"  Account managers (platform console): {url}/platform/login   {demo.operator}")
    console.print(f"  JSON API: {url}/api/v1 with bearer tokens from its login routes (docs: {url}/docs)\n")
