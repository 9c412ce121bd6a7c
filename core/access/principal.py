"""The authenticated caller of a request, and the checks every route relies on."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.access.models import DataScope, PrincipalKind
from core.errors import PermissionDenied


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    id: int  # user, API key, client or operator id, by kind
    tenant_id: int | None  # None only for platform operators
    label: str  # e-mail or key name, for logs
    permissions: frozenset[str] = frozenset()
    data_scope: DataScope = DataScope.OWN
    user_id: int | None = None  # the back-office user acted for (staff; an API key's creator)
    team_id: int | None = None
    token_id: int | None = None
    is_admin: bool = False  # holds the tenant's administrator role
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def is_back_office(self) -> bool:
        return self.kind in (PrincipalKind.STAFF, PrincipalKind.API_KEY)

    def has(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise PermissionDenied(f"missing permission {permission!r}")
