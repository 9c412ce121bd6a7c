"""The Leads API (/api/v1/plugins/leads/): leads, tags, activities, bulk actions, duplicates and
the three conversion actions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse

from core.sdk import CSV_RESPONSE, Ctx, Page, PathId, csv_export, get_client, staff
from plugins.leads import activities, conversion, imports, service
from plugins.leads.models import Lead, PortalStatus
from plugins.leads.schemas import (
    MAX_SHOWN,
    ActivityIn,
    ActivityOut,
    BindIn,
    BindPreviewOut,
    BulkIn,
    BulkOut,
    ClientLeadOut,
    ConversionOut,
    DuplicateOut,
    DuplicateQuery,
    ImportIn,
    ImportOut,
    LeadIn,
    LeadOut,
    LeadQuery,
    LeadUpdate,
    PortalAccountIn,
    RegistrationEmailIn,
    RowProblemOut,
    TagIn,
    TagOut,
)

READ, UPDATE, CONVERT, IMPORT = "leads.read", "leads.update", "leads.convert", "leads.import"
QUICK_ACTIONS = ["registration_email", "portal_account", "bind"]
CSV_COLUMNS = ["id", "name", "email", "phone", "country", "language", "source", "status", "owner_user_id"]
CSV_COLUMNS += ["tags", "joined_at", "portal_status", "last_email_sent_at", "client_id", "comment"]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        description="The same key again answers what the first request did, without acting again",
    ),
]

router = APIRouter()


def lead_views(ctx: Ctx, leads: Sequence[Lead]) -> list[LeadOut]:
    found = service.related(ctx, [lead.id for lead in leads])
    return [
        LeadOut(
            id=lead.id,
            name=lead.name,
            email=lead.email,
            phone=lead.phone,
            phone_e164=lead.phone_key,
            country=lead.country,
            language=lead.language,
            source=lead.source,
            status=lead.status,
            owner_user_id=lead.owner_user_id,
            participant_ids=found.participants[lead.id],
            tags=[TagOut.model_validate(tag) for tag in found.tags[lead.id]],
            comment=lead.comment,
            joined_at=lead.joined_at,
            updated_at=lead.updated_at,
            portal_status=lead.portal_status,
            last_email_sent_at=lead.last_email_sent_at,
            client_id=lead.client_id,
            converted_at=lead.converted_at,
            conversion=lead.conversion,
            quick_actions=[] if lead.portal_status is PortalStatus.REGISTERED else QUICK_ACTIONS,  # type: ignore[arg-type]
        )
        for lead in leads
    ]


def lead_view(ctx: Ctx, lead: Lead) -> LeadOut:
    return lead_views(ctx, [lead])[0]


# --- leads ---------------------------------------------------------------------------------------------


@router.get(
    "/leads", response_model=Page[LeadOut], summary="Leads, newest first, within your data permissions"
)
def list_leads(query: Annotated[LeadQuery, Query()], ctx: Ctx = staff(READ)) -> Page[LeadOut]:
    found = service.list_leads(ctx, query)
    return Page[LeadOut](
        items=lead_views(ctx, found.items), total=found.total, page=found.page, per_page=found.per_page
    )


@router.get(
    "/leads.csv",
    response_class=StreamingResponse,
    summary="The leads the filters select, as CSV",
    responses=CSV_RESPONSE,
)
def export_leads(query: Annotated[LeadQuery, Query()], ctx: Ctx = staff(READ)) -> StreamingResponse:
    return csv_export(ctx, "leads.csv", CSV_COLUMNS, lambda reader: _csv_rows(reader, query))


def _csv_rows(ctx: Ctx, query: LeadQuery) -> Iterator[dict[str, Any]]:
    batch: list[Lead] = []
    for lead in service.iter_leads(ctx, query):
        batch.append(lead)
        if len(batch) == 500:
            yield from _csv_batch(ctx, batch)
            batch = []
    yield from _csv_batch(ctx, batch)


def _csv_batch(ctx: Ctx, leads: list[Lead]) -> Iterator[dict[str, Any]]:
    for view in lead_views(ctx, leads):
        row = view.model_dump(include=set(CSV_COLUMNS))
        row["tags"] = "; ".join(t.name for t in view.tags)
        yield row


@router.post("/leads", response_model=LeadOut, status_code=201, summary="Create a lead")
def create_lead(body: LeadIn, ctx: Ctx = staff(UPDATE)) -> LeadOut:
    return lead_view(ctx, service.create_lead(ctx, body))


@router.get("/leads/{lead_id}", response_model=LeadOut, summary="A lead")
def get_lead(lead_id: PathId, ctx: Ctx = staff(READ)) -> LeadOut:
    return lead_view(ctx, service.get_lead(ctx, lead_id))


@router.patch(
    "/leads/{lead_id}",
    response_model=LeadOut,
    summary="Edit a lead",
    description="A Registered lead is kept as it was: 409.",
)
def update_lead(lead_id: PathId, body: LeadUpdate, ctx: Ctx = staff(UPDATE)) -> LeadOut:
    return lead_view(ctx, service.update_lead(ctx, lead_id, body))


@router.delete(
    "/leads/{lead_id}",
    status_code=204,
    summary="Delete a lead",
    description="A Registered lead is the history of its client: 409.",
)
def delete_lead(lead_id: PathId, ctx: Ctx = staff(UPDATE)) -> Response:
    service.delete_lead(ctx, lead_id)
    return Response(status_code=204)


@router.post("/leads/bulk", response_model=BulkOut, summary="One action on many leads")
def bulk(body: BulkIn, ctx: Ctx = staff(UPDATE)) -> BulkOut:
    changed, skipped = service.bulk(ctx, body)
    return BulkOut(changed=changed, skipped=skipped)


@router.get(
    "/duplicates",
    response_model=list[DuplicateOut],
    summary="Leads and clients with the same e-mail address or phone number",
    description="Compared normalized (the e-mail in lower case, the phone in E.164), never by name; "
    "an address or number that many records share is not shown.",
)
def find_duplicates(query: Annotated[DuplicateQuery, Query()], ctx: Ctx = staff(READ)) -> list[DuplicateOut]:
    return service.duplicates(
        ctx,
        str(query.email) if query.email else None,
        query.phone,
        query.country,
        exclude_lead_id=query.exclude_lead_id,
    )


@router.post(
    "/imports",
    response_model=ImportOut,
    summary="Import leads from CSV (or check a file: dry_run)",
    description="Every row is checked (each error names its row and field); rows whose e-mail or phone is "
    "a lead's or client's already, or an earlier row's, are skipped and reported. A file with errors "
    "writes nothing unless `only_valid`. Imports of one broker run one at a time.",
)
def import_leads(body: ImportIn, ctx: Ctx = staff(IMPORT)) -> ImportOut:
    report = imports.import_leads(
        ctx,
        body.csv,
        mapping=body.mapping,
        source=body.source,
        dry_run=body.dry_run,
        only_valid=body.only_valid,
    )
    return ImportOut(
        rows=report.rows,
        valid=report.valid,
        imported=report.imported,
        written=report.written,
        error_count=len(report.errors),
        duplicate_count=len(report.duplicates),
        errors=[RowProblemOut.model_validate(p) for p in report.errors[:MAX_SHOWN]],
        duplicates=[RowProblemOut.model_validate(p) for p in report.duplicates[:MAX_SHOWN]],
    )


# --- tags ----------------------------------------------------------------------------------------------


@router.get("/tags", response_model=list[TagOut], summary="The broker's lead tags")
def list_tags(ctx: Ctx = staff(READ)) -> list[Any]:
    return service.list_tags(ctx)


@router.post("/tags", response_model=TagOut, status_code=201, summary="Create a tag")
def create_tag(body: TagIn, ctx: Ctx = staff(UPDATE)) -> Any:
    return service.create_tag(ctx, body)


@router.delete("/tags/{tag_id}", status_code=204, summary="Delete a tag (leads lose it)")
def delete_tag(tag_id: PathId, ctx: Ctx = staff(UPDATE)) -> Response:
    service.delete_tag(ctx, tag_id)
    return Response(status_code=204)


# --- activities ------------------------------------------------------------------------------------------


@router.get("/leads/{lead_id}/activities", response_model=list[ActivityOut], summary="A lead's timeline")
def list_activities(lead_id: PathId, ctx: Ctx = staff(READ)) -> list[Any]:
    return activities.timeline(ctx, service.get_lead(ctx, lead_id))


@router.post(
    "/leads/{lead_id}/activities",
    response_model=ActivityOut,
    status_code=201,
    summary="Log a note, call, e-mail or meeting",
)
def add_activity(lead_id: PathId, body: ActivityIn, ctx: Ctx = staff(UPDATE)) -> Any:
    return activities.add(ctx, service.get_lead(ctx, lead_id), body.kind, body.text)


@router.get(
    "/clients/{client_id}/lead",
    response_model=ClientLeadOut | None,
    summary="The lead a client came from, with its timeline (null when none)",
)
def client_lead(client_id: PathId, ctx: Ctx = staff(READ)) -> ClientLeadOut | None:
    get_client(ctx, client_id)
    lead = service.lead_of_client(ctx, client_id)
    if lead is None:
        return None
    return ClientLeadOut(
        lead=lead_view(ctx, lead),
        activities=[ActivityOut.model_validate(a) for a in activities.timeline(ctx, lead)],
    )


# --- conversion --------------------------------------------------------------------------------------------

REGISTERED = {409: {"description": "The lead is Registered already (its quick actions are gone), or the "
                                   "client it would become exists"}}  # fmt: skip


@router.post(
    "/leads/{lead_id}/registration-email",
    response_model=ConversionOut,
    summary="Send the lead a registration e-mail (Trader or IB)",
    description="The e-mail's link (single use, 7 days) opens the lead's own account and converts "
    "this lead. Resending waits `resend_minutes` (429 until then).",
    responses={**REGISTERED, 429: {"description": "Sent too recently"}},
)
def send_registration_email(
    lead_id: PathId, body: RegistrationEmailIn, key: IdempotencyKey = None, ctx: Ctx = staff(CONVERT)
) -> ConversionOut:
    lead, replayed = conversion.send_registration_email(ctx, lead_id, body.client_type, key)
    return ConversionOut(lead=lead_view(ctx, lead), replayed=replayed)


@router.post(
    "/leads/{lead_id}/portal-account",
    response_model=ConversionOut,
    summary="Open a client portal account for the lead",
    description="The client form prefilled from the lead (what the body leaves out comes from it). The "
    "client is welcomed by e-mail with a link to choose their password; the lead becomes Registered.",
    responses=REGISTERED,
)
def create_portal_account(
    lead_id: PathId, body: PortalAccountIn, key: IdempotencyKey = None, ctx: Ctx = staff(CONVERT)
) -> ConversionOut:
    lead, replayed = conversion.create_portal_account(ctx, lead_id, body, key)
    return ConversionOut(lead=lead_view(ctx, lead), replayed=replayed)


@router.post(
    "/leads/{lead_id}/bind-preview",
    response_model=BindPreviewOut,
    summary="What binding the lead to a client would do: the fields it fills, the duplicates",
    responses=REGISTERED,
)
def bind_preview(lead_id: PathId, body: BindIn, ctx: Ctx = staff(CONVERT)) -> Any:
    return conversion.bind_preview(ctx, lead_id, body)


@router.post(
    "/leads/{lead_id}/bind",
    response_model=ConversionOut,
    summary="Bind the lead to an existing client (by client id or e-mail address)",
    description="Fills only the client's empty fields; the lead becomes Registered.",
    responses=REGISTERED,
)
def bind(
    lead_id: PathId, body: BindIn, key: IdempotencyKey = None, ctx: Ctx = staff(CONVERT)
) -> ConversionOut:
    lead, replayed = conversion.bind(ctx, lead_id, body, key)
    return ConversionOut(lead=lead_view(ctx, lead), replayed=replayed)
