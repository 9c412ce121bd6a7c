from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
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
    """Password login. Failed attempts are throttled per e-mail and source address
    (``SignInThrottle``), not counted on the account: an account can exist or not, the answer
    and the bookkeeping are the same."""

    password_hash: Mapped[str | None] = mapped_column(String(255), info=SECRET)
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


class ThrottleScope(enum.StrEnum):
    """What a sign-in throttle counts (see ``core.access.throttle``)."""

    PAIR = "pair"  # one e-mail of one audience and tenant, from one source address
    ACCOUNT = "account"  # one e-mail of one audience and tenant, from any address
    ADDRESS = "address"  # one source address, any e-mail
    MAIL = "mail"  # account e-mails (registration, reset) sent to one address


class SignInThrottle(Base):
    """Failures (or sent e-mails) counted for one key, and the block they earned.

    Keyed by a digest of the e-mail string and address as typed, whether an account exists or
    not; neither the key nor its row says which. Not tenant-owned: it is read before any tenant
    (or account) is known."""

    __tablename__ = "sign_in_throttles"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[ThrottleScope] = mapped_column(enum_type(ThrottleScope))
    # Digest of (audience, tenant, e-mail) on pair and account rows: a password reset clears them.
    account_key: Mapped[str | None] = mapped_column(String(64), index=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocks: Mapped[int] = mapped_column(default=0)  # blocks in a row: each lasts twice the last
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # for the purge
    # Pair rows: this address has signed in to this account, so a block of the account (an
    # attack from elsewhere) does not apply to it.
    signed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountTokenPurpose(enum.StrEnum):
    REGISTRATION = "registration"
    PASSWORD_RESET = "password_reset"
    INVITATION = "invitation"  # a module's invitation to open a client account (core.portal.invitations)


class AccountToken(Base):
    """A single-use, expiring secret sent by e-mail: a portal registration waiting for its
    confirmation, a password reset, or an invitation to open an account. Only the digest is
    stored. Looked up by the token alone, before any tenant is known, so it names its tenant
    instead of being tenant-owned."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    purpose: Mapped[AccountTokenPurpose] = mapped_column(enum_type(AccountTokenPurpose))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, info=SECRET)
    kind: Mapped[PrincipalKind] = mapped_column(enum_type(PrincipalKind))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int | None] = mapped_column(IdType)  # the account (password reset)
    email: Mapped[str] = mapped_column(String(254))
    # A registration's chosen password (hashed when it was asked for) and the client's details.
    password_hash: Mapped[str | None] = mapped_column(String(255), info=SECRET)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
