"""Which plugins are enabled for each tenant, cached per process and kept fresh across processes.

Every request to a plugin route and every event asks "is plugin P enabled for tenant T?"; the
answer comes from this cache, not the database. An entry is dropped

* in this process, right after a transaction that changed the tenant's plugins commits;
* in other processes, when they see the tenant's ``marketplace_generation`` move: PostgreSQL
  pushes it (LISTEN/NOTIFY, sent by the committing transaction), and a light poll of the tenants'
  generations catches anything missed — the only mechanism on SQLite;
* when the earliest licence among the enabled plugins expires.

The enabled plugins' settings are kept with them (``settings_of`` reads them here): changing a
plugin's settings moves the generation too.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from core.background import BackgroundLoop
from core.db.base import utcnow
from core.db.session import CrmSession
from core.marketplace.models import PluginStatus, TenantPlugin
from core.tenancy.models import Tenant

if TYPE_CHECKING:
    from core.plugins.host import PluginHost
    from core.runtime import Runtime

log = logging.getLogger("crm.marketplace")

CHANNEL = "crm_marketplace"
CHANGED = "marketplace_changed"  # session.info key: tenants whose plugins this transaction changed


@dataclass(frozen=True)
class TenantPlugins:
    enabled: frozenset[str]
    valid_until: datetime | None  # when the earliest licence among them runs out
    settings: Mapping[str, Mapping[str, Any]]  # each enabled plugin's, as stored (read only)


class PluginStateCache:
    def __init__(self, host: PluginHost) -> None:
        self.host = host
        self._entries: dict[int, TenantPlugins] = {}
        self._generations: dict[int, int] = {}
        # Bumped by every invalidation: an answer read while one happened is not kept, or a
        # request that read just before a change committed could cache the old state for good.
        self._epochs: dict[int, int] = {}
        self._epoch = 0
        _caches.add(self)

    def enabled(self, session: Session, tenant_id: int) -> frozenset[str]:
        return self._entry(session, tenant_id).enabled

    def stored_settings(self, session: Session, tenant_id: int, plugin: str) -> Mapping[str, Any] | None:
        """An enabled plugin's settings as stored (not to be changed), or None when the plugin is not
        enabled or this transaction changed the tenant's plugins (the caller reads the row)."""
        if tenant_id in session.info.get(CHANGED, ()):
            return None
        return self._entry(session, tenant_id).settings.get(plugin)

    def _entry(self, session: Session, tenant_id: int) -> TenantPlugins:
        entry = self._entries.get(tenant_id)
        if entry is None or (entry.valid_until is not None and utcnow() >= entry.valid_until):
            entry = self._load(session, tenant_id)
        return entry

    def _epoch_of(self, tenant_id: int) -> tuple[int, int]:
        return self._epoch, self._epochs.get(tenant_id, 0)

    def _load(self, session: Session, tenant_id: int) -> TenantPlugins:
        epoch = self._epoch_of(tenant_id)
        now = utcnow()
        rows = session.execute(
            select(TenantPlugin.plugin, TenantPlugin.licence_expires_at, TenantPlugin.settings).where(
                TenantPlugin.tenant_id == tenant_id, TenantPlugin.status == PluginStatus.ENABLED
            )
        ).all()
        live = [row for row in rows if row.licence_expires_at is None or row.licence_expires_at > now]
        expiries = [row.licence_expires_at for row in live if row.licence_expires_at is not None]
        known = [row for row in live if row.plugin in self.host.plugins]
        entry = TenantPlugins(
            enabled=frozenset(row.plugin for row in known),
            valid_until=min(expiries) if expiries else None,
            settings={row.plugin: row.settings or {} for row in known},
        )
        if self._epoch_of(tenant_id) == epoch:
            self._entries[tenant_id] = entry
        return entry

    def invalidate(self, tenant_id: int | None = None) -> None:
        if tenant_id is None:
            self._epoch += 1
            self._entries.clear()
        else:
            self._epochs[tenant_id] = self._epochs.get(tenant_id, 0) + 1
            self._entries.pop(tenant_id, None)

    def refresh_from(self, generations: dict[int, int]) -> None:
        """Drop the entries of tenants whose generation moved since last seen."""
        for tenant_id, generation in generations.items():
            if self._generations.get(tenant_id) != generation:
                self._generations[tenant_id] = generation
                self.invalidate(tenant_id)


_caches: weakref.WeakSet[PluginStateCache] = weakref.WeakSet()


def installed_plugins(session: Session) -> set[str]:
    """Plugins the session's tenant has installed, enabled or disabled."""
    return set(
        session.scalars(select(TenantPlugin.plugin).where(TenantPlugin.status != PluginStatus.UNINSTALLED))
    )


def mark_changed(session: CrmSession, tenant_id: int) -> None:
    """Record that this transaction changed the tenant's plugins: bump the tenant's generation
    (and notify other processes, on PostgreSQL); caches here drop the tenant once it commits."""
    session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id)
        .values(marketplace_generation=Tenant.marketplace_generation + 1)
    )
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, str(tenant_id))))
    session.info.setdefault(CHANGED, set()).add(tenant_id)


@event.listens_for(CrmSession, "after_commit")
def _drop_after_commit(session: Session) -> None:
    for tenant_id in session.info.pop(CHANGED, ()):
        for cache in list(_caches):
            cache.invalidate(tenant_id)


@event.listens_for(CrmSession, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(CHANGED, None)


class StateWatcher:
    """Keeps this process's cache in step with changes other processes commit."""

    def __init__(self, runtime: Runtime, poll_s: float = 0.5) -> None:
        self.runtime = runtime
        # After a failure the cache is dropped (read afresh) and the watch retried within a second.
        self._loop = BackgroundLoop(
            "crm-marketplace-watch",
            poll_s,
            self._watch,
            failure="marketplace state watcher failed",
            logger=log,
            on_error=runtime.plugin_state.invalidate,
            retry_s=1.0,
            join_timeout_s=5,
        )

    def start(self) -> StateWatcher:
        self.poll()
        self._loop.start()
        return self

    def stop(self) -> None:
        self._loop.stop()

    def poll(self) -> None:
        with self.runtime.db.session(all_tenants=True) as session:
            generations = dict(session.execute(select(Tenant.id, Tenant.marketplace_generation)).all())
        self.runtime.plugin_state.refresh_from(generations)

    def _watch(self) -> None:
        """On PostgreSQL, listen for changes until stopped; elsewhere, poll once."""
        if self.runtime.db.dialect == "postgresql":
            self._listen()
        else:
            self.poll()

    def _listen(self) -> None:
        import psycopg

        url = self.runtime.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self.poll()  # anything committed before we listened
            while not self._loop.stopping:
                for notice in connection.notifies(timeout=1.0, stop_after=100):
                    self.runtime.plugin_state.invalidate(int(notice.payload))
                self.poll()  # a safety net; cheap (one row per tenant)
