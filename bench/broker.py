"""What the module benchmarks share: the bench broker, with one module installed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def bench_tenant(runtime: Any, plugin: str, currencies: Sequence[str] = ("USD",)) -> int:
    """The tenant "bench" (base ``currencies``) with ``plugin`` installed; returns its id."""
    from core.context import bind
    from core.marketplace.service import install
    from core.tenancy.schemas import TenantIn
    from core.tenancy.service import create_tenant

    with runtime.db.transaction(write=True) as session:
        tenant, _ = create_tenant(
            session,
            runtime,
            TenantIn(
                name="Bench",
                slug="bench",
                base_currencies=list(currencies),
                admin_email="admin@bench.example.com",
                admin_password="Bench-Passw0rd",
            ),
        )
        tenant_id = tenant.id
    with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
        install(bind(session, None, runtime, "bench"), plugin)
    return tenant_id
