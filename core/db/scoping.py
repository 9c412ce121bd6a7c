"""Deprecated since contract 1.3: the tenant filter is ``core.db.tenant_filter`` (what plugins need
from it, ``tenant_sql`` and ``TenantScopeError``, is in ``core.sdk``)."""

from core.db.tenant_filter import (
    ALL_TENANTS,
    PLATFORM_ROW,
    RAW_SQL_OPTION,
    TENANT_ID,
    TenantScopeError,
    add_platform_row,
    install,
)
from core.deprecation import moved_module

moved_module(__name__, "core.db.tenant_filter")

__all__ = [
    "ALL_TENANTS",
    "PLATFORM_ROW",
    "RAW_SQL_OPTION",
    "TENANT_ID",
    "TenantScopeError",
    "add_platform_row",
    "install",
]
