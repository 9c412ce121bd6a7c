"""Invitations: a module invites an address to open a client account.

The e-mail carries a single-use link that expires, bound to what the module names (its record: a
lead, say) and the client type. Opening the account through it needs no confirmation e-mail, since
the link itself proved the address; the client is signed in, and modules hear of it
(``crm_client_registered``, then ``crm_invitation_accepted`` with the module and its reference) in
the same unit of work. A link is refused, alike, when it is unknown, used or expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from core.access import throttle
from core.access.auth import IssuedToken, issue_token, normalize_email, set_password
from core.access.credentials import check_password_strength
from core.access.models import AccountToken, AccountTokenPurpose, PrincipalKind
from core.access.recovery import INVALID_LINK, link, new_account_token, open_account_token, use_account_token
from core.context import Ctx
from core.contract import Invitation
from core.crm.clients import new_client
from core.crm.models import Client, ClientType
from core.crm.schemas.clients import ClientIn
from core.db.base import utcnow
from core.db.session import begin_immediate, serialize_on
from core.errors import InvalidInput
from core.notify.service import queue_email
from core.plugins.dispatch import fire
from core.tenancy.models import Tenant

INVITATION_PAGE = "/portal/invitation"
WELCOME_PAGE = "/portal/reset-password"  # choosing the first password is a reset of none
DEFAULT_TTL = timedelta(days=7)


@dataclass(frozen=True)
class SentInvitation:
    email: str
    expires_at: datetime


@dataclass(frozen=True)
class OpenInvitation:
    """What the invitation page shows before the account is opened."""

    company: str
    email: str
    name: str
    client_type: ClientType


def invite_client(
    ctx: Ctx,
    *,
    email: str,
    name: str,
    client_type: ClientType,
    module: str,
    reference: str,
    subject: str,
    message: str,
    phone: str | None = None,
    country: str | None = None,
    language: str = "en",
    ttl: timedelta = DEFAULT_TTL,
) -> SentInvitation:
    """E-mail ``email`` (through the tenant's outbox) a link to open a client account of
    ``client_type``, bound to ``module`` and ``reference``. ``message`` opens the e-mail; the
    link and its expiry follow. The name, phone, country and language prefill the account."""
    now = utcnow()
    address = normalize_email(email)
    token = new_account_token(
        ctx,
        AccountTokenPurpose.INVITATION,
        kind=PrincipalKind.CLIENT,
        tenant_id=ctx.tenant_id,
        email=address,
        ttl=ttl,
        now=now,
        details={
            "module": module,
            "reference": reference,
            "client_type": ClientType(client_type).value,
            "name": name,
            "phone": phone,
            "country": country,
            "language": language,
        },
    )
    days = max(int(ttl.total_seconds() // 86400), 1)
    queue_email(
        ctx,
        address,
        subject,
        f"{message}\n\nOpen your account (the link works once, within {days} days):\n"
        f"{link(ctx, INVITATION_PAGE, token)}\n",
    )
    return SentInvitation(address, now + ttl)


def welcome_to_portal(ctx: Ctx, client: Client, *, ttl: timedelta = DEFAULT_TTL) -> SentInvitation:
    """E-mail a client staff opened an account for a welcome with a link to choose their portal
    password (the password-reset link, valid ``ttl``): staff never choose or see it."""
    now = utcnow()
    token = new_account_token(
        ctx,
        AccountTokenPurpose.PASSWORD_RESET,
        kind=PrincipalKind.CLIENT,
        tenant_id=ctx.tenant_id,
        email=client.email,
        subject_id=client.id,
        ttl=ttl,
        now=now,
    )
    tenant = ctx.session.get(Tenant, ctx.tenant_id)
    company = tenant.name if tenant else "us"
    days = max(int(ttl.total_seconds() // 86400), 1)
    queue_email(
        ctx,
        client.email,
        f"Welcome to {company}",
        f"Welcome, {client.name}!\n\nYour client account with {company} is open. Choose your password "
        f"to sign in to the client portal (the link works once, within {days} days):\n"
        f"{link(ctx, WELCOME_PAGE, token)}\n",
        client_id=client.id,
    )
    return SentInvitation(client.email, now + ttl)


def _pending(ctx: Ctx, token: str, address: str, now: datetime) -> tuple[AccountToken, Tenant]:
    pending = open_account_token(ctx, AccountTokenPurpose.INVITATION, token, address, now)
    tenant = ctx.session.get(Tenant, pending.tenant_id)
    if tenant is None or not tenant.active:
        raise InvalidInput("token", "this company no longer takes registrations")
    ctx.session.info["tenant_id"] = tenant.id
    return pending, tenant


def open_invitation(ctx: Ctx, token: str, *, ip: str | None = None) -> OpenInvitation:
    """The invitation behind a link, for its page (nothing is used up)."""
    now = utcnow()
    throttle.check_address(ctx.session, ip or "", now)
    pending, tenant = _pending(ctx, token, ip or "", now)
    details = pending.details or {}
    return OpenInvitation(
        tenant.name, pending.email, details.get("name") or "", ClientType(details["client_type"])
    )


def accept_invitation(
    ctx: Ctx,
    token: str,
    password: str,
    *,
    name: str | None = None,
    phone: str | None = None,
    ip: str | None = None,
) -> tuple[Client, IssuedToken]:
    """Open the invited account, exactly once, and sign the client in. An address that has an
    account meanwhile is refused (sign in instead); the other invitations of the address stay."""
    session = ctx.session
    begin_immediate(session)
    now = utcnow()
    address = ip or ""
    throttle.check_address(session, address, now)
    pending, tenant = _pending(ctx, token, address, now)
    session.info["actor_label"] = "portal invitation"
    # The same key as a confirmed sign-up's: an address opens one account, however it arrives.
    serialize_on(session, f"registration:{tenant.id}:{pending.email}")
    check_password_strength(password, email=pending.email, field="password")
    if session.scalar(select(Client.id).where(Client.email == pending.email)) is not None:
        raise InvalidInput("token", "this address has an account already: sign in instead")
    use_account_token(ctx, pending, now)
    details = pending.details or {}
    client = new_client(
        ctx,
        ClientIn(
            client_type=ClientType(details["client_type"]),
            name=name or details.get("name") or pending.email,
            email=pending.email,
            phone=phone or details.get("phone"),
            country=details.get("country"),
            language=details.get("language") or "en",
        ),
    )
    set_password(session, client, password)
    session.flush()
    fire(ctx, "crm_client_registered", client=client, promotion_link=None)
    invitation: Invitation = {
        "module": str(details["module"]),
        "reference": str(details["reference"]),
        "client_type": client.client_type.value,  # type: ignore[typeddict-item]
    }
    fire(ctx, "crm_invitation_accepted", client=client, invitation=invitation)
    return client, issue_token(session, ctx.runtime.settings, PrincipalKind.CLIENT, client, tenant.id)


__all__ = ["INVALID_LINK", "accept_invitation", "invite_client", "open_invitation", "welcome_to_portal"]
