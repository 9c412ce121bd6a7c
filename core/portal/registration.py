"""Client self-registration in the portal, confirmed by e-mail, optionally through a promotion
link; and the client's own profile.

Signing up never says whether the address already has an account: the request is checked
(format, password rule, company, promotion code) and always answered the same. A new address
gets a confirmation link; an address that has an account gets "you already have one: sign in or
reset your password". The client exists, and is signed in, once the link is used.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from core.access import throttle
from core.access.auth import (
    Audience,
    IssuedToken,
    issue_token,
    normalize_email,
    revoke_tokens,
    set_password,
    tenant_by_slug,
)
from core.access.credentials import check_password_strength, hash_password, verify_password
from core.access.models import AccountToken, AccountTokenPurpose, PrincipalKind
from core.access.recovery import (
    link,
    new_account_token,
    open_account_token,
    send_account_email,
    use_account_token,
)
from core.context import Ctx
from core.crm import promotion
from core.crm.client_events import announce_changes, watched_values
from core.crm.clients import get_client, new_client
from core.crm.models import Client, ClientType, PromotionLink
from core.crm.schemas.clients import ClientIn
from core.crm.schemas.portal import PortalProfileUpdate, RegistrationIn
from core.db.base import utcnow
from core.db.session import begin_immediate, serialize_on
from core.errors import InvalidInput
from core.plugins.dispatch import fire
from core.schemas import apply_changes
from core.tenancy.models import Tenant

REGISTRATION_ACCEPTED = "Check your e-mail: we have sent you a link to confirm your registration."
CONFIRM_PAGE = "/portal/register/confirm"
SIGN_IN_PAGE = "/portal"
RESET_PAGE = "/portal/reset-password"


def signup_link(ctx: Ctx, tenant_slug: str, code: str | None) -> tuple[Tenant, PromotionLink | None] | None:
    """What a registration page opened from a promotion link's URL shows: the company, and the
    link if it is enabled (None for an unknown company). Only reads."""
    tenant = tenant_by_slug(ctx.session, tenant_slug) if tenant_slug else None
    if tenant is None:
        return None
    ctx.session.info["tenant_id"] = tenant.id
    found = promotion.enabled_link_by_code(ctx, code) if code else None
    return tenant, found


def request_registration(
    ctx: Ctx, data: RegistrationIn, *, ip: str | None = None, now: datetime | None = None
) -> None:
    """Check a sign-up and e-mail the address: a confirmation link if it is new, a reminder
    that it has an account if not. The same work (argon2 included) and answer either way."""
    session = ctx.session
    settings = ctx.runtime.settings
    begin_immediate(session)
    now = now or utcnow()
    address = ip or ""
    throttle.check_address(session, address, now)
    tenant = tenant_by_slug(session, data.tenant)
    if tenant is None:
        raise InvalidInput("tenant", "unknown company")
    session.info["tenant_id"] = tenant.id
    email = normalize_email(str(data.email))
    check_password_strength(data.password, email=email)
    link_id = None
    if data.promotion_code is not None:
        found = promotion.enabled_link_by_code(ctx, data.promotion_code)
        if found is None:
            raise InvalidInput("promotion_code", "unknown or disabled promotion code")
        link_id = found.id
    password_hash = hash_password(data.password)  # also for a known address: the same time
    throttle.record_address_attempt(session, settings.throttle, address, now)
    mail_key = throttle.mail_key(
        AccountTokenPurpose.REGISTRATION.value, Audience.PORTAL.value, tenant.slug, email
    )
    if not throttle.may_send_email(session, settings.throttle, mail_key, now):
        return
    if session.scalar(select(Client.id).where(Client.email == email)) is not None:
        send_account_email(
            ctx,
            tenant.id,
            email,
            f"Your account with {tenant.name}",
            f"Someone, hopefully you, tried to sign up to {tenant.name} with this e-mail address, "
            "but it already has an account.\n\n"
            f"Sign in: {ctx.runtime.settings.public_url}{SIGN_IN_PAGE}\n"
            f"Forgotten your password? Choose a new one: {ctx.runtime.settings.public_url}{RESET_PAGE}\n\n"
            "If it was not you, ignore this e-mail: nothing has changed.\n",
        )
        return
    token = new_account_token(
        ctx,
        AccountTokenPurpose.REGISTRATION,
        kind=PrincipalKind.CLIENT,
        tenant_id=tenant.id,
        email=email,
        ttl=settings.registration_link_ttl,
        now=now,
        password_hash=password_hash,
        details={
            "name": data.name,
            "phone": data.phone,
            "country": None if data.country is None else str(data.country),
            "language": str(data.language),
            "promotion_link_id": link_id,
        },
    )
    hours = int(settings.registration_link_ttl.total_seconds() // 3600)
    send_account_email(
        ctx,
        tenant.id,
        email,
        f"Confirm your registration with {tenant.name}",
        f"Welcome, {data.name}!\n\n"
        f"To confirm your e-mail address and open your {tenant.name} account, open this link within "
        f"{hours} hours:\n{link(ctx, CONFIRM_PAGE, token)}\n\n"
        f"The code in the link, if you are asked for it: {token}\n\n"
        "If you did not sign up, ignore this e-mail: no account is opened.\n",
    )


def confirm_registration(
    ctx: Ctx, token: str, *, ip: str | None = None, now: datetime | None = None
) -> tuple[Client, IssuedToken]:
    """Open the account of a confirmed sign-up, exactly once, and sign the client in.

    Through a promotion link the client gets the link's client type, the link's referrer as
    their referrer, and the link as their registration source. A new client is looked after by
    their referrer's back-office user and team, so an IB's account manager sees the downline."""
    session = ctx.session
    begin_immediate(session)
    now = now or utcnow()
    address = ip or ""
    throttle.check_address(session, address, now)
    pending = open_account_token(ctx, AccountTokenPurpose.REGISTRATION, token, address, now)
    tenant = session.get(Tenant, pending.tenant_id)
    if tenant is None or not tenant.active:
        raise InvalidInput("token", "this company no longer takes registrations")
    session.info["tenant_id"] = tenant.id
    session.info["actor_label"] = "portal registration"
    # Two pending sign-ups of one address (two e-mails) confirmed at once open one account.
    serialize_on(session, f"registration:{tenant.id}:{pending.email}")
    use_account_token(ctx, pending, now)
    details = pending.details or {}
    promotion_link = (
        session.get(PromotionLink, details["promotion_link_id"]) if details.get("promotion_link_id") else None
    )
    referrer = (
        session.get(Client, promotion_link.referrer_id)
        if promotion_link and promotion_link.referrer_id
        else None
    )
    client = new_client(
        ctx,
        ClientIn(
            client_type=promotion_link.client_type if promotion_link else ClientType.TRADER,
            name=details["name"],
            email=pending.email,
            phone=details.get("phone"),
            country=details.get("country"),
            language=details.get("language") or "en",
            referrer_id=referrer.id if referrer else None,
            assigned_user_id=referrer.assigned_user_id if referrer else None,
            team_id=referrer.team_id if referrer else None,
        ),
        promotion_link=promotion_link,
    )
    client.password_hash = pending.password_hash
    session.flush()
    session.execute(  # the address's other pending sign-ups are void now
        update(AccountToken)
        .where(
            AccountToken.purpose == AccountTokenPurpose.REGISTRATION,
            AccountToken.tenant_id == tenant.id,
            AccountToken.email == pending.email,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    fire(ctx, "crm_client_registered", client=client, promotion_link=promotion_link)
    return client, issue_token(session, ctx.runtime.settings, PrincipalKind.CLIENT, client, tenant.id)


def client_signed_in(ctx: Ctx, client: Client) -> None:
    """A client signed in to the portal: modules hear of it (to show pop-ups, for example)."""
    fire(ctx, "crm_client_logged_in", client=client)


def profile(ctx: Ctx) -> Client:
    assert ctx.principal is not None
    return get_client(ctx, ctx.principal.id)


def update_profile(ctx: Ctx, data: PortalProfileUpdate) -> Client:
    client = profile(ctx)
    before = watched_values(client)
    apply_changes(client, data.changes())
    ctx.session.flush()
    announce_changes(ctx, client, before)  # the language is announced
    return client


def change_password(ctx: Ctx, current: str, new: str) -> None:
    """Change the client's password; their other sessions end, this one stays."""
    client = profile(ctx)
    if not verify_password(client.password_hash, current):
        raise InvalidInput("current_password", "is not correct")
    check_password_strength(new, email=client.email, field="new_password")
    set_password(ctx.session, client, new)
    assert ctx.principal is not None
    revoke_tokens(ctx.session, PrincipalKind.CLIENT, client.id, keep=ctx.principal.token_id)
