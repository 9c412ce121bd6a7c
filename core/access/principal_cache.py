"""Signed-in principals, cached per token, and refused the moment what they hold changes.

Rebuilding a principal on every request (the token, the user, their roles and the roles'
permissions) was a quarter of a back-office request's CPU. This cache keeps the principal per
token digest. A request that finds one still asks the database one question, its tenant's
``access_generation`` (a primary-key read), and uses the cached principal only if the generation is
the one it was built at.

Every transaction that changes what a principal holds bumps its tenant's generation in the same
transaction (``track_access_changes`` below): a token revoked (logout, password change, suspension,
password reset), an API key revoked or deleted, a user deactivated, renamed or moved to another
team, a role, its permissions or its members changed, a team deleted, a client suspended or
re-addressed. So another process, or another machine, refuses a stale principal on its very next
request: there is no window to wait out, and no message to miss.

Operators (no tenant) are not cached: platform requests are few.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, event, inspect, select, update
from sqlalchemy.orm import ORMExecuteState, Session

from core.access.models import ApiKey, AuthToken, Role, RolePermission, Team, User, UserRole
from core.access.principal import Principal
from core.crm.models import Client
from core.db import tenant_filter
from core.db.base import utcnow
from core.db.session import CrmSession
from core.tenancy.models import Tenant

# Long enough to serve a burst of requests from one page, short enough that an idle token's
# entry does not linger; correctness never depends on it (the generation does that).
KEEP_SECONDS = 60.0
MAX_ENTRIES = 10_000

# session.info key: tenants whose principals this transaction changed.
CHANGED = "access_changed"

# Any change to a row of these models can change a principal; a new token or key cannot.
_ANY_CHANGE = (Role, RolePermission, UserRole, Team)
_CHANGED_OR_DELETED = (AuthToken, ApiKey)
# Only these columns of users and clients end up in a principal (or decide whether one exists).
_COLUMNS = {User: ("active", "team_id", "email"), Client: ("suspended", "email")}
_TABLES = frozenset(model.__table__.name for model in (*_ANY_CHANGE, *_CHANGED_OR_DELETED, User, Client))


@dataclass(frozen=True)
class CachedPrincipal:
    principal: Principal
    generation: int  # the tenant's access_generation when the principal was built
    expires_at: datetime | None  # the token's own expiry
    kept_until: float  # time.monotonic()


class PrincipalCache:
    """Principals by token digest, for one process (``Runtime.principals``)."""

    def __init__(self, keep_seconds: float = KEEP_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.keep_seconds = keep_seconds
        self.max_entries = max_entries
        self._entries: dict[str, CachedPrincipal] = {}
        self._lock = threading.Lock()

    def fresh(self, session: Session, key: str) -> Principal | None:
        """The cached principal of this token digest, if its tenant's generation has not moved."""
        entry = self.entry(key)
        if entry is None:
            return None
        token_expired = entry.expires_at is not None and entry.expires_at <= utcnow()
        if token_expired or entry.kept_until <= time.monotonic():
            self.forget(key)
            return None
        assert entry.principal.tenant_id is not None
        if access_generation(session, entry.principal.tenant_id) != entry.generation:
            self.forget(key)
            return None
        return entry.principal

    def keep(self, key: str, principal: Principal, generation: int, expires_at: datetime | None) -> None:
        entry = CachedPrincipal(principal, generation, expires_at, time.monotonic() + self.keep_seconds)
        with self._lock:
            while len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))  # the oldest entry
            self._entries[key] = entry

    def entry(self, key: str) -> CachedPrincipal | None:
        return self._entries.get(key)

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


# Asked on every authenticated request: a Core statement on the session's connection costs a
# third of the same question through the ORM (tenants are not tenant data: no filter to add).
# The same row's name and time zone come along for free: a page shows both (``TENANT_BRIEF``).
_tenants = Tenant.__table__.c
_GENERATION = select(_tenants.access_generation, _tenants.name, _tenants.timezone).where(
    _tenants.id == bindparam("tenant_id")
)
TENANT_BRIEF = "tenant_brief"


class TenantBrief(NamedTuple):
    """What a page's layout shows of the caller's tenant, read with its access generation."""

    id: int
    name: str
    timezone: str


def access_generation(session: Session, tenant_id: int) -> int | None:
    row = session.connection().execute(_GENERATION, {"tenant_id": tenant_id}).first()
    if row is None:
        return None
    session.info[TENANT_BRIEF] = TenantBrief(tenant_id, row.name, row.timezone)
    return int(row.access_generation)


def mark_access_changed(session: Session, tenant_id: int | None) -> None:
    """Record that this transaction changed principals of ``tenant_id``; bumped before it commits."""
    if tenant_id is not None:
        session.info.setdefault(CHANGED, set()).add(tenant_id)


def _changes_a_principal(obj: Any, deleted: bool) -> bool:
    if isinstance(obj, _ANY_CHANGE):
        return True
    if isinstance(obj, _CHANGED_OR_DELETED):
        return True  # new ones are filtered out by the caller
    columns = _COLUMNS.get(type(obj))
    if columns is None:
        return False
    if deleted:
        return True
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in columns)


def _tenant_of(session: Session, obj: Any) -> int | None:
    tenant_id = getattr(obj, "tenant_id", None)
    return tenant_id if tenant_id is not None else session.info.get(tenant_filter.TENANT_ID)


@event.listens_for(CrmSession, "before_flush")
def _note_changed_principals(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.new:
        if isinstance(obj, _ANY_CHANGE):  # a role, a grant or a membership added
            mark_access_changed(session, _tenant_of(session, obj))
    for obj in session.dirty:
        if session.is_modified(obj) and _changes_a_principal(obj, deleted=False):
            mark_access_changed(session, _tenant_of(session, obj))
    for obj in session.deleted:
        if _changes_a_principal(obj, deleted=True):
            mark_access_changed(session, _tenant_of(session, obj))


@event.listens_for(CrmSession, "do_orm_execute")
def _note_bulk_changes(state: ORMExecuteState) -> None:
    """``update()`` / ``delete()`` statements bypass the unit of work: judge them by their table."""
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is None or table.name not in _TABLES:
        return
    if table.name == Client.__table__.name and state.is_update:
        values = getattr(state.statement, "_values", None) or {}
        names = {getattr(column, "key", str(column)) for column in values}
        if not names & set(_COLUMNS[Client]):
            return  # a tier move, say: nothing a principal holds
    mark_access_changed(state.session, state.session.info.get(tenant_filter.TENANT_ID))


@event.listens_for(CrmSession, "before_commit")
def _bump_generations(session: Session) -> None:
    # Flush first: the before_flush hook above may still find changes to note.
    session.flush()
    tenants = session.info.pop(CHANGED, None)
    if tenants:
        session.execute(
            update(Tenant)
            .where(Tenant.id.in_(sorted(tenants)))
            .values(access_generation=Tenant.access_generation + 1)
        )


@event.listens_for(CrmSession, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(CHANGED, None)
