"""Client self-registration in the portal, optionally through a promotion link, and the
client's own profile."""

from __future__ import annotations

from sqlalchemy import select

from core.access.auth import IssuedToken, issue_token, normalize_email, revoke_tokens, set_password
from core.access.credentials import check_password_strength, verify_password
from core.access.models import PrincipalKind
from core.context import Ctx, bind
from core.crm import promotion
from core.crm.clients import get_client, new_client
from core.crm.models import Client, ClientType
from core.crm.schemas import ClientIn, PortalProfileUpdate, RegistrationIn
from core.db.session import CrmSession
from core.errors import InvalidInput
from core.plugins.dispatch import fire
from core.runtime import Runtime
from core.tenancy.models import Tenant


def register(session: CrmSession, runtime: Runtime, data: RegistrationIn) -> tuple[Client, IssuedToken]:
    """Create a client who signed up themself, and sign them in.

    Through a promotion link the client gets the link's client type, the link's referrer as
    their referrer, and the link as their registration source. A new client is looked after by
    their referrer's back-office user and team, so an IB's account manager sees the downline."""
    tenant = session.scalar(select(Tenant).where(Tenant.slug == data.tenant.strip().lower(), Tenant.active))
    if tenant is None:
        raise InvalidInput("tenant", "unknown company")
    session.info["actor_label"] = "portal registration"
    ctx = bind(session, None, runtime, "POST /api/v1/portal/register")
    session.info["tenant_id"] = tenant.id
    email = normalize_email(str(data.email))
    check_password_strength(data.password, email=email)
    link = None
    if data.promotion_code is not None:
        link = promotion.enabled_link_by_code(ctx, data.promotion_code)
        if link is None:
            raise InvalidInput("promotion_code", "unknown or disabled promotion code")
    referrer = ctx.session.get(Client, link.referrer_id) if link and link.referrer_id else None
    client = new_client(
        ctx,
        ClientIn(
            client_type=link.client_type if link else ClientType.TRADER,
            name=data.name,
            email=email,
            phone=data.phone,
            country=data.country,
            language=data.language,
            referrer_id=referrer.id if referrer else None,
            assigned_user_id=referrer.assigned_user_id if referrer else None,
            team_id=referrer.team_id if referrer else None,
        ),
        promotion_link=link,
    )
    set_password(session, client, data.password)
    session.flush()
    fire(ctx, "crm_client_registered", client=client, promotion_link=link)
    return client, issue_token(session, runtime.settings, PrincipalKind.CLIENT, client, tenant.id)


def client_signed_in(ctx: Ctx, client: Client) -> None:
    """A client signed in to the portal: modules hear of it (to show pop-ups, for example)."""
    fire(ctx, "crm_client_logged_in", client=client)


def profile(ctx: Ctx) -> Client:
    assert ctx.principal is not None
    return get_client(ctx, ctx.principal.id)


def update_profile(ctx: Ctx, data: PortalProfileUpdate) -> Client:
    client = profile(ctx)
    for name in ("name", "phone", "language"):
        value = getattr(data, name)
        if value is not None:
            setattr(client, name, value)
    ctx.session.flush()
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
