"""Storage: engine, sessions with tenant scoping, column types, migrations."""

from core.db.base import Base, IdType, TenantOwned, utcnow
from core.db.session import Database, tenant_sql
from core.db.types import Money, UTCDateTime

__all__ = ["Base", "Database", "IdType", "Money", "TenantOwned", "UTCDateTime", "tenant_sql", "utcnow"]
