"""Request and response bodies of the Leads module (their bounds are the OpenAPI schema's)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from core.sdk import (
    ClientType,
    CountryCode,
    Email,
    Id,
    Input,
    LanguageCode,
    ListQuery,
    Name,
    Output,
    Patch,
    Phone,
    SearchText,
    id_list,
    name_type,
    text_type,
)
from plugins.leads.models import ActivityKind, ConversionAction, LeadStatus, PortalStatus

MAX_BULK = 1000
Source = name_type(100)
TagName = name_type(50)
Comment = text_type(5000)
COLOUR = r"^#[0-9a-fA-F]{6}$"


class LeadIn(Input):
    name: Name
    email: Email | None = None
    phone: Phone | None = None
    country: CountryCode | None = None
    language: LanguageCode = "en"
    source: Source = Field(default="", description='Where the lead came from ("website", "event", …)')
    status: LeadStatus = LeadStatus.NOT_FOLLOWED_UP
    owner_user_id: Id | None = Field(default=None, description="Defaults to the creating user")
    participant_ids: id_list(20) = Field(default_factory=list, description="Back-office users working it")
    tag_ids: id_list(20) = Field(default_factory=list)
    comment: Comment = ""


class LeadUpdate(Patch):
    clearable = frozenset({"email", "phone", "country", "owner_user_id"})

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    country: CountryCode | None = None
    language: LanguageCode | None = None
    source: Source | None = None
    status: LeadStatus | None = None
    owner_user_id: Id | None = None
    participant_ids: id_list(20) | None = None
    tag_ids: id_list(20) | None = None
    comment: Comment | None = None


class TagIn(Input):
    name: TagName
    colour: str = Field(default="#6b7280", min_length=7, max_length=7, pattern=COLOUR)


class TagOut(Output):
    id: int
    name: str
    colour: str


QuickAction = Literal["registration_email", "portal_account", "bind"]


class LeadOut(Output):
    id: int
    name: str
    email: str | None
    phone: str | None
    phone_e164: str | None = Field(description="The number as the duplicate check compares it")
    country: str | None
    language: str
    source: str
    status: LeadStatus
    owner_user_id: int | None
    participant_ids: list[int]
    tags: list[TagOut]
    comment: str
    joined_at: datetime
    updated_at: datetime
    portal_status: PortalStatus
    last_email_sent_at: datetime | None
    client_id: int | None = Field(description="The client the lead became (Registered)")
    converted_at: datetime | None
    conversion: ConversionAction | None
    quick_actions: list[QuickAction] = Field(description="What may convert it now: none once Registered")


class LeadQuery(ListQuery):
    status: LeadStatus | None = None
    owner_user_id: Id | None = None
    tag_id: Id | None = None
    source: Source | None = None
    registered: bool | None = None
    q: SearchText | None = Field(default=None, description="Part of the name, e-mail or phone")


class ActivityIn(Input):
    kind: Literal[ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING] = (
        ActivityKind.NOTE
    )
    text: text_type(5000, min_length=1)


class ActivityOut(Output):
    id: int
    lead_id: int
    kind: ActivityKind
    text: str
    actor: str
    data: dict[str, object] | None
    created_at: datetime


BulkAction = Literal["assign_owner", "round_robin", "status", "add_tags", "remove_tags", "delete"]


class BulkIn(Input):
    lead_ids: id_list(MAX_BULK, min_items=1)
    action: BulkAction
    owner_user_id: Id | None = Field(default=None, description="assign_owner: the new owner")
    team_id: Id | None = Field(default=None, description="round_robin: the team whose users take turns")
    status: LeadStatus | None = Field(default=None, description="status: the new status")
    tag_ids: id_list(20) = Field(default_factory=list, description="add_tags, remove_tags")

    @model_validator(mode="after")
    def _what_the_action_needs(self) -> BulkIn:
        needs = {"assign_owner": "owner_user_id", "round_robin": "team_id", "status": "status"}
        field = needs.get(self.action)
        if field is not None and getattr(self, field) is None:
            raise ValueError(f"{self.action} needs {field}")
        if self.action in ("add_tags", "remove_tags") and not self.tag_ids:
            raise ValueError(f"{self.action} needs tag_ids")
        return self


class BulkOut(Output):
    changed: int = Field(description="Leads changed (those you may see and that could change)")
    skipped: list[int] = Field(description="Leads left as they were: Registered (read-only) or not found")


class DuplicateOut(Output):
    kind: Literal["lead", "client"]
    id: int
    name: str
    email: str | None
    phone: str | None
    matched_on: list[Literal["email", "phone"]]
    registered: bool = Field(description="A lead: converted already; a client: always")


class DuplicateQuery(Input):
    email: Email | None = None
    phone: Phone | None = None
    country: CountryCode | None = Field(default=None, description="To read a phone without its +prefix")
    exclude_lead_id: Id | None = None


class RegistrationEmailIn(Input):
    client_type: ClientType = ClientType.TRADER


class PortalAccountIn(Input):
    """The client form, prefilled from the lead: what is left out is taken from it."""

    client_type: ClientType = ClientType.TRADER
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    country: CountryCode | None = None
    language: LanguageCode | None = None
    group_id: Id | None = None
    rank_id: Id | None = None


class BindIn(Input):
    """The existing client: by its id or its e-mail address (one of the two)."""

    client_id: Id | None = None
    email: Email | None = None


class BindPreviewOut(Output):
    client_id: int
    client_name: str
    client_email: str
    fills: dict[str, str] = Field(description="The client's empty fields the lead will fill")
    duplicates: list[DuplicateOut] = Field(
        description="Other leads and clients with the same e-mail or phone"
    )


class ConversionOut(Output):
    lead: LeadOut
    replayed: bool = Field(
        description="True when the Idempotency-Key was used before: nothing was done again"
    )


class ClientLeadOut(Output):
    """The lead a client came from, and its timeline (the client page's panel)."""

    lead: LeadOut
    activities: list[ActivityOut]


MAX_CSV = 20_000_000  # characters of CSV in one request (about 100,000 rows)
MAX_SHOWN = 500  # row problems listed in an answer (all are counted)


class ImportIn(Input):
    csv: str = Field(min_length=1, max_length=MAX_CSV, description="The CSV file's text, header row first")
    mapping: (
        dict[
            Annotated[str, Field(min_length=1, max_length=20)],
            Annotated[str, Field(min_length=1, max_length=200)],
        ]
        | None
    ) = Field(
        default=None,
        max_length=8,
        description="Our field (name, email, phone, country, language, source, status, comment) to the "
        "file's column; without it, columns named like our fields are read",
    )
    source: Source = "import"
    dry_run: bool = Field(default=False, description="Check every row; write nothing")
    only_valid: bool = Field(default=False, description="Import the valid rows of a file with errors")


class RowProblemOut(Output):
    row: int = Field(description="1 is the first row after the header")
    field: str
    message: str


class ImportOut(Output):
    rows: int
    valid: int
    imported: int
    written: bool = Field(description="False for a dry run, or a file with errors without only_valid")
    error_count: int
    duplicate_count: int
    errors: list[RowProblemOut] = Field(description=f"The first {MAX_SHOWN}")
    duplicates: list[RowProblemOut] = Field(
        description=f"Rows skipped as a lead or client already; the first {MAX_SHOWN}"
    )
