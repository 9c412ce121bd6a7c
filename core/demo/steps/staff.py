"""Step: two sales teams, and staff whose roles show the three data permissions (team, own, all)."""

from __future__ import annotations

from core.access.auth import set_password
from core.access.models import DataScope, Role, RolePermission, Team, User, UserRole
from core.demo.context import DemoContext
from core.demo.logins import DOMAIN, PASSWORD

TEAMS = ("Sales A", "Sales B")

# What every role working with clients reads.
CLIENT_WORK = [
    "clients.read",
    "clients.update",
    "deposits.read",
    "trading_accounts.read",
    "kyc.read",
    "prop.read",
    "notifications.read",
    "promotion_links.read",
    "client_groups.read",
    "ranks.read",
]
ROLES: dict[str, tuple[DataScope, list[str]]] = {
    "Team Manager": (
        DataScope.TEAM,
        [
            *CLIENT_WORK,
            "clients.create",
            "deposits.approve",
            "deposits.create",
            "notifications.send",
            "users.read",
            "teams.read",
        ],
    ),
    "Sales Agent": (DataScope.OWN, [*CLIENT_WORK, "clients.create", "deposits.create"]),
    "Compliance": (
        DataScope.ALL,
        ["clients.read", "kyc.read", "kyc.review", "deposits.read", "audit.read"],
    ),
}

# E-mail before the @, name, role, team (compliance belongs to none).
STAFF: list[tuple[str, str, str, str | None]] = [
    ("manager", "Morgan Manager", "Team Manager", "Sales A"),
    ("agent.a", "Ada Agent", "Sales Agent", "Sales A"),
    ("agent.b", "Bo Agent", "Sales Agent", "Sales B"),
    ("compliance", "Casey Compliance", "Compliance", None),
]


def seed_staff(demo: DemoContext) -> None:
    session, tenant_id = demo.session, demo.tenant_id
    teams = {name: Team(tenant_id=tenant_id, name=name) for name in TEAMS}
    session.add_all(teams.values())
    session.flush()
    roles = {}
    for name, (scope, permissions) in ROLES.items():
        role = Role(
            tenant_id=tenant_id, name=name, data_scope=scope, description=f"Demo role: {scope.value} data"
        )
        role.grants = [RolePermission(tenant_id=tenant_id, permission=p) for p in sorted(set(permissions))]
        session.add(role)
        roles[name] = role
    session.flush()
    staff = {}
    for login, name, role_name, team_name in STAFF:
        team_id = teams[team_name].id if team_name else None
        user = User(tenant_id=tenant_id, email=f"{login}@{DOMAIN}", name=name, team_id=team_id)
        set_password(session, user, PASSWORD)
        session.add(user)
        session.flush()
        session.add(UserRole(tenant_id=tenant_id, user_id=user.id, role_id=roles[role_name].id))
        staff[login] = user
    demo.manager = staff["manager"]
    demo.sales_agents = [staff["agent.a"], staff["agent.b"]]
