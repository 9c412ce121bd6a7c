"""Test kit for core and for plugin authors: a migrated database, tenants, users with roles,
clients, and HTTP sessions signed in as any of them.

Enabled automatically by pytest (entry point ``pytest11``); use the ``crm`` fixture::

    def test_my_route(crm):
        acme = crm.tenant("acme")
        manager = acme.user(permissions=["clients.read"], scope="team")
        assert manager.get("/api/v1/clients").status_code == 200
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from sqlalchemy import inspect, text

from core.access.auth import Audience
from core.access.models import DataScope, Role, RolePermission, Team, User, UserRole
from core.access.principal import Principal
from core.context import Ctx, bind
from core.crm.models import Client
from core.db.session import Database
from core.runtime import Runtime

if TYPE_CHECKING:  # the test client and its responses need the dev extras, imported only by tests
    from fastapi.testclient import TestClient
    from httpx2 import Response

    from core.testing.pages import PageSession

PASSWORD = "Correct-Horse-42"
SIGN_UP_PASSWORD = "Sign-Up-Passw0rd"
_serial = itertools.count(1)


class ApiSession:
    """An HTTP client signed in with one token (or none)."""

    def __init__(self, http: TestClient, token: str | None = None, label: str = "anonymous") -> None:
        self.http = http
        self.token = token
        self.label = label

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        merged = dict(headers or {})
        if self.token:
            merged.setdefault("Authorization", f"Bearer {self.token}")
        return merged

    def request(self, method: str, path: str, **kwargs: Any) -> Response:
        kwargs["headers"] = self._headers(kwargs.get("headers"))
        return self.http.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)

    def __repr__(self) -> str:
        return f"<ApiSession {self.label}>"


def expect(response: Response, status: int) -> Any:
    """Assert the status (showing the body when it differs) and return the JSON body."""
    assert response.status_code == status, f"{response.status_code} != {status}: {response.text}"
    return (
        response.json() if response.content and "json" in response.headers.get("content-type", "") else None
    )


class TenantHandle:
    def __init__(self, kit: CrmKit, tenant_id: int, slug: str, admin_email: str) -> None:
        self.kit = kit
        self.id = tenant_id
        self.slug = slug
        self.admin_email = admin_email
        self.admin = kit.login(slug, admin_email)

    @contextmanager
    def ctx(self, principal: Principal | None = None) -> Iterator[Ctx]:
        """A committed unit of work for this tenant, as the system unless a principal is given."""
        with self.kit.runtime.db.transaction(tenant_id=self.id) as session:
            yield bind(session, principal, self.kit.runtime, "test")

    def team(self, name: str | None = None) -> int:
        with self.ctx() as ctx:
            team = Team(name=name or f"Team {next(_serial)}", tenant_id=self.id)
            ctx.session.add(team)
            ctx.session.flush()
            return team.id

    def role(
        self, permissions: Sequence[str], scope: DataScope | str = DataScope.ALL, name: str | None = None
    ) -> int:
        with self.ctx() as ctx:
            role = Role(name=name or f"Role {next(_serial)}", data_scope=DataScope(scope), tenant_id=self.id)
            role.grants = [RolePermission(permission=p, tenant_id=self.id) for p in permissions]
            ctx.session.add(role)
            ctx.session.flush()
            return role.id

    def user(
        self,
        permissions: Sequence[str] = (),
        scope: DataScope | str = DataScope.ALL,
        team_id: int | None = None,
        email: str | None = None,
        role_ids: Sequence[int] = (),
    ) -> ApiSession:
        """A signed-in back-office user holding a fresh role with ``permissions``."""
        from core.access.auth import set_password

        role_ids = list(role_ids) or [self.role(permissions, scope)]
        email = email or f"user{next(_serial)}@{self.slug}.example.com"
        with self.ctx() as ctx:
            user = User(email=email, name=email.split("@")[0], team_id=team_id, tenant_id=self.id)
            set_password(ctx.session, user, PASSWORD)
            ctx.session.add(user)
            ctx.session.flush()
            ctx.session.add_all(UserRole(user_id=user.id, role_id=r, tenant_id=self.id) for r in role_ids)
        session = self.kit.login(self.slug, email)
        session.user_id = user.id  # type: ignore[attr-defined]
        return session

    def client(self, **fields: Any) -> dict[str, Any]:
        """Create a client through the API as the administrator; returns its JSON."""
        n = next(_serial)
        body = {"client_type": "trader", "name": f"Client {n}", "email": f"client{n}@example.com", **fields}
        return expect(self.admin.post("/api/v1/clients", json=body), 201)

    def clients_bulk(self, count: int, **fields: Any) -> list[int]:
        """Insert many clients directly (fast), returning their ids."""
        with self.ctx() as ctx:
            rows = []
            for _ in range(count):
                n = next(_serial)
                rows.append(
                    Client(
                        client_type="trader",
                        name=f"Client {n}",
                        email=f"bulk{n}@example.com",
                        tenant_id=self.id,
                        **fields,
                    )
                )
            ctx.session.add_all(rows)
            ctx.session.flush()
            return [c.id for c in rows]

    def install(self, plugin: str, **options: Any) -> None:
        """Install a plugin for this tenant as the platform would (any install policy)."""
        from core.marketplace.service import install

        with self.ctx() as ctx:
            install(ctx, plugin, **options)

    def pages(self, email: str | None = None, password: str = PASSWORD) -> PageSession:
        """A page session of a back-office user (the administrator by default), signed in through
        the sign-in form."""
        from core.testing.pages import sign_in

        return sign_in(self.kit.app, Audience.BACK_OFFICE, email or self.admin_email, password, self.slug)

    def portal_pages(self, client_id: int, password: str = PASSWORD) -> PageSession:
        """A page session of a client, given a portal password and signed in through the form."""
        from core.access.auth import set_password
        from core.testing.pages import sign_in

        with self.ctx() as ctx:
            client = ctx.session.get(Client, client_id)
            assert client is not None
            set_password(ctx.session, client, password)
            email = client.email
        return sign_in(self.kit.app, Audience.PORTAL, email, password, self.slug)

    def portal(self, client_id: int, password: str = PASSWORD) -> ApiSession:
        """Give a client a portal password and sign them in."""
        from core.access.auth import set_password

        with self.ctx() as ctx:
            client = ctx.session.get(Client, client_id)
            assert client is not None
            set_password(ctx.session, client, password)
            email = client.email
        response = self.kit.http.post(
            "/api/v1/portal/auth/login", json={"tenant": self.slug, "email": email, "password": password}
        )
        token = expect(response, 200)["access_token"]
        return ApiSession(self.kit.http, token, f"client {email}")


class CrmKit:
    def __init__(self, runtime: Runtime, app: FastAPI, http: TestClient) -> None:
        self.runtime = runtime
        self.app = app
        self.http = http
        self.anonymous = ApiSession(http)

    @property
    def db(self) -> Database:
        return self.runtime.db

    def login(self, slug: str, email: str, password: str = PASSWORD) -> ApiSession:
        response = self.http.post(
            "/api/v1/auth/login", json={"tenant": slug, "email": email, "password": password}
        )
        return ApiSession(self.http, expect(response, 200)["access_token"], email)

    def tenant(
        self,
        slug: str | None = None,
        *,
        currencies: Sequence[str] = ("USD", "EUR"),
        timezone: str = "UTC",
        name: str | None = None,
    ) -> TenantHandle:
        from core.tenancy.schemas import TenantIn
        from core.tenancy.service import create_tenant

        slug = slug or f"broker{next(_serial)}"
        email = f"admin@{slug}.example.com"
        with self.db.transaction() as session:
            tenant, _ = create_tenant(
                session,
                self.runtime,
                TenantIn(
                    name=name or slug.title(),
                    slug=slug,
                    timezone=timezone,
                    base_currencies=list(currencies),
                    admin_email=email,
                    admin_password=PASSWORD,
                ),
            )
            tenant_id = tenant.id
        return TenantHandle(self, tenant_id, slug, email)

    def operator(self, email: str | None = None) -> ApiSession:
        from core.tenancy.schemas import OperatorIn
        from core.tenancy.service import create_operator

        email = email or f"operator{next(_serial)}@platform.example.com"
        with self.db.transaction() as session:
            create_operator(session, OperatorIn(email=email, name="Account Manager", password=PASSWORD))
        response = self.http.post("/api/v1/platform/auth/login", json={"email": email, "password": PASSWORD})
        return ApiSession(self.http, expect(response, 200)["access_token"], email)

    def operator_pages(self, email: str | None = None) -> PageSession:
        """A page session of a new account manager, signed in through the platform's form."""
        from core.tenancy.schemas import OperatorIn
        from core.tenancy.service import create_operator
        from core.testing.pages import sign_in

        email = email or f"operator{next(_serial)}@platform.example.com"
        with self.db.transaction() as session:
            create_operator(session, OperatorIn(email=email, name="Account Manager", password=PASSWORD))
        return sign_in(self.app, Audience.PLATFORM, email, PASSWORD)

    def from_address(self, host: str) -> ApiSession:
        """An anonymous client whose requests come from ``host``: sign-in throttling counts per
        source address, and every other session of the kit comes from ``testclient``."""
        from fastapi.testclient import TestClient

        return ApiSession(TestClient(self.app, client=(host, 50000)), label=f"anonymous at {host}")

    def emails_to(self, to_address: str) -> list[tuple[str, str]]:
        """The subject and text of every e-mail queued for an address (any tenant), newest first."""
        with self.db.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT subject, body_text FROM email_messages WHERE to_address = :to ORDER BY id DESC"),
                {"to": to_address},
            ).all()
        return [(row.subject, row.body_text) for row in rows]

    def last_email(self, to_address: str) -> tuple[str, str]:
        """The subject and text of the newest e-mail queued for an address (any tenant)."""
        found = self.emails_to(to_address)
        assert found, f"no e-mail to {to_address}"
        return found[0]

    def email_token(self, to_address: str) -> str:
        """The code in the link of the newest e-mail to an address (registration, password reset)."""
        _, body = self.last_email(to_address)
        found = re.search(r"[?&]token=([A-Za-z0-9_-]+)", body)
        assert found is not None, f"no link with a token in: {body}"
        return found.group(1)

    def register(
        self, slug: str, email: str, password: str = SIGN_UP_PASSWORD, **fields: Any
    ) -> dict[str, Any]:
        """Sign a client up through the portal as they would: ask (202), take the code from the
        confirmation e-mail, confirm (201). Returns the confirmation's JSON (profile and token)."""
        body = {"tenant": slug, "name": "New Trader", "email": email, "password": password, **fields}
        expect(self.http.post("/api/v1/portal/register", json=body), 202)
        token = self.email_token(email)
        return expect(self.http.post("/api/v1/portal/register/confirm", json={"token": token}), 201)

    def count(self, table: str, tenant_id: int | None = None) -> int:
        """Rows in a table (optionally one tenant's): for asserting that nothing was written."""
        where = " WHERE tenant_id = :t" if tenant_id is not None else ""
        with self.db.engine.connect() as connection:
            return int(
                connection.execute(
                    text(f"SELECT COUNT(*) FROM {table}{where}"), {"t": tenant_id}
                ).scalar_one()
            )

    def snapshot(self, tables: Sequence[str] | None = None) -> dict[str, int]:
        """Row counts of every table: compare before and after a rejected request."""
        names = tables or [t for t in inspect(self.db.engine).get_table_names() if t != "alembic_version"]
        return {name: self.count(name) for name in sorted(names)}


_RESTART_SEQUENCES = text(
    "SELECT count(setval(c.oid, 1, false)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
)


def wipe(db: Database) -> None:
    """Empty every table (schema kept): each test starts from a clean database."""
    names = [t for t in inspect(db.engine).get_table_names() if t != "alembic_version"]
    if not names:
        return
    if db.dialect == "postgresql":
        # TRUNCATE costs per table (new files for it and its indexes), and a test fills few of the
        # schema's tables: find those in one round trip and truncate only them; every sequence
        # starts again at 1, as after a TRUNCATE … RESTART IDENTITY of them all.
        probe = " UNION ALL ".join(
            f"SELECT '{name}' FROM (SELECT 1 FROM {name} LIMIT 1) AS t{i}" for i, name in enumerate(names)
        )
        with db.engine.begin() as connection:
            filled = list(connection.execute(text(probe)).scalars())
            if filled:
                connection.execute(text(f"TRUNCATE {', '.join(filled)} CASCADE"))
            connection.execute(_RESTART_SEQUENCES)
        return
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute("BEGIN")
        for name in names:
            cursor.execute(f"DELETE FROM {name}")
        cursor.execute("COMMIT")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        raw.close()
