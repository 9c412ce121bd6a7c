"""Writes the operation log from the session itself.

After each flush, every created, changed or deleted row of an audited tenant-owned model gets
one log entry: who (the session's principal, or "system"), when, which record, and the values
before and after (only changed columns for an update), and the client the row is about (a
client itself, or a row with a ``client_id`` column), on which data permissions filter the log.
Columns marked secret are redacted; columns marked ``audit: False`` (login bookkeeping, which the
login log holds) are left out. Because it hangs off the session class, no service can forget it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, UOWTransaction

from core.access.principal import Principal
from core.audit.models import OperationLog
from core.crm.models import Client
from core.db.base import TenantOwned, utcnow
from core.db.bulk import insert_rows
from core.db.session import CrmSession

REDACTED = "***"


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _columns(obj: Any) -> list[Any]:
    return [attr for attr in inspect(obj).mapper.column_attrs if attr.columns[0].info.get("audit", True)]


def _value(attr: Any, value: Any) -> Any:
    column = attr.columns[0]
    return REDACTED if column.info.get("secret") and value is not None else _jsonable(value)


def _snapshot(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    return {attr.key: _value(attr, state.dict.get(attr.key)) for attr in _columns(obj)}


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attr in _columns(obj):
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        before[attr.key] = _value(attr, history.deleted[0] if history.deleted else None)
        after[attr.key] = _value(attr, history.added[0] if history.added else None)
    return before, after


def _entity_id(obj: Any) -> str:
    # New rows have no identity key yet in after_flush, but their primary key is populated.
    return "/".join(str(part) for part in inspect(obj).mapper.primary_key_from_instance(obj))


def _client_id(obj: Any, *, deleted: bool = False) -> int | None:
    """The client a row is about: a client itself, or the ``client_id`` of a client-owned row
    (deposits, documents, orders, module records…); None for a row about no client."""
    state = inspect(obj)
    if isinstance(obj, Client):
        return int(state.mapper.primary_key_from_instance(obj)[0])
    if "client_id" not in state.mapper.column_attrs:
        return None
    # A live row's expired attribute is loaded; a deleted row can no longer be.
    value = state.dict.get("client_id") if deleted else obj.client_id
    return None if value is None else int(value)


def _audited(obj: Any) -> bool:
    return isinstance(obj, TenantOwned) and getattr(type(obj), "__audited__", True)


def _actor(session: Session) -> tuple[str, int | None, str]:
    principal: Principal | None = session.info.get("principal")
    if principal is None:
        return "system", None, session.info.get("actor_label") or "system"
    return principal.kind.value, principal.id, principal.label


def _record(session: Session, _flush: UOWTransaction) -> None:
    if session.info.get("audit") is False:
        return
    kind, actor_id, label = _actor(session)
    operation = session.info.get("operation", "system")
    now = utcnow()
    rows: list[dict[str, Any]] = []

    def add(
        obj: Any,
        action: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        client_id: int | None,
    ) -> None:
        rows.append(
            {
                "tenant_id": obj.tenant_id,
                "at": now,
                "actor_kind": kind,
                "actor_id": actor_id,
                "actor_label": label,
                "operation": operation,
                "entity": type(obj).__tablename__,
                "entity_id": _entity_id(obj),
                "action": action,
                "before": before,
                "after": after,
                "client_id": client_id,
            }
        )

    for obj in session.new:
        if _audited(obj):
            add(obj, "create", None, _snapshot(obj), _client_id(obj))
    for obj in session.dirty:
        if _audited(obj) and session.is_modified(obj, include_collections=False):
            before, after = _changes(obj)
            if after:
                add(obj, "update", before, after, _client_id(obj))
    for obj in session.deleted:
        if _audited(obj):
            add(obj, "delete", _snapshot(obj), None, _client_id(obj, deleted=True))
    if rows:
        session.connection().execute(insert(OperationLog.__table__), rows)


class LogEntry(NamedTuple):
    """One row's entry for ``record_actions``; a plain (entity id, before, after) tuple also does."""

    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    client_id: int | None = None  # the client the entry is about, if any: data permissions use it


def record_action(
    session: Session,
    *,
    entity: str,
    entity_id: str,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    client_id: int | None = None,
) -> None:
    """Log a write the ORM does not see row by row (a bulk statement, a marketplace action).
    ``client_id``: the client it is about, if any (users who may not see that client never see
    the entry; an entry about no client is shown only to users who see all company data)."""
    record_actions(
        session, entity=entity, action=action, entries=[LogEntry(entity_id, before, after, client_id)]
    )


def record_actions(
    session: Session,
    *,
    entity: str,
    action: str,
    entries: Iterable[LogEntry | tuple[str, dict[str, Any] | None, dict[str, Any] | None]],
) -> None:
    """Log the same action on many rows of ``entity`` — a ``LogEntry`` (entity id, before, after,
    client id) or an (entity id, before, after) tuple each — in one statement."""
    if session.info.get("audit") is False:
        return
    kind, actor_id, label = _actor(session)
    tenant_id = session.info.get("tenant_id")
    if tenant_id is None:
        raise RuntimeError("record_action needs a tenant session")
    now, operation = utcnow(), session.info.get("operation", "system")
    rows = [
        {
            "tenant_id": tenant_id,
            "at": now,
            "actor_kind": kind,
            "actor_id": actor_id,
            "actor_label": label,
            "operation": operation,
            "entity": entity,
            "entity_id": entry.entity_id,
            "action": action,
            "before": _jsonable(entry.before),
            "after": _jsonable(entry.after),
            "client_id": entry.client_id,
        }
        for entry in (LogEntry(*entry) for entry in entries)
    ]
    insert_rows(session, OperationLog, rows)  # by COPY on PostgreSQL: a batch logs thousands


event.listen(CrmSession, "after_flush", _record)
