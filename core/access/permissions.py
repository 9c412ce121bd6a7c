"""The permission registry: every permission the host knows, core's and modules'.

A permission is a dotted name (``clients.read``) with a label and a description shown in the
role editor. Core registers its own at start-up; marketplace modules register theirs when the
host loads them. Registering a name twice is a start-up error, never a silent override.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class Permission:
    name: str
    label: str
    description: str
    module: str = "core"
    # Core administration: managing users, roles, keys, the tenant and its marketplace.
    # Modules can never declare one, and only holders can grant one.
    admin: bool = False


class DuplicatePermission(ValueError):
    pass


class PermissionRegistry:
    def __init__(self, permissions: Iterable[Permission] = ()) -> None:
        self._by_name: dict[str, Permission] = {}
        for permission in permissions:
            self.register(permission)

    def names_of_modules(self, modules: Iterable[str]) -> set[str]:
        """Permissions of core and of the given modules (what a tenant's role editor offers)."""
        wanted = {"core", *modules}
        return {p.name for p in self._by_name.values() if p.module in wanted}

    def register(self, permission: Permission) -> None:
        if not NAME_PATTERN.match(permission.name):
            raise ValueError(f"permission name {permission.name!r} must look like 'area.action'")
        existing = self._by_name.get(permission.name)
        if existing is not None:
            raise DuplicatePermission(
                f"permission {permission.name!r} is declared by both {existing.module!r} "
                f"and {permission.module!r}"
            )
        self._by_name[permission.name] = permission

    def unregister_module(self, module: str) -> None:
        self._by_name = {n: p for n, p in self._by_name.items() if p.module != module}

    def get(self, name: str) -> Permission | None:
        return self._by_name.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Permission]:
        return iter(sorted(self._by_name.values(), key=lambda p: (p.module != "core", p.module, p.name)))

    def names(self, *, module: str | None = None) -> set[str]:
        return {p.name for p in self._by_name.values() if module is None or p.module == module}


def _p(name: str, label: str, description: str, *, admin: bool = False) -> Permission:
    return Permission(name, label, description, "core", admin)


CORE_PERMISSIONS: tuple[Permission, ...] = (
    _p("tenant.read", "Read company profile", "View the company's name, time zone and currencies."),
    _p(
        "tenant.update",
        "Update company profile",
        "Change the company's name, time zone and base currencies.",
        admin=True,
    ),
    _p("users.read", "Read users", "List back-office users and their roles."),
    _p("users.manage", "Manage users", "Create, edit, disable users and assign roles.", admin=True),
    _p("roles.read", "Read roles", "List roles, their permissions and data permissions."),
    _p(
        "roles.manage",
        "Manage roles",
        "Create, edit and delete roles; a user can grant only permissions they hold.",
        admin=True,
    ),
    _p("teams.read", "Read teams", "List teams and their members."),
    _p("teams.manage", "Manage teams", "Create, edit and delete teams.", admin=True),
    _p("api_keys.manage", "Manage Open API keys", "Create and revoke Open API keys.", admin=True),
    _p(
        "clients.read",
        "Read clients",
        "View clients within the user's data permissions, their referral tree and reports.",
    ),
    _p("clients.create", "Create clients", "Create traders and IBs."),
    _p(
        "clients.update",
        "Update clients",
        "Edit clients, assign them, suspend them, change referrer, group, rank and tier.",
    ),
    _p("client_groups.read", "Read client groups", "View client groups."),
    _p("client_groups.manage", "Manage client groups", "Create, edit and delete client groups."),
    _p("ranks.read", "Read ranks", "View ranks and their tiers."),
    _p("ranks.manage", "Manage ranks", "Create, edit and delete ranks and tiers."),
    _p("deposits.read", "Read deposits", "View deposits of clients within data permissions."),
    _p("deposits.create", "Enter manual deposits", "Record a deposit on a client's behalf."),
    _p("deposits.approve", "Approve deposits", "Approve or reject pending deposits."),
    _p("trading_accounts.read", "Read trading accounts", "View clients' trading accounts."),
    _p("trading_accounts.manage", "Manage trading accounts", "Open and archive trading accounts."),
    _p("kyc.read", "Read KYC documents", "View clients' KYC documents."),
    _p("kyc.review", "Review KYC documents", "Verify or reject KYC documents."),
    _p("promotion_links.read", "Read promotion links", "View promotion links and their sign-ups."),
    _p(
        "promotion_links.manage",
        "Manage promotion links",
        "Create, edit, enable and disable promotion links.",
    ),
    _p("prop.read", "Read prop challenges", "View prop challenges and orders."),
    _p("prop.manage", "Manage prop challenges", "Create and edit prop challenges."),
    _p("prop_orders.manage", "Manage prop orders", "Mark prop-challenge orders paid, failed or cancelled."),
    _p("notifications.read", "Read notifications", "View pop-ups and the email outbox."),
    _p("notifications.send", "Send notifications", "Send pop-ups and emails to clients."),
    _p("audit.read", "Read system logs", "View the operation log and the login log."),
    _p(
        "marketplace.read",
        "View the marketplace",
        "See available and installed modules, their settings (secrets masked) and their health.",
    ),
    _p(
        "marketplace.install",
        "Install modules",
        "Obtain self-service modules from the marketplace.",
        admin=True,
    ),
    _p(
        "marketplace.manage",
        "Manage installed modules",
        "Enable, disable, configure and uninstall modules.",
        admin=True,
    ),
    _p("jobs.read", "Read scheduled jobs", "View modules' scheduled jobs and their run history."),
)

CORE_ADMIN_PERMISSIONS = frozenset(p.name for p in CORE_PERMISSIONS if p.admin)


def core_registry() -> PermissionRegistry:
    return PermissionRegistry(CORE_PERMISSIONS)
