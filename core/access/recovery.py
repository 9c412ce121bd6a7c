"""Self-service password reset for the three audiences, and the single-use e-mailed tokens that
password reset and portal registration share.

Asking for a reset always gets the same answer: the link goes out only when the account exists
and may sign in, and nothing in the answer, its timing or its headers says which. Using the link
sets the password, ends every session of the account and clears its sign-in throttling.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from core.access import throttle
from core.access.auth import (
    Audience,
    account_kind,
    find_account,
    load_account,
    may_log_in,
    normalize_email,
    revoke_tokens,
    set_password,
    tenant_key,
)
from core.access.credentials import check_password_strength, digest, new_token
from core.access.models import AccountToken, AccountTokenPurpose, PrincipalKind
from core.context import Ctx
from core.db.base import utcnow
from core.db.session import begin_immediate
from core.errors import InvalidInput
from core.notify.service import queue_email, queue_platform_email
from core.tenancy.models import Tenant

RESET_ACCEPTED = (
    "If an account with this e-mail may sign in, a link to choose a new password is on its way to it."
)
INVALID_LINK = "this link is invalid, used or expired"

# Where each audience's reset link points (pages of the product's front ends).
_RESET_PAGES = {
    Audience.BACK_OFFICE: "/reset-password",
    Audience.PORTAL: "/portal/reset-password",
    Audience.PLATFORM: "/platform/reset-password",
}


# --- e-mailed tokens ----------------------------------------------------------------------------


def new_account_token(
    ctx: Ctx,
    purpose: AccountTokenPurpose,
    *,
    kind: PrincipalKind,
    tenant_id: int | None,
    email: str,
    ttl: timedelta,
    now: datetime,
    subject_id: int | None = None,
    password_hash: str | None = None,
    details: dict[str, Any] | None = None,
) -> str:
    """Store a new single-use token (its digest only) and return the secret to e-mail."""
    token, token_hash = new_token()
    ctx.session.add(
        AccountToken(
            purpose=purpose,
            token_hash=token_hash,
            kind=kind,
            tenant_id=tenant_id,
            subject_id=subject_id,
            email=email,
            password_hash=password_hash,
            details=details,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    ctx.session.flush()
    return token


def open_account_token(
    ctx: Ctx, purpose: AccountTokenPurpose, token: str, address: str, now: datetime
) -> AccountToken:
    """The unused, unexpired token of this purpose, or ``InvalidInput("token")`` — the same for a
    token that never existed, was used or has expired. A bad token counts against the caller's
    address (committed before the error, like a failed sign-in)."""
    row = ctx.session.scalar(
        select(AccountToken).where(AccountToken.token_hash == digest(token), AccountToken.purpose == purpose)
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        throttle.record_address_attempt(ctx.session, ctx.runtime.settings.throttle, address, now)
        ctx.session.commit()
        raise InvalidInput("token", INVALID_LINK)
    return row


def use_account_token(ctx: Ctx, row: AccountToken, now: datetime) -> None:
    """Mark the token used, exactly once: a compare-and-set, so of two confirmations racing on
    one token (in any number of processes) one wins and the other is refused."""
    used = ctx.session.execute(
        update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:
        raise InvalidInput("token", INVALID_LINK)
    row.used_at = now


def link(ctx: Ctx, page: str, token: str) -> str:
    return f"{ctx.runtime.settings.public_url}{page}?token={token}"


def send_account_email(ctx: Ctx, tenant_id: int | None, to_address: str, subject: str, body: str) -> None:
    """Queue an account e-mail: in the tenant's outbox, or as platform mail (``tenant_id`` None:
    a platform operator's)."""
    if tenant_id is None:
        queue_platform_email(ctx, to_address, subject, body)
        return
    ctx.session.info["tenant_id"] = tenant_id
    queue_email(ctx, to_address, subject, body)


# --- password reset -----------------------------------------------------------------------------


def request_password_reset(
    ctx: Ctx,
    audience: Audience,
    *,
    email: str,
    tenant_slug: str | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> None:
    """E-mail a reset link if the account exists and may sign in; otherwise do the same
    bookkeeping and send nothing. The caller answers the same either way."""
    session = ctx.session
    settings = ctx.runtime.settings
    begin_immediate(session)
    now = now or utcnow()
    email = normalize_email(email)
    address = ip or ""
    throttle.check_address(session, address, now)
    throttle.record_address_attempt(session, settings.throttle, address, now)
    # Counted whether the account exists or not: the same writes, and no mailbox flooding.
    mail_key = throttle.mail_key(
        AccountTokenPurpose.PASSWORD_RESET.value, audience.value, tenant_key(audience, tenant_slug), email
    )
    may_send = throttle.may_send_email(session, settings.throttle, mail_key, now)
    account, tenant_id = find_account(session, audience, email, tenant_slug)
    if not may_send or account is None or account.password_hash is None or not may_log_in(account):
        return
    minutes = int(settings.password_reset_link_ttl.total_seconds() // 60)
    token = new_account_token(
        ctx,
        AccountTokenPurpose.PASSWORD_RESET,
        kind=account_kind(audience),
        tenant_id=tenant_id,
        email=email,
        subject_id=account.id,
        ttl=settings.password_reset_link_ttl,
        now=now,
    )
    where = _account_name(ctx, audience, tenant_id)
    body = (
        f"Someone, hopefully you, asked to reset the password of your {where} account {email}.\n\n"
        f"To choose a new password, open this link within {minutes} minutes:\n"
        f"{link(ctx, _RESET_PAGES[audience], token)}\n\n"
        f"The code in the link, if you are asked for it: {token}\n\n"
        "If you did not ask for this, ignore this e-mail: your password stays as it is.\n"
    )
    send_account_email(ctx, tenant_id, email, "Choose a new password", body)


def confirm_password_reset(
    ctx: Ctx,
    audience: Audience,
    *,
    token: str,
    password: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> None:
    """Set the new password (the password rule applies), end every session of the account,
    retire its other reset links and clear its sign-in throttling."""
    session = ctx.session
    begin_immediate(session)
    now = now or utcnow()
    address = ip or ""
    throttle.check_address(session, address, now)
    row = open_account_token(ctx, AccountTokenPurpose.PASSWORD_RESET, token, address, now)
    kind = account_kind(audience)
    account = (
        load_account(session, kind, row.tenant_id, row.subject_id)
        if row.kind is kind and row.subject_id is not None
        else None
    )
    if account is None or not may_log_in(account) or account.email != row.email:
        raise InvalidInput("token", INVALID_LINK)  # another audience's, or the account changed since
    check_password_strength(password, email=account.email)
    use_account_token(ctx, row, now)
    session.info["actor_label"] = "password reset by e-mail"
    set_password(session, account, password)
    revoke_tokens(session, kind, account.id)
    session.execute(
        update(AccountToken)
        .where(
            AccountToken.purpose == AccountTokenPurpose.PASSWORD_RESET,
            AccountToken.kind == kind,
            AccountToken.subject_id == account.id,
            AccountToken.tenant_id.is_(None)
            if row.tenant_id is None
            else AccountToken.tenant_id == row.tenant_id,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    slug = None if row.tenant_id is None else _tenant(ctx, row.tenant_id).slug
    throttle.clear_account(
        session, throttle.account_key(audience.value, tenant_key(audience, slug), account.email)
    )


def _tenant(ctx: Ctx, tenant_id: int) -> Tenant:
    tenant = ctx.session.get(Tenant, tenant_id)
    assert tenant is not None  # tokens and accounts go with their tenant
    return tenant


def _account_name(ctx: Ctx, audience: Audience, tenant_id: int | None) -> str:
    if tenant_id is None:
        return "platform"
    company = _tenant(ctx, tenant_id).name
    return f"{company} client portal" if audience is Audience.PORTAL else f"{company} back-office"
