"""Storage: engine, sessions with the tenant filter, column types, migrations.

Import from the modules (``core.db.base``, ``core.db.session`` …); plugins import from ``core.sdk``.
The names this package used to re-export still work for one minor version, with a warning.
"""

from core.deprecation import moved_names

__getattr__ = moved_names(
    __name__,
    {
        "Base": "core.db.base",
        "IdType": "core.db.base",
        "TenantOwned": "core.db.base",
        "utcnow": "core.db.base",
        "Database": "core.db.session",
        "tenant_sql": "core.db.session",
        "Money": "core.db.types",
        "UTCDateTime": "core.db.types",
    },
)
