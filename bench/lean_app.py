"""The baseline of bench/request.py: a lean, single-file FastAPI + SQLAlchemy app doing honestly the
same work as the CRM's routes, over the same database and rows, with nothing of the CRM's host.

Each request: find the bearer token by its SHA-256 digest (valid, unrevoked, unexpired, a staff
token), load the user's permissions in one join, check the one the route needs, then read one
tenant-scoped page (a COUNT and 50 rows) and answer JSON. One thread-pool hop (a sync endpoint), one
connection from a pool of the same size as the CRM's, the same engine set-up (``make_engine``).

    CRM_DATABASE_URL=... uvicorn --factory bench.lean_app:create_app
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Query
from sqlalchemy import Connection, text

from core.db.engine import make_engine

TOKEN = text(
    "SELECT tenant_id, subject_id, revoked_at, expires_at FROM auth_tokens"
    " WHERE token_hash = :digest AND kind = 'staff'"
)
PERMISSIONS = text(
    "SELECT u.email, u.active, rp.permission FROM users u"
    " LEFT JOIN user_roles ur ON ur.user_id = u.id"
    " LEFT JOIN role_permissions rp ON rp.role_id = ur.role_id"
    " WHERE u.id = :user_id AND u.tenant_id = :tenant_id"
)
CLIENT_COLUMNS = (
    "id, client_type, name, email, phone, country, language, group_id, rank_id, tier_id, referrer_id,"
    " assigned_user_id, team_id, promotion_link_id, kyc_status, suspended, created_at, updated_at"
)
COUNT_CLIENTS = text("SELECT count(*) FROM clients WHERE tenant_id = :tenant_id")
PAGE_OF_CLIENTS = text(
    f"SELECT {CLIENT_COLUMNS} FROM clients WHERE tenant_id = :tenant_id"
    " ORDER BY id LIMIT :limit OFFSET :offset"
)


def _aware(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite hands back text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _principal(conn: Connection, authorization: str | None) -> dict[str, Any]:
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401, "missing bearer token")
    digest = hashlib.sha256(authorization[7:].encode()).hexdigest()
    token = conn.execute(TOKEN, {"digest": digest}).first()
    if token is None or token.revoked_at is not None or _aware(token.expires_at) <= datetime.now(UTC):
        raise HTTPException(401, "invalid or expired token")
    rows = conn.execute(PERMISSIONS, {"user_id": token.subject_id, "tenant_id": token.tenant_id}).all()
    if not rows or not rows[0].active:
        raise HTTPException(401, "invalid or expired token")
    return {
        "id": token.subject_id,
        "tenant_id": token.tenant_id,
        "label": rows[0].email,
        "permissions": sorted({row.permission for row in rows if row.permission is not None}),
    }


def create_app() -> FastAPI:
    engine = make_engine(
        os.environ["CRM_DATABASE_URL"],
        pool_size=int(os.environ.get("CRM_DB_POOL_SIZE", "40")),
        max_overflow=int(os.environ.get("CRM_DB_POOL_OVERFLOW", "10")),
    )
    app = FastAPI()

    @app.get("/api/v1/me")
    def me(authorization: str | None = Header(default=None)) -> dict[str, Any]:
        with engine.connect() as conn:
            return _principal(conn, authorization)

    @app.get("/api/v1/clients")
    def clients(
        authorization: str | None = Header(default=None),
        page: int = Query(1, ge=1, le=100_000),
        per_page: int = Query(50, ge=1, le=500),
    ) -> dict[str, Any]:
        with engine.connect() as conn:
            principal = _principal(conn, authorization)
            if "clients.read" not in principal["permissions"]:
                raise HTTPException(403, "missing permission 'clients.read'")
            scope = {"tenant_id": principal["tenant_id"]}
            total = conn.execute(COUNT_CLIENTS, scope).scalar_one()
            rows = conn.execute(
                PAGE_OF_CLIENTS, {**scope, "limit": per_page, "offset": (page - 1) * per_page}
            )
            items = [
                {**row._asdict(), "created_at": _aware(row.created_at), "updated_at": _aware(row.updated_at)}
                for row in rows
            ]
        return {"items": items, "total": total, "page": page, "per_page": per_page}

    return app
