"""The Leads module in the back office: the leads list (filters, paging, CSV, bulk actions), the
lead form with its duplicate suggestions, the lead page (details, the Leads Conversion tab with the
three quick actions, the activities), the tags, the import wizard, and the panel on a client's
page. Mounted at /backoffice/plugins/leads/; every route declares the permission of the matching
API route and calls the same services: pages translate HTTP, the services decide."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from pydantic import Field
from starlette.datastructures import UploadFile
from starlette.responses import Response, StreamingResponse

from core.sdk import (
    Conflict,
    Ctx,
    DomainError,
    FormData,
    InvalidInput,
    PathId,
    field_errors,
    get_client,
    page,
    parse_form,
    refusal_status,
    see_other,
    staff,
    staff_choices,
)
from plugins.leads import activities, conversion, import_files, imports, routes, service
from plugins.leads.models import STAFF_KINDS, Lead
from plugins.leads.routes import CONVERT, IMPORT, READ, UPDATE, lead_views
from plugins.leads.schemas import (
    MAX_BULK,
    MAX_CSV,
    MAX_SHOWN,
    ActivityIn,
    BindIn,
    BulkIn,
    DuplicateQuery,
    LeadIn,
    LeadQuery,
    LeadUpdate,
    PortalAccountIn,
    RegistrationEmailIn,
    TagIn,
)

BASE = "/backoffice/plugins/leads"
TIMELINE = 10  # the newest activities shown in the client page's panel
TABS = ("details", "conversion", "activities")
LEAD_FIELDS = ("name", "email", "phone", "country", "language", "source", "status", "owner_user_id")
LEAD_FIELDS += ("participant_ids", "tag_ids", "comment")
NOTICES = {
    "created": "The lead was created.",
    "saved": "The lead was saved.",
    "deleted": "The lead was deleted.",
    "sent": "The registration e-mail was sent.",
    "converted": "The lead is Registered: it became a client.",
    "logged": "The activity was logged.",
    "tag_created": "The tag was created.",
    "tag_deleted": "The tag was deleted.",
}

pages = APIRouter()
Done = Annotated[str | None, Query(max_length=20, description="The notice to show after an action")]


class LeadPageQuery(LeadQuery):
    """The list's query, and the notice to show after an action (``?done=…``)."""

    done: str | None = Field(default=None, max_length=20)
    changed: int | None = Field(default=None, ge=0, le=MAX_BULK)  # after a bulk action
    skipped: int | None = Field(default=None, ge=0, le=MAX_BULK)

    def filters(self) -> dict[str, Any]:
        notices = {"page", "per_page", "done", "changed", "skipped"}
        return self.model_dump(exclude=notices, exclude_none=True)

    def notice(self) -> str | None:
        if self.changed is not None:
            return (
                f"{self.changed} leads changed, {self.skipped or 0} left as they were "
                "(Registered leads are read-only)."
            )
        return NOTICES.get(self.done or "")


def _render(
    request: Request,
    ctx: Ctx,
    template: str,
    values: Mapping[str, Any],
    *,
    choices: bool = True,
    **options: Any,
) -> Response:
    """``page()`` with what every Leads template reads (where the pages are, what the user may do)
    and, unless ``choices`` is False (a fragment, the import wizard), the owners, teams and tags
    the forms and filters offer."""
    context: dict[str, Any] = {
        "base": BASE,
        "can_update": ctx.can(UPDATE),
        "can_convert": ctx.can(CONVERT),
        "can_import": ctx.can(IMPORT),
    }
    if choices:
        people, tags = staff_choices(ctx), service.list_tags(ctx)
        context |= {"users": people.users, "user_names": dict(people.users), "teams": people.teams}
        context |= {"tags": tags, "tag_choices": [(tag.id, tag.name) for tag in tags]}
    return page(request, ctx, f"leads/{template}", context | dict(values), **options)


def _filters_query(query: LeadPageQuery) -> str:
    return urlencode({k: str(v).lower() if isinstance(v, bool) else v for k, v in query.filters().items()})


# --- the list, its CSV, bulk actions -----------------------------------------------------------------


@pages.get("/")
def lead_list(request: Request, query: Annotated[LeadPageQuery, Query()], ctx: Ctx = staff(READ)) -> Response:
    found = service.list_leads(ctx, query)
    values = {
        "result": found,
        "leads": lead_views(ctx, found.items),
        "query": query,
        "url": f"{BASE}/?{filters}&" if (filters := _filters_query(query)) else f"{BASE}/?",
        "csv_url": f"{BASE}/leads.csv?{filters}",
        "flash": query.notice(),
    }
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "listing":
        return _render(request, ctx, "list.html", values, block="listing")
    return _render(request, ctx, "list.html", values)


@pages.get("/leads.csv", response_class=StreamingResponse)
def export_leads(query: Annotated[LeadQuery, Query()], ctx: Ctx = staff(READ)) -> StreamingResponse:
    return routes.export_leads(query, ctx)


@pages.post("/bulk")
def bulk(request: Request, form: FormData, ctx: Ctx = staff(UPDATE)) -> Response:
    wanted = ("lead_ids", "action", "owner_user_id", "team_id", "status", "tag_ids")
    body = {name: form[name] for name in wanted if name in form}
    try:
        data = parse_form(BulkIn, body)
        with ctx.session.begin_nested():
            changed, skipped = service.bulk(ctx, data)
    except InvalidInput as error:
        query = LeadPageQuery()
        found = service.list_leads(ctx, query)
        values = {
            "result": found,
            "leads": lead_views(ctx, found.items),
            "query": query,
            "url": f"{BASE}/?",
            "csv_url": f"{BASE}/leads.csv?",
            "bulk_errors": field_errors(error),
        }
        return _render(request, ctx, "list.html", values, status_code=422)
    return see_other(f"{BASE}/?changed={changed}&skipped={len(skipped)}")


# --- create and edit ---------------------------------------------------------------------------------


def _lead_body(form: Mapping[str, Any], *, editing: bool) -> dict[str, Any]:
    """The form as the API's body. Read from a form, an emptied field means "clear it"."""
    body = {name: form[name] for name in LEAD_FIELDS if name in form}
    if editing:
        for name in ("email", "phone", "country", "owner_user_id"):
            body.setdefault(name, None)
        body.setdefault("comment", "")
        for name in ("participant_ids", "tag_ids"):
            body.setdefault(name, [])
    return body


def _lead_values(view: Any) -> dict[str, Any]:
    values = {name: getattr(view, name) for name in LEAD_FIELDS if hasattr(view, name)}
    values["tag_ids"] = [tag.id for tag in view.tags]
    return values


def _form(
    request: Request,
    ctx: Ctx,
    values: Mapping[str, Any],
    *,
    lead: Any = None,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    template = "form.html" if lead is None else "lead.html"
    context = {"values": values, "errors": errors or {}, "lead": lead, "tab": "details"}
    return _render(request, ctx, template, context, status_code=status_code)


@pages.get("/leads/new")
def new_lead(request: Request, ctx: Ctx = staff(UPDATE)) -> Response:
    owner = ctx.principal.user_id if ctx.principal is not None else None
    return _form(request, ctx, {"language": "en", "status": "not_followed_up", "owner_user_id": owner})


@pages.post("/leads/new")
def create_lead(request: Request, form: FormData, ctx: Ctx = staff(UPDATE)) -> Response:
    try:
        with ctx.session.begin_nested():
            lead = service.create_lead(ctx, parse_form(LeadIn, _lead_body(form, editing=False)))
    except (InvalidInput, Conflict) as error:
        return _form(request, ctx, form, errors=field_errors(error), status_code=refusal_status(error))
    return see_other(f"{BASE}/leads/{lead.id}?done=created")


@pages.get("/duplicates")
def duplicates(
    request: Request,
    email: Annotated[str, Query(max_length=254)] = "",
    phone: Annotated[str, Query(max_length=40)] = "",
    country: Annotated[str, Query(max_length=2)] = "",
    exclude_lead_id: Annotated[str, Query(max_length=20)] = "",
    ctx: Ctx = staff(READ),
) -> Response:
    """The form's duplicate suggestions (htmx, as the e-mail or phone is typed). A value that is not
    an address or a number yet suggests nothing: the form says what is wrong when it is sent."""
    probe = {"email": email, "phone": phone, "country": country, "exclude_lead_id": exclude_lead_id}
    try:
        query = parse_form(DuplicateQuery, {k: v for k, v in probe.items() if v})
        found = service.duplicates(
            ctx,
            str(query.email) if query.email else None,
            query.phone,
            query.country,
            exclude_lead_id=query.exclude_lead_id,
        )
    except InvalidInput:
        found = []
    return _render(request, ctx, "duplicates.html", {"duplicates": found}, choices=False, block="duplicates")


# --- the lead page: details, Leads Conversion, activities ---------------------------------------------


def _lead_page(
    request: Request,
    ctx: Ctx,
    lead: Lead,
    tab: str,
    *,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
    done: str | None = None,
    **more: Any,
) -> Response:
    view = lead_views(ctx, [lead])[0]
    context = {
        "lead": view,
        "tab": tab,
        "values": values if values is not None else _lead_values(view),
        "errors": errors or {},
        "client": _client_of(ctx, lead),
        "flash": NOTICES.get(done or ""),
        "key": uuid.uuid4().hex,  # each action's idempotency key: a double click acts once
        "activities": activities.timeline(ctx, lead) if tab == "activities" else [],
        "kinds": STAFF_KINDS,
        **more,
    }
    return _render(request, ctx, "lead.html", context, status_code=status_code)


def _client_of(ctx: Ctx, lead: Lead) -> Any:
    """The client a Registered lead became, if the user may see it (a link; else only its id)."""
    if lead.client_id is None:
        return None
    try:
        return get_client(ctx, lead.client_id)
    except DomainError:
        return None


@pages.get("/leads/{lead_id}")
def lead_page(request: Request, lead_id: PathId, done: Done = None, ctx: Ctx = staff(READ)) -> Response:
    return _lead_page(request, ctx, service.get_lead(ctx, lead_id), "details", done=done)


@pages.post("/leads/{lead_id}")
def update_lead(request: Request, lead_id: PathId, form: FormData, ctx: Ctx = staff(UPDATE)) -> Response:
    lead = service.get_lead(ctx, lead_id)
    try:
        with ctx.session.begin_nested():
            service.update_lead(ctx, lead_id, parse_form(LeadUpdate, _lead_body(form, editing=True)))
    except (InvalidInput, Conflict) as error:
        ctx.session.refresh(lead)
        errors = field_errors(error)
        return _lead_page(
            request, ctx, lead, "details", values=form, errors=errors, status_code=refusal_status(error)
        )
    return see_other(f"{BASE}/leads/{lead_id}?done=saved")


@pages.post("/leads/{lead_id}/delete")
def delete_lead(request: Request, lead_id: PathId, ctx: Ctx = staff(UPDATE)) -> Response:
    lead = service.get_lead(ctx, lead_id)
    try:
        with ctx.session.begin_nested():
            service.delete_lead(ctx, lead_id)
    except Conflict as error:
        return _lead_page(request, ctx, lead, "details", errors=field_errors(error), status_code=409)
    return see_other(f"{BASE}/?done=deleted")


@pages.get("/leads/{lead_id}/activities")
def activities_page(request: Request, lead_id: PathId, done: Done = None, ctx: Ctx = staff(READ)) -> Response:
    return _lead_page(request, ctx, service.get_lead(ctx, lead_id), "activities", done=done)


@pages.post("/leads/{lead_id}/activities")
def log_activity(request: Request, lead_id: PathId, form: FormData, ctx: Ctx = staff(UPDATE)) -> Response:
    lead = service.get_lead(ctx, lead_id)
    try:
        body = parse_form(ActivityIn, {k: v for k, v in form.items() if k in ("kind", "text")})
        with ctx.session.begin_nested():
            activities.add(ctx, lead, body.kind, body.text)
    except InvalidInput as error:
        return _lead_page(
            request, ctx, lead, "activities", errors=field_errors(error), posted=form, status_code=422
        )
    return see_other(f"{BASE}/leads/{lead_id}/activities?done=logged")


# --- Leads Conversion: the three quick actions ------------------------------------------------------


@pages.get("/leads/{lead_id}/conversion")
def conversion_page(request: Request, lead_id: PathId, done: Done = None, ctx: Ctx = staff(READ)) -> Response:
    return _lead_page(request, ctx, service.get_lead(ctx, lead_id), "conversion", done=done)


def _key(form: Mapping[str, Any]) -> str | None:
    key = form.get("idempotency_key")
    return key if isinstance(key, str) and 0 < len(key) <= 100 else None


def _refused(request: Request, ctx: Ctx, lead_id: int, error: DomainError, **more: Any) -> Response:
    """The Leads Conversion tab again, with the refusal (a Registered lead shows no action)."""
    lead = service.get_lead(ctx, lead_id)
    ctx.session.refresh(lead)
    status = 429 if isinstance(error, conversion.TooSoon) else refusal_status(error)
    return _lead_page(
        request, ctx, lead, "conversion", errors=field_errors(error), status_code=status, **more
    )


@pages.post("/leads/{lead_id}/registration-email")
def send_registration_email(
    request: Request, lead_id: PathId, form: FormData, ctx: Ctx = staff(CONVERT)
) -> Response:
    try:
        body = parse_form(RegistrationEmailIn, {"client_type": form.get("client_type", "trader")})
        with ctx.session.begin_nested():
            conversion.send_registration_email(ctx, lead_id, body.client_type, _key(form))
    except (InvalidInput, Conflict) as error:
        return _refused(request, ctx, lead_id, error)
    return see_other(f"{BASE}/leads/{lead_id}/conversion?done=sent")


@pages.get("/leads/{lead_id}/portal-account")
def portal_account_form(request: Request, lead_id: PathId, ctx: Ctx = staff(CONVERT)) -> Response:
    lead = service.get_lead(ctx, lead_id)
    values = {name: getattr(lead, name) for name in ("name", "email", "phone", "country", "language")}
    return _lead_page(request, ctx, lead, "conversion", account=values | {"client_type": "trader"})


@pages.post("/leads/{lead_id}/portal-account")
def create_portal_account(
    request: Request, lead_id: PathId, form: FormData, ctx: Ctx = staff(CONVERT)
) -> Response:
    wanted = ("client_type", "name", "email", "phone", "country", "language")
    try:
        body = parse_form(PortalAccountIn, {k: v for k, v in form.items() if k in wanted})
        with ctx.session.begin_nested():
            conversion.create_portal_account(ctx, lead_id, body, _key(form))
    except (InvalidInput, Conflict) as error:
        return _refused(request, ctx, lead_id, error, account=form)
    return see_other(f"{BASE}/leads/{lead_id}/conversion?done=converted")


def _bind_body(form: Mapping[str, Any]) -> dict[str, Any]:
    """The dialog has one box: a number is a client id, anything else an e-mail address."""
    target = str(form.get("client", "")).strip()
    return {"client_id": target} if target.isdigit() else {"email": target} if target else {}


@pages.post("/leads/{lead_id}/bind-preview")
def bind_preview(request: Request, lead_id: PathId, form: FormData, ctx: Ctx = staff(CONVERT)) -> Response:
    try:
        body = _bind_body(form)
        if not body:
            raise InvalidInput("client", "give the client's id or e-mail address")
        preview = conversion.bind_preview(ctx, lead_id, parse_form(BindIn, body))
    except (InvalidInput, Conflict) as error:
        errors = field_errors(error)
        if "client_id" in errors or "email" in errors:
            errors["client"] = errors.get("client_id") or errors["email"]
        lead = service.get_lead(ctx, lead_id)
        return _lead_page(
            request, ctx, lead, "conversion", errors=errors, bind=form, status_code=refusal_status(error)
        )
    lead = service.get_lead(ctx, lead_id)
    return _lead_page(request, ctx, lead, "conversion", bind=form, preview=preview)


@pages.post("/leads/{lead_id}/bind")
def bind(request: Request, lead_id: PathId, form: FormData, ctx: Ctx = staff(CONVERT)) -> Response:
    try:
        body = parse_form(BindIn, {k: v for k, v in form.items() if k == "client_id"})
        with ctx.session.begin_nested():
            conversion.bind(ctx, lead_id, body, _key(form))
    except (InvalidInput, Conflict) as error:
        return _refused(request, ctx, lead_id, error)
    return see_other(f"{BASE}/leads/{lead_id}/conversion?done=converted")


# --- tags --------------------------------------------------------------------------------------------


@pages.get("/tags")
def tags_page(request: Request, done: Done = None, ctx: Ctx = staff(READ)) -> Response:
    values = {"values": {"colour": "#6b7280"}, "errors": {}, "flash": NOTICES.get(done or "")}
    return _render(request, ctx, "tags.html", values)


@pages.post("/tags")
def create_tag(request: Request, form: FormData, ctx: Ctx = staff(UPDATE)) -> Response:
    try:
        with ctx.session.begin_nested():
            service.create_tag(
                ctx, parse_form(TagIn, {k: v for k, v in form.items() if k in ("name", "colour")})
            )
    except (InvalidInput, Conflict) as error:
        context = {"values": form, "errors": field_errors(error)}
        return _render(request, ctx, "tags.html", context, status_code=refusal_status(error))
    return see_other(f"{BASE}/tags?done=tag_created")


@pages.post("/tags/{tag_id}/delete")
def delete_tag(tag_id: PathId, ctx: Ctx = staff(UPDATE)) -> Response:
    service.delete_tag(ctx, tag_id)
    return see_other(f"{BASE}/tags?done=tag_deleted")


# --- the import wizard ---------------------------------------------------------------------------------
#
# One form: the file, its column for each of our fields, the source, "only the valid rows". "Check
# the file" runs the import as a dry run and shows every problem; "Import" writes. With htmx only
# the report is swapped, so the chosen file stays chosen between the two.


def _file_text(form: Mapping[str, Any]) -> str:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput("file", "choose a CSV file")
    raw = upload.file.read(MAX_CSV * 4 + 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("file", "the file is not UTF-8 text: save it as CSV (UTF-8)") from None
    if not text.strip():
        raise InvalidInput("file", "the file is empty")
    if len(text) > MAX_CSV:
        raise InvalidInput("file", f"at most {MAX_CSV:,} characters in one file: split it")
    return text


def _import_page(request: Request, ctx: Ctx, **values: Any) -> Response:
    context = {"fields": imports.FIELDS, "values": {}, "errors": {}, "report": None, "columns": []}
    context |= {"shown": MAX_SHOWN, "kept": None}
    context |= values
    status_code = context.pop("status_code", 200)
    if request.headers.get("hx-request") == "true":
        return _render(
            request, ctx, "import.html", context, choices=False, block="report", status_code=status_code
        )
    return _render(request, ctx, "import.html", context, choices=False, status_code=status_code)


@pages.get("/imports")
def import_page(request: Request, ctx: Ctx = staff(IMPORT)) -> Response:
    return _import_page(request, ctx, values={"source": "import"})


@pages.post("/imports")
def check_import(request: Request, form: FormData, ctx: Ctx = staff(IMPORT)) -> Response:
    """Check a file (a dry run) and keep it; without a new file, check the kept one again (another
    mapping, another source)."""
    values = {k: v for k, v in form.items() if k != "file"}
    columns: list[str] = []
    source = str(form.get("source") or "import")
    try:
        with ctx.session.begin_nested():
            kept_id, upload = form.get("import_id"), form.get("file")
            chosen = isinstance(upload, UploadFile) and bool(upload.filename)
            if not chosen and isinstance(kept_id, str) and kept_id.isdigit():
                text = import_files.get_import(ctx, int(kept_id)).text
                columns = _columns(text)
                kept, report = import_files.recheck(
                    ctx, int(kept_id), mapping=_mapping(form, columns), source=source
                )
            else:
                text = _file_text(form)
                columns = _columns(text)
                name = (upload.filename or "") if isinstance(upload, UploadFile) else ""
                kept, report = import_files.check_file(
                    ctx, text, file_name=name, mapping=_mapping(form, columns), source=source
                )
    except (InvalidInput, Conflict) as error:
        errors = field_errors(error)
        return _import_page(
            request, ctx, values=values, errors=errors, columns=columns, status_code=refusal_status(error)
        )
    return _import_page(request, ctx, values=values, report=report, columns=columns, kept=kept)


def _columns(text: str) -> list[str]:
    return next(csv.reader(text.splitlines()[:1]), [])


@pages.post("/imports/{import_id}/start")
def start_import(request: Request, import_id: PathId, form: FormData, ctx: Ctx = staff(IMPORT)) -> Response:
    try:
        with ctx.session.begin_nested():
            kept = import_files.start(ctx, import_id, only_valid=form.get("only_valid") == "true")
    except InvalidInput as error:
        kept = import_files.get_import(ctx, import_id)
        return _import_page(request, ctx, kept=kept, errors=field_errors(error), status_code=422)
    return _progress(request, ctx, kept)


@pages.post("/imports/{import_id}/step")
def import_step(request: Request, import_id: PathId, ctx: Ctx = staff(IMPORT)) -> Response:
    """The next rows of a file being imported; the answer asks for the step after (htmx)."""
    return _progress(request, ctx, import_files.step(ctx, import_id))


@pages.get("/imports/{import_id}")
def import_progress(request: Request, import_id: PathId, ctx: Ctx = staff(IMPORT)) -> Response:
    """An import's progress; one still under way goes on from where it stopped."""
    return _import_page(request, ctx, kept=import_files.get_import(ctx, import_id))


def _progress(request: Request, ctx: Ctx, kept: Any) -> Response:
    if request.headers.get("hx-request") == "true":
        return _import_page(request, ctx, kept=kept)
    return see_other(f"{BASE}/imports/{kept.id}")


def _mapping(form: Mapping[str, Any], columns: list[str]) -> dict[str, str]:
    """Each field's chosen column; a field left to "the column named like it" reads that column."""
    chosen = {name: form.get(f"map_{name}") for name in imports.FIELDS}
    return {
        name: column if isinstance(column, str) else name
        for name, column in chosen.items()
        if isinstance(column, str) or name in columns
    }


# --- the panel on a client's page ----------------------------------------------------------------------


def client_panel(ctx: Ctx, client: Any) -> dict[str, Any]:
    """The lead ``client`` came from, if any (the host's page already decided the caller may see
    the client; the lead is shown within the caller's data permissions over leads)."""
    lead = service.lead_of_client(ctx, client.id)
    if lead is None or service.visible_lead(ctx, lead.id) is None:
        return {"lead": None, "activities": []}
    return {
        "lead": lead,
        "activities": activities.timeline(ctx, lead, limit=TIMELINE),
        "lead_url": f"{BASE}/leads/{lead.id}",
    }
