"""Who signs in to the demo broker: its tenant, the one password every demo account shares, and
the accounts ``crm serve --demo`` prints."""

from __future__ import annotations

from dataclasses import dataclass

SLUG = "demo"
PASSWORD = "Demo-Passw0rd!"
DOMAIN = "demo.example.com"  # staff and the operator sign in as <name>@DOMAIN


@dataclass(frozen=True)
class DemoLogins:
    tenant: str
    password: str
    operator: str
    staff: dict[str, str]  # role description -> email
    client: str


def logins() -> DemoLogins:
    return DemoLogins(
        tenant=SLUG,
        password=PASSWORD,
        operator=f"operator@{DOMAIN}",
        staff={
            "Administrator (every permission)": f"admin@{DOMAIN}",
            "Team manager (team data)": f"manager@{DOMAIN}",
            "Sales agent, team A (own clients)": f"agent.a@{DOMAIN}",
            "Sales agent, team B (own clients)": f"agent.b@{DOMAIN}",
            "Compliance (all data, KYC review)": f"compliance@{DOMAIN}",
        },
        client="client1@example.com",
    )
