"""Login, logout and bearer-token resolution for the three audiences.

* back office: staff users (password login) and Open API keys;
* client portal: clients (password login);
* platform: operators (account managers).

A token is valid only for its own audience: a portal token on a back-office route is rejected
exactly like a missing one.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.access import throttle
from core.access.credentials import (
    digest,
    hash_password,
    looks_like_api_key,
    new_token,
    verify_password,
)
from core.access.models import (
    ApiKey,
    AuthToken,
    Credentials,
    DataScope,
    PlatformOperator,
    PrincipalKind,
    Role,
    RolePermission,
    User,
    UserRole,
)
from core.access.principal import Principal
from core.access.principal_cache import PrincipalCache
from core.audit.models import LoginEvent
from core.config import Settings
from core.crm.models import Client
from core.db.base import utcnow
from core.db.session import CrmSession, begin_immediate
from core.errors import TooManyAttempts, Unauthenticated
from core.tenancy.models import Tenant


class Audience(enum.StrEnum):
    BACK_OFFICE = "back_office"
    PORTAL = "portal"
    PLATFORM = "platform"


_KINDS = {
    Audience.BACK_OFFICE: {PrincipalKind.STAFF, PrincipalKind.API_KEY},
    Audience.PORTAL: {PrincipalKind.CLIENT},
    Audience.PLATFORM: {PrincipalKind.OPERATOR},
}

INVALID = "invalid email or password"


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    principal: Principal


def normalize_email(email: str) -> str:
    return email.strip().lower()


def tenant_by_slug(session: CrmSession, slug: str) -> Tenant | None:
    return session.scalar(select(Tenant).where(Tenant.slug == slug.strip().lower(), Tenant.active))


def login(
    session: CrmSession,
    settings: Settings,
    audience: Audience,
    *,
    email: str,
    password: str,
    tenant_slug: str | None = None,
    ip: str | None = None,
    on_success: Callable[[Any], None] | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """Check a password under the sign-in throttle and issue a token.

    An unknown account costs the same argon2 verification and the same throttle writes as a
    known one, and gets the same answer. A blocked attempt (``TooManyAttempts``) is refused before
    the password is looked at. The outcome is committed here, failures included: a rejected
    attempt must still count although the request ends in an error. ``on_success`` runs with the
    account inside the same transaction, before it commits.
    """
    begin_immediate(session)
    email = normalize_email(email)
    now = now or utcnow()
    attempt = throttle.Attempt(audience.value, tenant_key(audience, tenant_slug), email, ip or "")
    account, tenant_id = find_account(session, audience, email, tenant_slug)
    kind = account_kind(audience)

    def log(success: bool, reason: str = "") -> None:
        if tenant_id is not None:
            session.add(
                LoginEvent(
                    tenant_id=tenant_id,
                    kind=kind,
                    email=email,
                    success=success,
                    reason=reason,
                    ip=ip,
                    subject_id=account.id if account is not None else None,
                )
            )

    try:
        throttle.check_sign_in(session, attempt, now)
    except TooManyAttempts:
        log(False, "throttled")
        session.commit()
        raise
    password_ok = verify_password(account.password_hash if account else None, password)
    if account is None or not password_ok or not may_log_in(account):
        throttle.record_failure(session, settings.throttle, attempt, now)
        log(False, "bad_credentials" if not password_ok else "disabled")
        session.commit()
        raise Unauthenticated(INVALID)
    throttle.record_success(session, attempt, now)
    account.last_login_at = now
    log(True)
    if on_success is not None:
        on_success(account)
    issued = issue_token(session, settings, kind, account, tenant_id)
    session.commit()
    return issued


def tenant_key(audience: Audience, tenant_slug: str | None) -> str:
    """The tenant part of a throttle key: the slug as typed (known or not), none on the platform."""
    return "" if audience is Audience.PLATFORM else (tenant_slug or "").strip().lower()


def issue_token(
    session: CrmSession, settings: Settings, kind: PrincipalKind, account: Any, tenant_id: int | None
) -> IssuedToken:
    """A new bearer token for an account that has just proved who it is."""
    token, token_hash = new_token()
    expires_at = utcnow() + settings.token_ttl
    row = AuthToken(
        token_hash=token_hash, kind=kind, tenant_id=tenant_id, subject_id=account.id, expires_at=expires_at
    )
    session.add(row)
    session.flush()
    principal = _principal_for(session, kind, account, tenant_id, row.id)
    return IssuedToken(token=token, expires_at=expires_at, principal=principal)


def logout(session: CrmSession, principal: Principal) -> None:
    if principal.token_id is None:
        return  # API keys are revoked, not logged out
    token = session.get(AuthToken, principal.token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()


def revoke_tokens(
    session: CrmSession, kind: PrincipalKind, subject_id: int, *, keep: int | None = None
) -> None:
    """End every session of an account (password change, disabling, suspension), except the
    token ``keep``: the caller's own when they change their own password."""
    for token in session.scalars(
        select(AuthToken).where(
            AuthToken.kind == kind, AuthToken.subject_id == subject_id, AuthToken.revoked_at.is_(None)
        )
    ):
        if token.id != keep:
            token.revoked_at = utcnow()


def authenticate(
    session: CrmSession, audience: Audience, token: str | None, principals: PrincipalCache | None = None
) -> Principal:
    """Resolve a bearer token to its principal, or raise ``Unauthenticated``.

    With ``principals`` (the runtime's cache), a principal built for this token earlier is reused
    while its tenant's access generation has not moved (see ``core.access.principal_cache``)."""
    if not token:
        raise Unauthenticated("missing bearer token")
    is_api_key = looks_like_api_key(token)
    if is_api_key and audience is not Audience.BACK_OFFICE:
        raise Unauthenticated("invalid or expired token")
    key = digest(token)
    if principals is not None and (cached := principals.fresh(session, key)) is not None:
        if cached.kind not in _KINDS[audience]:
            raise Unauthenticated("invalid or expired token")
        session.info["tenant_id"] = cached.tenant_id  # as the lookups below leave it
        return cached
    now = utcnow()
    if is_api_key:
        found = _api_key_principal(session, key, now)
    else:
        found = _token_principal(session, audience, key, now)
    if principals is not None and found.generation is not None:
        principals.keep(key, found.principal, found.generation, found.expires_at)
    return found.principal


@dataclass(frozen=True)
class _Found:
    principal: Principal
    generation: int | None  # the tenant's access generation, read with the credential itself
    expires_at: datetime | None


def _token_principal(session: CrmSession, audience: Audience, key: str, now: datetime) -> _Found:
    # The generation comes in the same statement as the token: a change committed after it is
    # read moves the generation past the one the principal is cached under.
    found = session.execute(
        select(AuthToken, Tenant.access_generation)
        .outerjoin(Tenant, Tenant.id == AuthToken.tenant_id)
        .where(AuthToken.token_hash == key)
    ).first()
    if found is None:
        raise Unauthenticated("invalid or expired token")
    row, generation = found
    if row.revoked_at is not None or row.expires_at <= now or row.kind not in _KINDS[audience]:
        raise Unauthenticated("invalid or expired token")
    if row.kind is PrincipalKind.STAFF:
        assert row.tenant_id is not None
        principal = _staff_principal(session, row.tenant_id, row.subject_id, row.id)
        if principal is None:
            raise Unauthenticated("invalid or expired token")
        return _Found(principal, generation, row.expires_at)
    account = load_account(session, row.kind, row.tenant_id, row.subject_id)
    if account is None or not may_log_in(account):
        raise Unauthenticated("invalid or expired token")
    principal = _principal_for(session, row.kind, account, row.tenant_id, row.id)
    return _Found(principal, generation if row.tenant_id is not None else None, row.expires_at)


def account_kind(audience: Audience) -> PrincipalKind:
    return {
        Audience.BACK_OFFICE: PrincipalKind.STAFF,
        Audience.PORTAL: PrincipalKind.CLIENT,
        Audience.PLATFORM: PrincipalKind.OPERATOR,
    }[audience]


def find_account(
    session: CrmSession, audience: Audience, email: str, tenant_slug: str | None
) -> tuple[Any, int | None]:
    if audience is Audience.PLATFORM:
        return session.scalar(select(PlatformOperator).where(PlatformOperator.email == email)), None
    tenant = tenant_by_slug(session, tenant_slug or "")
    if tenant is None:
        return None, None
    session.info["tenant_id"] = tenant.id
    model = User if audience is Audience.BACK_OFFICE else Client
    return session.scalar(select(model).where(model.email == email)), tenant.id


def load_account(session: CrmSession, kind: PrincipalKind, tenant_id: int | None, subject_id: int) -> Any:
    if kind is PrincipalKind.OPERATOR:
        return session.get(PlatformOperator, subject_id)
    session.info["tenant_id"] = tenant_id
    return session.get(User if kind is PrincipalKind.STAFF else Client, subject_id)


def may_log_in(account: Credentials) -> bool:
    if isinstance(account, Client):
        return not account.suspended
    return bool(getattr(account, "active", True))


def _staff_principal(session: CrmSession, tenant_id: int, user_id: int, token_id: int) -> Principal | None:
    """A signed-in user's principal from one query over the user, their roles and the roles'
    permissions: one row per (role, permission), each carrying its role's scope and admin flag.
    This runs on every back-office request: loading the same as ORM objects (user, roles, one
    object per granted permission) took four queries and twice as long."""
    session.info["tenant_id"] = tenant_id
    rows = session.execute(
        select(
            User.email,
            User.team_id,
            User.active,
            Role.id,
            Role.data_scope,
            Role.is_admin,
            RolePermission.permission,
        )
        .select_from(User)
        .outerjoin(UserRole, UserRole.user_id == User.id)
        .outerjoin(Role, Role.id == UserRole.role_id)
        .outerjoin(RolePermission, RolePermission.role_id == Role.id)
        .where(User.id == user_id)
    ).all()
    if not rows or not rows[0].active:
        return None
    granted = [row for row in rows if row.id is not None]  # a user without roles has one empty row
    return Principal(
        kind=PrincipalKind.STAFF,
        id=user_id,
        tenant_id=tenant_id,
        label=rows[0].email,
        permissions=frozenset(row.permission for row in granted if row.permission is not None),
        data_scope=max((row.data_scope for row in granted), key=lambda s: s.breadth, default=DataScope.OWN),
        user_id=user_id,
        team_id=rows[0].team_id,
        token_id=token_id,
        is_admin=any(row.is_admin for row in granted),
    )


def _principal_for(
    session: CrmSession, kind: PrincipalKind, account: Any, tenant_id: int | None, token_id: int
) -> Principal:
    if kind is PrincipalKind.OPERATOR:
        return Principal(kind=kind, id=account.id, tenant_id=None, label=account.email, token_id=token_id)
    if kind is PrincipalKind.CLIENT:
        return Principal(
            kind=kind, id=account.id, tenant_id=tenant_id, label=account.email, token_id=token_id
        )
    assert tenant_id is not None
    principal = _staff_principal(session, tenant_id, account.id, token_id)
    assert principal is not None  # the account has just signed in
    return principal


def _api_key_principal(session: CrmSession, key: str, now: datetime) -> _Found:
    # The key names no tenant until it is found, so this one lookup spans tenants.
    session.info["all_tenants"] = True
    try:
        found = session.execute(
            select(ApiKey, Tenant.access_generation)
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .where(ApiKey.key_hash == key)
        ).first()
        if found is None:
            raise Unauthenticated("invalid or expired token")
        api_key, generation = found
        if api_key.revoked_at is not None or (api_key.expires_at is not None and api_key.expires_at <= now):
            raise Unauthenticated("invalid or expired token")
        tenant_id = api_key.tenant_id
    finally:
        session.info["all_tenants"] = False
    session.info["tenant_id"] = tenant_id
    creator = session.get(User, api_key.created_by_user_id)
    role = session.get(Role, api_key.role_id)
    if creator is None or not creator.active or role is None:
        raise Unauthenticated("invalid or expired token")
    principal = Principal(
        kind=PrincipalKind.API_KEY,
        id=api_key.id,
        tenant_id=tenant_id,
        label=f"api-key:{api_key.name}",
        permissions=frozenset(role.permissions),
        data_scope=role.data_scope,
        user_id=creator.id,
        team_id=creator.team_id,
        is_admin=role.is_admin,
    )
    return _Found(principal, generation, api_key.expires_at)


def set_password(session: CrmSession, account: Credentials, password: str) -> None:
    account.password_hash = hash_password(password)
