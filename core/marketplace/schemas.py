from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from core.marketplace.service import CatalogEntry, UninstallImpact
from core.schemas import AwareDatetime, Input, Output


class PermissionInfo(Output):
    name: str
    label: str
    description: str


class CatalogEntryOut(Output):
    name: str
    display_name: str | None
    version: str | None
    summary: str | None
    description: str | None
    category: str | None
    vendor: dict[str, str] | None
    price: dict[str, str] | None
    install_policy: str | None
    requires: list[dict[str, str]]
    permissions: list[PermissionInfo]
    jobs: list[dict[str, str]]
    state: str = Field(description="available, enabled, disabled, licence_expired, broken or incompatible")
    reason: str | None = Field(description="Why a module is broken, incompatible, expired or unhealthy")
    installed_version: str | None
    installed_at: datetime | None
    licence_expires_at: datetime | None
    data_kept: bool = Field(description="Uninstalled, with data a reinstall restores")
    healthy: bool
    recent_failures: int

    @classmethod
    def of(cls, entry: CatalogEntry) -> CatalogEntryOut:
        m = entry.manifest
        return cls(
            name=entry.name,
            display_name=m.display_name if m else None,
            version=str(m.version) if m else None,
            summary=m.summary if m else None,
            description=m.description if m else None,
            category=m.category if m else None,
            vendor=m.vendor if m else None,
            price=m.price if m else None,
            install_policy=m.install_policy if m else None,
            requires=[{"name": r.name, "version": str(r.specifier)} for r in m.requires] if m else [],
            permissions=[PermissionInfo(**p) for p in m.permissions] if m else [],
            jobs=list(m.jobs) if m else [],
            state=entry.state,
            reason=entry.reason,
            installed_version=entry.installed_version,
            installed_at=entry.installed_at,
            licence_expires_at=entry.licence_expires_at,
            data_kept=entry.data_kept,
            healthy=entry.healthy,
            recent_failures=entry.recent_failures,
        )


class InstallIn(Input):
    with_requirements: bool = Field(default=False, description="Also install the modules it requires")


class OperatorInstallIn(InstallIn):
    licence_expires_at: AwareDatetime | None = Field(
        default=None, description="Paid modules: defaults to one billing period from now"
    )


class LicenceIn(Input):
    expires_at: AwareDatetime


class UninstallIn(Input):
    cascade: bool = Field(default=False, description="Also uninstall the installed modules that require it")


class PurgeIn(Input):
    confirm: str = Field(
        max_length=40, description="The module's name, to confirm deleting its data for good"
    )


class ImpactOut(Output):
    plugin: str
    rows: dict[str, int]
    schedules: list[str]
    role_permissions: dict[str, list[str]]
    dependents: list[str]

    @classmethod
    def of(cls, impact: UninstallImpact) -> ImpactOut:
        return cls(**impact.__dict__)


class PurgedOut(Output):
    plugin: str
    rows_deleted: dict[str, int]


class SettingsIn(Input):
    values: dict[str, Any]


class SettingsOut(Output):
    plugin: str
    values: dict[str, Any] = Field(description="Secrets are masked")
    schema_: dict[str, Any] = Field(alias="schema", serialization_alias="schema")


class PluginStatusOut(Output):
    name: str
    version: str | None
    state: str = Field(description="loaded, broken or incompatible")
    reason: str | None
    distribution: str | None


class FailureOut(Output):
    id: int
    at: datetime
    plugin: str
    hook: str
    payload: dict[str, Any]
    error: str
    resolved: bool
    replayed_at: datetime | None
    replay_error: str


class PortalPageOut(Output):
    plugin: str
    id: str
    label: str
    path: str
