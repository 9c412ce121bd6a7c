from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db.base import Base, IdType, TenantOwned, Timestamped, utcnow
from core.db.types import UTCDateTime, enum_type

SECRET = {"secret": True}  # column info: redacted in the operation log
UNAUDITED = {"audit": False}  # column info: bookkeeping that the login log already records


class DataScope(enum.StrEnum):
    """Which clients a role sees: the whole company, the user's team, or the user's own."""

    ALL = "all"
    TEAM = "team"
    OWN = "own"

    @property
    def breadth(self) -> int:
        return {DataScope.OWN: 0, DataScope.TEAM: 1, DataScope.ALL: 2}[self]


class PrincipalKind(enum.StrEnum):
    STAFF = "staff"
    API_KEY = "api_key"
    CLIENT = "client"
    OPERATOR = "operator"


class Credentials:
    """Password login with a failed-attempt counter and a temporary lockout."""

    password_hash: Mapped[str | None] = mapped_column(String(255), info=SECRET)
    failed_logins: Mapped[int] = mapped_column(default=0, info=UNAUDITED)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, info=UNAUDITED)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=UNAUDITED)


class PlatformOperator(Credentials, Timestamped, Base):
    """An account manager of the platform: works across tenants."""

    __tablename__ = "platform_operators"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)


class Team(TenantOwned, Timestamped, Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")


class User(Credentials, TenantOwned, Timestamped, Base):
    """A back-office user of one tenant."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    active: Mapped[bool] = mapped_column(default=True)

    roles: Mapped[list[Role]] = relationship(secondary="user_roles", lazy="selectin", viewonly=True)


class Role(TenantOwned, Timestamped, Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    data_scope: Mapped[DataScope] = mapped_column(enum_type(DataScope), default=DataScope.OWN)
    # The tenant's administrator role: receives every permission, including those that
    # marketplace modules bring when installed, and cannot be deleted.
    is_admin: Mapped[bool] = mapped_column(default=False)

    grants: Mapped[list[RolePermission]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def permissions(self) -> set[str]:
        return {grant.permission for grant in self.grants}


class RolePermission(TenantOwned, Base):
    __tablename__ = "role_permissions"
    __audited__ = False  # recorded through the role's own change entry

    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class UserRole(TenantOwned, Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[int] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AuthToken(Base):
    """A bearer token: only its SHA-256 digest is stored. Looked up before the tenant is known,
    so it is not tenant-owned; it names its tenant instead."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, info=SECRET)
    kind: Mapped[PrincipalKind] = mapped_column(enum_type(PrincipalKind))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int] = mapped_column(IdType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiKey(TenantOwned, Timestamped, Base):
    """An Open API key: acts with one role's permissions on behalf of the user who made it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, info=SECRET)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), index=True)
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
