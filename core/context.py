"""``Ctx``: what every service call receives: a session bound to one tenant, the caller, and the
runtime. Routes, CLI commands, jobs and plugin hooks all call services the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.access.principal import Principal
from core.db.session import CrmSession
from core.errors import PermissionDenied

if TYPE_CHECKING:
    from core.runtime import Runtime


@dataclass
class Ctx:
    session: CrmSession
    principal: Principal | None
    runtime: Runtime

    @property
    def tenant_id(self) -> int:
        tenant_id = self.session.tenant_id
        if tenant_id is None:
            raise RuntimeError("this operation needs a tenant")
        return tenant_id

    def can(self, permission: str) -> bool:
        """Whether the caller holds ``permission`` (a page decides what to offer with it; the
        services still ``require`` it)."""
        return self.principal is None or (self.principal.is_back_office and self.principal.has(permission))

    def require(self, permission: str) -> None:
        """Services re-check permissions so the CLI, jobs and plugins obey the same rules."""
        if self.principal is not None and self.principal.is_back_office:
            self.principal.require(permission)
        elif self.principal is not None:
            raise PermissionDenied(f"missing permission {permission!r}")


def bind(session: CrmSession, principal: Principal | None, runtime: Runtime, operation: str) -> Ctx:
    """Attach the caller to the session: its tenant scopes every query, and the audit log
    records who made each change and through which operation."""
    if principal is not None and principal.tenant_id is not None:
        session.info["tenant_id"] = principal.tenant_id
    session.info["principal"] = principal
    session.info["operation"] = operation
    return Ctx(session=session, principal=principal, runtime=runtime)
