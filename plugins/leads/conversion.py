"""Converting a lead into a client: the seed's three quick actions, each one unit of work.

Every action takes the lead's lock, re-reads it and checks it is still Unregistered, checks the
duplicates inside the same transaction, then acts; the lead becomes Registered with a pointer to
its client (one lead per client: a database constraint) and ``crm_lead_converted`` is announced.
Of two actions racing on one lead (any mix, any number of processes) one converts it and the
others are refused with 409; an action repeated with its ``Idempotency-Key`` answers what the
first did without acting again.

* registration e-mail: an invitation (``core.sdk.invite_client``) bound to the lead and the client
  type; the client opening their account through it converts exactly this lead;
* portal account: the client form prefilled from the lead, the client opened through core's
  services and welcomed with a link to choose their password;
* bind: to an existing client by id or e-mail, filling only the client's empty fields.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from core.sdk import (
    Client,
    ClientIn,
    ClientType,
    ClientUpdate,
    Conflict,
    Ctx,
    FieldError,
    InvalidInput,
    NotFound,
    announce,
    create_client,
    get_client,
    invite_client,
    normalize_email,
    serialize_on,
    settings_of,
    update_client,
    utcnow,
    welcome_to_portal,
)
from plugins.leads import activities
from plugins.leads.models import ActionKey, ActivityKind, ConversionAction, Lead, PortalStatus
from plugins.leads.schemas import BindIn, PortalAccountIn
from plugins.leads.service import duplicates, get_lead

PLUGIN = "leads"
CONVERTED = "crm_lead_converted"
REGISTERED_ALREADY = "the lead is Registered already: its quick actions are gone"


class TooSoon(Conflict):
    status = 429
    code = "too_soon"


def _lock(ctx: Ctx, lead_id: int) -> Lead | None:
    """The lead read again under its lock (held until the unit of work ends): every conversion of
    one lead, in any process, takes it first. None when the lead was deleted meanwhile."""
    serialize_on(ctx.session, f"leads:lead:{ctx.tenant_id}:{lead_id}")
    return ctx.session.scalar(
        select(Lead).where(Lead.id == lead_id).execution_options(populate_existing=True)
    )


def _locked(ctx: Ctx, lead_id: int) -> Lead:
    """A lead the caller may see, under its lock (404 before locking anything else)."""
    get_lead(ctx, lead_id)
    lead = _lock(ctx, lead_id)
    if lead is None:
        raise NotFound("lead not found")
    return lead


def _replayed(ctx: Ctx, lead: Lead, key: str | None, action: ConversionAction) -> bool:
    """Whether ``key`` was used before for this lead and action (then nothing is done again);
    a key used for another lead or action is refused."""
    if key is None:
        return False
    found = ctx.session.scalar(select(ActionKey).where(ActionKey.key == key))
    if found is None:
        ctx.session.add(ActionKey(key=key, lead_id=lead.id, action=action.value, created_at=utcnow()))
        return False
    if found.lead_id != lead.id or found.action != action.value:
        raise InvalidInput("Idempotency-Key", "this key was used for another action")
    return True


def _start(ctx: Ctx, lead_id: int, key: str | None, action: ConversionAction) -> tuple[Lead, bool]:
    """Every action's first steps: the permission, the lead under its lock, the key (True: used
    before, nothing to do), and the lead still Unregistered."""
    ctx.require("leads.convert")
    lead = _locked(ctx, lead_id)
    if _replayed(ctx, lead, key, action):
        return lead, True
    _unregistered(lead)
    return lead, False


def _unregistered(lead: Lead) -> None:
    if lead.portal_status is PortalStatus.REGISTERED:
        raise Conflict(REGISTERED_ALREADY)


def _no_client_with(ctx: Ctx, email: str | None, field: str) -> None:
    if email is None:
        return
    taken = ctx.session.scalar(select(Client.id).where(Client.email == normalize_email(email)))
    if taken is not None:
        raise Conflict(
            f"client {taken} has this e-mail address: bind the lead to it instead",
            fields=[FieldError(field, "already a client's")],
        )


def _convert(ctx: Ctx, lead: Lead, client: Client, action: ConversionAction) -> None:
    bound = ctx.session.scalar(select(Lead.id).where(Lead.client_id == client.id, Lead.id != lead.id))
    if bound is not None:
        raise Conflict(f"client {client.id} is lead {bound}'s already")
    now = utcnow()
    lead.client_id, lead.portal_status, lead.converted_at, lead.conversion = (
        client.id,
        PortalStatus.REGISTERED,
        now,
        action,
    )
    activities.record(
        ctx,
        lead,
        ActivityKind.CONVERTED,
        f"Registered as client {client.id} ({action.value.replace('_', ' ')})",
        {"client_id": client.id, "action": action.value},
    )
    ctx.session.flush()  # the constraint (one lead per client) speaks now, inside the action
    announce(
        ctx,
        CONVERTED,
        announcer=PLUGIN,
        client=client,
        conversion={
            "lead_id": lead.id,
            "client_id": client.id,
            "action": action.value,
            "source": lead.source,
        },
    )


# --- 1. the registration e-mail ----------------------------------------------------------------------


def send_registration_email(
    ctx: Ctx, lead_id: int, client_type: ClientType, key: str | None = None
) -> tuple[Lead, bool]:
    lead, replayed = _start(ctx, lead_id, key, ConversionAction.REGISTRATION_EMAIL)
    if replayed:
        return lead, True
    if not lead.email:
        raise InvalidInput("email", "the lead has no e-mail address: add one first")
    _no_client_with(ctx, lead.email, "email")
    wait = timedelta(minutes=int(settings_of(ctx, PLUGIN)["resend_minutes"]))
    now = utcnow()
    if lead.last_email_sent_at is not None and now < lead.last_email_sent_at + wait:
        left = int((lead.last_email_sent_at + wait - now).total_seconds() // 60) + 1
        raise TooSoon(
            f"a registration e-mail went to this lead at {lead.last_email_sent_at:%H:%M} UTC: "
            f"resend in {left} min"
        )
    kind = "an introducing broker (IB)" if client_type is ClientType.IB else "a trader"
    invite_client(
        ctx,
        email=lead.email,
        name=lead.name,
        client_type=client_type,
        module=PLUGIN,
        reference=str(lead.id),
        subject="Open your account",
        message=f"Hello {lead.name},\n\nYou are invited to open your account with us as {kind}.",
        phone=lead.phone,
        country=lead.country,
        language=lead.language,
    )
    lead.last_email_sent_at = now
    activities.record(
        ctx,
        lead,
        ActivityKind.REGISTRATION_EMAIL,
        f"Registration e-mail ({client_type.value}) sent to {lead.email}",
        {"client_type": client_type.value},
    )
    ctx.session.flush()
    return lead, False


def invitation_accepted(ctx: Ctx, client: Client, reference: str) -> None:
    """The client opened their account through a lead's registration e-mail: that lead, and only
    it, is converted (unless another action converted it meanwhile)."""
    lead = _lock(ctx, int(reference)) if reference.isdigit() else None
    if lead is None:
        return  # deleted meanwhile: the client stands on its own
    if lead.portal_status is PortalStatus.REGISTERED:
        if lead.client_id == client.id and lead.conversion is ConversionAction.AUTO_BIND:
            lead.conversion = ConversionAction.REGISTRATION_EMAIL  # bound by address a moment ago
        return
    _convert(ctx, lead, client, ConversionAction.REGISTRATION_EMAIL)


# --- 2. a client portal account --------------------------------------------------------------------


def prefill(lead: Lead, data: PortalAccountIn) -> ClientIn:
    """The client form as the lead fills it: what ``data`` leaves out comes from the lead."""
    email = data.email or lead.email
    if email is None:
        raise InvalidInput("email", "the lead has no e-mail address: give one")
    return ClientIn(
        client_type=data.client_type,
        name=data.name or lead.name,
        email=email,
        phone=data.phone or lead.phone,
        country=data.country or lead.country,
        language=data.language or lead.language,
        group_id=data.group_id,
        rank_id=data.rank_id,
        assigned_user_id=lead.owner_user_id,
    )


def create_portal_account(
    ctx: Ctx, lead_id: int, data: PortalAccountIn, key: str | None = None
) -> tuple[Lead, bool]:
    lead, replayed = _start(ctx, lead_id, key, ConversionAction.PORTAL_ACCOUNT)
    if replayed:
        return lead, True
    form = prefill(lead, data)
    _no_client_with(ctx, str(form.email), "email")
    client = create_client(ctx, form)
    welcome_to_portal(ctx, client)
    _convert(ctx, lead, client, ConversionAction.PORTAL_ACCOUNT)
    return lead, False


# --- 3. bind to an existing client -----------------------------------------------------------------


def _target(ctx: Ctx, data: BindIn) -> Client:
    if (data.client_id is None) == (data.email is None):
        raise InvalidInput("client_id", "give the client's id or its e-mail address (one of the two)")
    if data.client_id is not None:
        return get_client(ctx, data.client_id, field="client_id")
    client = ctx.session.scalar(select(Client).where(Client.email == normalize_email(str(data.email))))
    if client is None:
        raise InvalidInput("email", "no client has this e-mail address")
    return get_client(ctx, client.id, field="email")  # within the user's data permissions


def fills(ctx: Ctx, lead: Lead, client: Client) -> dict[str, str]:
    """The client's empty fields the lead will fill (a bind never overwrites), when the user may
    edit clients (the fill is an edit of the client, checked and announced by core)."""
    if ctx.principal is not None and not ctx.principal.has("clients.update"):
        return {}
    wanted = {"phone": lead.phone, "country": lead.country}
    return {name: value for name, value in wanted.items() if value and not getattr(client, name)}


def bind_preview(ctx: Ctx, lead_id: int, data: BindIn) -> dict[str, Any]:
    ctx.require("leads.convert")
    lead = get_lead(ctx, lead_id)
    _unregistered(lead)
    client = _target(ctx, data)
    found = duplicates(ctx, lead.email, lead.phone, lead.country, exclude_lead_id=lead.id)
    return {
        "client_id": client.id,
        "client_name": client.name,
        "client_email": client.email,
        "fills": fills(ctx, lead, client),
        "duplicates": [d for d in found if not (d.kind == "client" and d.id == client.id)],
    }


def bind(ctx: Ctx, lead_id: int, data: BindIn, key: str | None = None) -> tuple[Lead, bool]:
    lead, replayed = _start(ctx, lead_id, key, ConversionAction.BIND)
    if replayed:
        return lead, True
    client = _target(ctx, data)
    _fill(ctx, client, fills(ctx, lead, client))
    _convert(ctx, lead, client, ConversionAction.BIND)
    return lead, False


def _fill(ctx: Ctx, client: Client, values: dict[str, str]) -> None:
    if not values:
        return
    update_client(ctx, client.id, ClientUpdate(**values))


def auto_bind(ctx: Ctx, client: Client) -> None:
    """A client registered by other means: the one Unregistered lead with their address becomes
    theirs (when the broker turned it on). Two leads with the address: neither, staff decide."""
    if not settings_of(ctx, PLUGIN)["auto_bind"]:
        return
    candidates = list(
        ctx.session.scalars(
            select(Lead.id)
            .where(
                Lead.email_key == normalize_email(client.email),
                Lead.portal_status == PortalStatus.UNREGISTERED,
            )
            .limit(2)
        )
    )
    if len(candidates) != 1:
        return
    serialize_on(ctx.session, f"leads:lead:{ctx.tenant_id}:{candidates[0]}")
    lead = ctx.session.scalar(
        select(Lead).where(Lead.id == candidates[0]).execution_options(populate_existing=True)
    )
    if lead is None or lead.portal_status is PortalStatus.REGISTERED:
        return
    if ctx.session.scalar(select(Lead.id).where(Lead.client_id == client.id)) is not None:
        return
    _convert(ctx, lead, client, ConversionAction.AUTO_BIND)
