"""Importing leads from CSV: a column mapping, each row checked (with the field that is wrong),
duplicates found by normalized e-mail and phone (in the file, among leads and clients), and a dry
run that writes nothing. A file with errors writes nothing unless asked to import only the valid
rows. Imports of one broker run one at a time, so two overlapping files make no duplicate leads.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select

from core.sdk import (
    Client,
    CountryCode,
    Ctx,
    Email,
    InvalidInput,
    LanguageCode,
    Name,
    Phone,
    insert_rows,
    normalize_email,
    normalize_phone,
    serialize_on,
    utcnow,
)
from plugins.leads.models import Lead, LeadStatus, PortalStatus
from plugins.leads.schemas import Source

FIELDS = ("name", "email", "phone", "country", "language", "source", "status", "comment")
MAX_ROWS = 200_000
CHUNK = 5000
_CHECKS: dict[str, TypeAdapter[Any]] = {
    "name": TypeAdapter(Name),
    "email": TypeAdapter(Email),
    "phone": TypeAdapter(Phone),
    "country": TypeAdapter(CountryCode),
    "language": TypeAdapter(LanguageCode),
    "source": TypeAdapter(Source),
    "status": TypeAdapter(LeadStatus),
}


@dataclass
class RowProblem:
    row: int  # 1 is the first data row (the line after the header)
    field: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    valid: int = 0
    imported: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    duplicates: list[RowProblem] = field(default_factory=list)  # skipped: the lead exists already
    written: bool = False


def _mapping(header: list[str], mapping: Mapping[str, str] | None) -> dict[str, str]:
    """Our field -> the file's column. Without a mapping, columns named like our fields."""
    wanted = dict(mapping) if mapping else {f: f for f in FIELDS if f in header}
    unknown = [f for f in wanted if f not in FIELDS]
    if unknown:
        raise InvalidInput("mapping", f"unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})")
    missing = [column for column in wanted.values() if column not in header]
    if missing:
        raise InvalidInput("mapping", f"the file has no column {missing[0]!r}")
    if "name" not in wanted:
        raise InvalidInput("mapping", "map a column to name")
    return wanted


def _check(
    number: int, raw: Mapping[str, str], mapping: Mapping[str, str], source: str, report: ImportReport
) -> dict[str, Any] | None:
    values: dict[str, Any] = {
        "source": source,
        "language": "en",
        "status": LeadStatus.NOT_FOLLOWED_UP,
        "comment": "",
    }
    ok = True
    for name, column in mapping.items():
        text = (raw.get(column) or "").strip()
        if not text:
            continue
        if name == "comment":
            values[name] = text[:5000]
            continue
        try:
            values[name] = _CHECKS[name].validate_python(text.lower() if name == "status" else text)
        except ValidationError as error:
            report.errors.append(RowProblem(number, name, error.errors()[0]["msg"]))
            ok = False
    if "name" not in values:
        report.errors.append(RowProblem(number, "name", "is required"))
        ok = False
    return values if ok else None


def import_leads(
    ctx: Ctx,
    text: str,
    *,
    mapping: Mapping[str, str] | None = None,
    source: str = "import",
    dry_run: bool = False,
    only_valid: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Check every row, then (unless ``dry_run``, or errors without ``only_valid``) write the valid
    rows that duplicate no lead. ``progress(done, total)`` is called as rows are checked."""
    ctx.require("leads.import")
    reader = csv.DictReader(io.StringIO(text))
    header = list(reader.fieldnames or [])
    wanted = _mapping(header, mapping)
    report = ImportReport()
    checked: list[tuple[int, dict[str, Any]]] = []
    for number, raw in enumerate(reader, start=1):
        if number > MAX_ROWS:
            raise InvalidInput("file", f"at most {MAX_ROWS:,} rows in one file")
        report.rows = number
        values = _check(number, raw, wanted, source, report)
        if values is not None:
            values["email_key"] = normalize_email(str(values["email"])) if values.get("email") else None
            values["phone_key"] = normalize_phone(values.get("phone"), values.get("country"))
            checked.append((number, values))
        if progress is not None and number % CHUNK == 0:
            progress(number, 0)
    report.valid = len(checked)
    if not dry_run and not (report.errors and not only_valid):
        serialize_on(ctx.session, f"leads:import:{ctx.tenant_id}")  # one import at a time per broker
    fresh = _without_duplicates(ctx, checked, report)
    if dry_run or (report.errors and not only_valid):
        return report
    now = utcnow()
    owner = ctx.principal.user_id if ctx.principal is not None else None
    rows = [
        {
            "name": v["name"],
            "email": v["email_key"],
            "email_key": v["email_key"],
            "phone": v.get("phone"),
            "phone_key": v["phone_key"],
            "country": v.get("country"),
            "language": v["language"],
            "source": v["source"],
            "status": v["status"],
            "owner_user_id": owner,
            "comment": v["comment"],
            "joined_at": now,
            "updated_at": now,
            "portal_status": PortalStatus.UNREGISTERED,
        }
        for _, v in fresh
    ]
    for first in range(0, len(rows), CHUNK):
        insert_rows(ctx.session, Lead, rows[first : first + CHUNK])
        if progress is not None:
            progress(min(first + CHUNK, len(rows)), len(rows))
    report.imported, report.written = len(rows), True
    return report


def _without_duplicates(
    ctx: Ctx, checked: list[tuple[int, dict[str, Any]]], report: ImportReport
) -> list[tuple[int, dict[str, Any]]]:
    """The rows that name no existing lead or client, nor an earlier row of the file, by e-mail
    or phone; the others are reported."""
    emails = {v["email_key"] for _, v in checked if v["email_key"]}
    phones = {v["phone_key"] for _, v in checked if v["phone_key"]}
    taken_emails = _existing(ctx, Lead.email_key, emails) | _existing(ctx, Client.email, emails)
    taken_phones = _existing(ctx, Lead.phone_key, phones) | _existing(ctx, Client.phone_e164, phones)
    fresh: list[tuple[int, dict[str, Any]]] = []
    for number, values in checked:
        email, phone = values["email_key"], values["phone_key"]
        if email and email in taken_emails:
            report.duplicates.append(RowProblem(number, "email", f"{email} is a lead or client already"))
        elif phone and phone in taken_phones:
            report.duplicates.append(RowProblem(number, "phone", f"{phone} is a lead or client already"))
        else:
            fresh.append((number, values))
            taken_emails.add(email)
            taken_phones.add(phone)
    return fresh


def _existing(ctx: Ctx, column: Any, keys: Iterable[str]) -> set[str]:
    wanted = sorted(keys)
    found: set[str] = set()
    for first in range(0, len(wanted), CHUNK):
        found.update(ctx.session.scalars(select(column).where(column.in_(wanted[first : first + CHUNK]))))
    return found
