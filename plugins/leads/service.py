"""Leads: create, edit, delete, list (within data permissions), tags, bulk actions and the
duplicate check. Conversion is in ``conversion``; the timeline in ``activities``.

Data permissions apply through the owner and the participants: a user limited to their own leads
sees those they own or take part in; to their team's, also those owned by a user of their team.
A Registered lead is history: read-only, and never deleted.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, bindparam, delete, func, literal, or_, select, union_all

from core.sdk import (
    Client,
    Conflict,
    Ctx,
    InvalidInput,
    NotFound,
    PageResult,
    User,
    get_user,
    normalize_email,
    normalize_phone,
    paginate,
    scope_clients,
    staff_owned_condition,
)
from plugins.leads import activities
from plugins.leads.models import ActivityKind, Lead, LeadStatus, Participant, PortalStatus, Tag, Tagging
from plugins.leads.schemas import BulkIn, DuplicateOut, LeadIn, LeadQuery, LeadUpdate, TagIn

# A probe (an e-mail address, a phone number) matching more records than this is shared (a
# switchboard, a catch-all address): it says nothing about who the lead is, and is not shown.
SHARED_PROBE = 5
CONTACT_FIELDS = ("email", "phone", "country")


# --- who sees which lead -------------------------------------------------------------------------------


def visible(ctx: Ctx, stmt: Select[Any]) -> Select[Any]:
    """``stmt`` over ``Lead`` limited to the leads the principal may see."""
    condition = staff_owned_condition(ctx.principal, Lead.owner_user_id)
    if condition is None:
        return stmt
    user_id = ctx.principal.user_id if ctx.principal is not None else None
    taking_part = Lead.id.in_(select(Participant.lead_id).where(Participant.user_id == user_id))
    return stmt.where(or_(condition, taking_part) if user_id is not None else condition)


def visible_lead(ctx: Ctx, lead_id: int) -> Lead | None:
    """The lead if the principal may see it, else None."""
    return ctx.session.scalar(visible(ctx, select(Lead).where(Lead.id == lead_id)))


def get_lead(ctx: Ctx, lead_id: int, *, field: str | None = None) -> Lead:
    """A lead the principal may see (404, or 422 on ``field``, for any other)."""
    lead = visible_lead(ctx, lead_id)
    if lead is None:
        if field is not None:
            raise InvalidInput(field, f"no lead {lead_id}")
        raise NotFound("lead not found")
    return lead


def _writable(lead: Lead) -> None:
    if lead.portal_status is PortalStatus.REGISTERED:
        raise Conflict(f"lead {lead.id} is Registered (client {lead.client_id}): it is kept as it was")


# --- create, edit, delete -----------------------------------------------------------------------------


def _keys(lead: Lead) -> None:
    lead.email_key = normalize_email(lead.email) if lead.email else None
    lead.phone_key = normalize_phone(lead.phone, lead.country)


def _check_users(ctx: Ctx, owner_user_id: int | None, participant_ids: Iterable[int]) -> None:
    if owner_user_id is not None:
        get_user(ctx, owner_user_id, field="owner_user_id")
    for user_id in participant_ids:
        get_user(ctx, user_id, field="participant_ids")


def _tags(ctx: Ctx, tag_ids: Sequence[int]) -> list[Tag]:
    found = {t.id: t for t in ctx.session.scalars(select(Tag).where(Tag.id.in_(tag_ids)))} if tag_ids else {}
    missing = [i for i in tag_ids if i not in found]
    if missing:
        raise InvalidInput("tag_ids", f"no tag {missing[0]}")
    return [found[i] for i in tag_ids]


def _set_people_and_tags(
    ctx: Ctx, lead: Lead, participant_ids: Sequence[int] | None, tag_ids: Sequence[int] | None
) -> None:
    if participant_ids is not None:
        ctx.session.execute(delete(Participant).where(Participant.lead_id == lead.id))
        ctx.session.add_all(Participant(lead_id=lead.id, user_id=u) for u in participant_ids)
    if tag_ids is not None:
        tags = _tags(ctx, tag_ids)
        ctx.session.execute(delete(Tagging).where(Tagging.lead_id == lead.id))
        ctx.session.add_all(Tagging(lead_id=lead.id, tag_id=t.id) for t in tags)
    ctx.session.flush()


def create_lead(ctx: Ctx, data: LeadIn, *, activity: ActivityKind = ActivityKind.CREATED) -> Lead:
    ctx.require("leads.update")
    owner = data.owner_user_id
    if owner is None and ctx.principal is not None:
        owner = ctx.principal.user_id
    _check_users(ctx, owner, data.participant_ids)
    _tags(ctx, data.tag_ids)
    lead = Lead(
        name=data.name,
        email=normalize_email(str(data.email)) if data.email else None,
        phone=data.phone,
        country=data.country,
        language=data.language,
        source=data.source,
        status=data.status,
        owner_user_id=owner,
        comment=data.comment,
    )
    _keys(lead)
    ctx.session.add(lead)
    ctx.session.flush()
    _set_people_and_tags(ctx, lead, data.participant_ids, data.tag_ids)
    activities.record(ctx, lead, activity, "Lead created" if activity is ActivityKind.CREATED else "Imported")
    return lead


def update_lead(ctx: Ctx, lead_id: int, data: LeadUpdate) -> Lead:
    ctx.require("leads.update")
    lead = get_lead(ctx, lead_id)
    _writable(lead)
    changes = data.changes()
    _check_users(ctx, changes.get("owner_user_id"), changes.get("participant_ids") or ())
    before_status, before_owner = lead.status, lead.owner_user_id
    for name, value in changes.items():
        if name in ("participant_ids", "tag_ids"):
            continue
        setattr(lead, name, normalize_email(str(value)) if name == "email" and value else value)
    _keys(lead)
    _set_people_and_tags(ctx, lead, changes.get("participant_ids"), changes.get("tag_ids"))
    if lead.status is not before_status:
        activities.status_changed(ctx, lead, before_status)
    if lead.owner_user_id != before_owner:
        activities.owner_changed(ctx, lead, before_owner)
    return lead


def delete_lead(ctx: Ctx, lead_id: int) -> None:
    ctx.require("leads.update")
    lead = get_lead(ctx, lead_id)
    _writable(lead)
    ctx.session.delete(lead)
    ctx.session.flush()


# --- lists --------------------------------------------------------------------------------------------


def _filtered(ctx: Ctx, query: LeadQuery) -> Select[Any]:
    stmt = visible(ctx, select(Lead))
    if query.status is not None:
        stmt = stmt.where(Lead.status == query.status)
    if query.owner_user_id is not None:
        stmt = stmt.where(Lead.owner_user_id == query.owner_user_id)
    if query.tag_id is not None:
        stmt = stmt.where(Lead.id.in_(select(Tagging.lead_id).where(Tagging.tag_id == query.tag_id)))
    if query.source is not None:
        stmt = stmt.where(Lead.source == query.source)
    if query.registered is not None:
        wanted = PortalStatus.REGISTERED if query.registered else PortalStatus.UNREGISTERED
        stmt = stmt.where(Lead.portal_status == wanted)
    if query.q:
        pattern = f"%{query.q.lower()}%"
        stmt = stmt.where(
            or_(func.lower(Lead.name).like(pattern), Lead.email_key.like(pattern), Lead.phone.like(pattern))
        )
    return stmt.order_by(Lead.id.desc())


def list_leads(ctx: Ctx, query: LeadQuery) -> PageResult[Lead]:
    ctx.require("leads.read")
    return paginate(ctx.session, _filtered(ctx, query), query.paging)


def iter_leads(ctx: Ctx, query: LeadQuery) -> Iterable[Lead]:
    """Every lead the filters select (the CSV export), a page of rows at a time."""
    ctx.require("leads.read")
    return ctx.session.scalars(_filtered(ctx, query).execution_options(yield_per=500))


@dataclass(frozen=True)
class Related:
    """Participants and tags of a set of leads, read in two queries."""

    participants: dict[int, list[int]]
    tags: dict[int, list[Tag]]


def related(ctx: Ctx, lead_ids: Sequence[int]) -> Related:
    participants: dict[int, list[int]] = {i: [] for i in lead_ids}
    tags: dict[int, list[Tag]] = {i: [] for i in lead_ids}
    if lead_ids:
        for lead_id, user_id in ctx.session.execute(
            select(Participant.lead_id, Participant.user_id)
            .where(Participant.lead_id.in_(lead_ids))
            .order_by(Participant.id)
        ):
            participants[lead_id].append(user_id)
        for lead_id, tag in ctx.session.execute(
            select(Tagging.lead_id, Tag)
            .join(Tag, Tag.id == Tagging.tag_id)
            .where(Tagging.lead_id.in_(lead_ids))
        ):
            tags[lead_id].append(tag)
    return Related(participants, tags)


# --- tags ---------------------------------------------------------------------------------------------


def list_tags(ctx: Ctx) -> list[Tag]:
    ctx.require("leads.read")
    return list(ctx.session.scalars(select(Tag).order_by(Tag.name)))


def create_tag(ctx: Ctx, data: TagIn) -> Tag:
    ctx.require("leads.update")
    if ctx.session.scalar(select(Tag.id).where(func.lower(Tag.name) == data.name.lower())) is not None:
        raise InvalidInput("name", "a tag with this name exists")
    tag = Tag(name=data.name, colour=data.colour)
    ctx.session.add(tag)
    ctx.session.flush()
    return tag


def delete_tag(ctx: Ctx, tag_id: int) -> None:
    """Delete a tag; the leads that carried it simply lose it."""
    ctx.require("leads.update")
    tag = ctx.session.get(Tag, tag_id)
    if tag is None:
        raise NotFound("tag not found")
    ctx.session.delete(tag)
    ctx.session.flush()


# --- bulk ---------------------------------------------------------------------------------------------


def _team_users(ctx: Ctx, team_id: int) -> list[int]:
    users = list(
        ctx.session.scalars(
            select(User.id).where(User.team_id == team_id, User.active.is_(True)).order_by(User.id)
        )
    )
    if not users:
        raise InvalidInput("team_id", f"team {team_id} has no active user")
    return users


def bulk(ctx: Ctx, data: BulkIn) -> tuple[int, list[int]]:
    """Apply one action to many leads; returns (changed, skipped ids): Registered leads are
    read-only and skipped. A lead the principal cannot see is a 422 on ``lead_ids``."""
    ctx.require("leads.update")
    leads = list(
        ctx.session.scalars(visible(ctx, select(Lead).where(Lead.id.in_(data.lead_ids))).order_by(Lead.id))
    )
    unknown = sorted(set(data.lead_ids) - {lead.id for lead in leads})
    if unknown:
        raise InvalidInput("lead_ids", f"no lead {unknown[0]}")
    open_leads = [lead for lead in leads if lead.portal_status is PortalStatus.UNREGISTERED]
    skipped = sorted(set(data.lead_ids) - {lead.id for lead in open_leads})
    if data.action == "assign_owner":
        assert data.owner_user_id is not None
        _check_users(ctx, data.owner_user_id, ())
        _assign(ctx, open_leads, itertools.repeat(data.owner_user_id))
    elif data.action == "round_robin":
        assert data.team_id is not None
        _assign(ctx, open_leads, itertools.cycle(_team_users(ctx, data.team_id)))
    elif data.action == "status":
        assert data.status is not None
        for lead in open_leads:
            if lead.status is not data.status:
                before, lead.status = lead.status, LeadStatus(data.status)
                activities.status_changed(ctx, lead, before)
    elif data.action in ("add_tags", "remove_tags"):
        tags = _tags(ctx, data.tag_ids)
        ids = [lead.id for lead in open_leads]
        present = set(
            ctx.session.execute(
                select(Tagging.lead_id, Tagging.tag_id).where(
                    Tagging.lead_id.in_(ids), Tagging.tag_id.in_([t.id for t in tags])
                )
            ).all()
        )
        if data.action == "add_tags":
            ctx.session.add_all(
                Tagging(lead_id=i, tag_id=t.id) for i in ids for t in tags if (i, t.id) not in present
            )
        else:
            ctx.session.execute(
                delete(Tagging).where(Tagging.lead_id.in_(ids), Tagging.tag_id.in_([t.id for t in tags]))
            )
    else:  # delete
        for lead in open_leads:
            ctx.session.delete(lead)
    ctx.session.flush()
    return len(open_leads), skipped


def _assign(ctx: Ctx, leads: Sequence[Lead], owners: Iterable[int]) -> None:
    changes: list[tuple[Lead, int | None]] = []
    for lead, owner in zip(leads, owners, strict=False):
        if lead.owner_user_id != owner:
            changes.append((lead, lead.owner_user_id))
            lead.owner_user_id = owner
    activities.owners_changed(ctx, changes)


# --- duplicates ---------------------------------------------------------------------------------------


def duplicates(
    ctx: Ctx,
    email: str | None,
    phone: str | None,
    country: str | None = None,
    *,
    exclude_lead_id: int | None = None,
) -> list[DuplicateOut]:
    """Leads and clients with the same normalized e-mail address or phone number (never a name),
    among those the principal may see, in one statement. A probe matching more than SHARED_PROBE
    records is left out: a shared address or number says nothing about who this is."""
    keys = {"email": normalize_email(email) if email else None, "phone": normalize_phone(phone, country)}
    probes = tuple(probe for probe, key in keys.items() if key is not None)
    if not probes:
        return []
    stmt = _duplicates_statement(ctx, probes, excluding=exclude_lead_id is not None)
    rows = ctx.session.execute(stmt, {**keys, "exclude_lead_id": exclude_lead_id}).all()
    per_probe: dict[str, int] = {}
    for row in rows:
        per_probe[row.probe] = per_probe.get(row.probe, 0) + 1
    found: dict[tuple[str, int], DuplicateOut] = {}
    for row in rows:
        if per_probe[row.probe] > SHARED_PROBE:
            continue
        entry = found.get((row.kind, row.id))
        if entry is None:
            entry = found[(row.kind, row.id)] = DuplicateOut(
                kind=row.kind,
                id=row.id,
                name=row.name,
                email=row.email,
                phone=row.phone,
                matched_on=[],
                registered=bool(row.registered),
            )
        entry.matched_on.append(row.probe)
    return sorted(found.values(), key=lambda d: (d.kind != "client", d.id, d.matched_on))


# The statement for each (probes, exclusion, data permission): building it costs more than running
# it (a dozen sub-selects), and the same object lets the session reuse its tenant-scoped copy.
_STATEMENTS: dict[tuple[Any, ...], Any] = {}
MAX_STATEMENTS = 1000


def _duplicates_statement(ctx: Ctx, probes: tuple[str, ...], *, excluding: bool) -> Any:
    who = ctx.principal
    scope = None if who is None else (who.kind, who.id, who.data_scope, who.user_id, who.team_id)
    key = (probes, excluding, scope)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        if len(_STATEMENTS) >= MAX_STATEMENTS:
            _STATEMENTS.clear()
        branches = [branch for probe in probes for branch in _probe(ctx, probe, excluding)]
        stmt = _STATEMENTS[key] = union_all(*branches)
    return stmt


def _probe(ctx: Ctx, probe: str, excluding: bool) -> list[Select[Any]]:
    """The leads and the clients one probe (the bound parameter of its name) matches, each at
    most SHARED_PROBE + 1 (enough to tell a shared one), as parts of one UNION."""
    key = bindparam(probe, type_=String())
    lead_column = Lead.email_key if probe == "email" else Lead.phone_key
    leads = visible(
        ctx,
        select(
            literal("lead").label("kind"),
            literal(probe).label("probe"),
            Lead.id,
            Lead.name,
            Lead.email,
            Lead.phone,
            (Lead.portal_status == PortalStatus.REGISTERED).label("registered"),
        ).where(lead_column == key),
    )
    if excluding:
        leads = leads.where(Lead.id != bindparam("exclude_lead_id", type_=Lead.id.type))
    client_column = Client.email if probe == "email" else Client.phone_e164
    clients = scope_clients(
        select(
            literal("client").label("kind"),
            literal(probe).label("probe"),
            Client.id,
            Client.name,
            Client.email,
            Client.phone,
            literal(True).label("registered"),
        ).where(client_column == key),
        ctx.principal,
    )
    # Each part limited in a sub-select of its own: SQLite refuses LIMIT on a UNION's parts.
    return [
        select(*part.order_by(Lead.id if part is leads else Client.id).limit(SHARED_PROBE + 1).subquery().c)
        for part in (leads, clients)
    ]


def lead_of_client(ctx: Ctx, client_id: int) -> Lead | None:
    """The lead a client came from (the caller has checked it may see the client)."""
    ctx.require("leads.read")
    return ctx.session.scalar(select(Lead).where(Lead.client_id == client_id))
